"""Student answers for assignment 6, as test fixtures: correct ones written differently, and the
usual mistakes. Each answer is the source a student would type into one answer cell; the notebook's
setup cell has already imported numpy as np, scipy.linalg and torch."""

# --- correct answers, written in different ways -------------------------------------------------

# NumPy and SciPy: np.cov, scipy.linalg.sqrtm with an eps retry, a k-NN radius from sorted cdist rows.
SCIPY = {
    "frechet_distance": """
def frechet_distance(features_a, features_b, eps=1e-6):
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    for x in (a, b):
        if x.shape[0] < x.shape[1]:
            raise ValueError(f"{x.shape[0]} samples of {x.shape[1]}-d features: need at least as many samples")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(root).all():
        shift = eps * np.eye(len(s_a))
        root = scipy.linalg.sqrtm((s_a + shift) @ (s_b + shift))
    root = np.real(root)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root))
""",
    "classifier_fid": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    classifier.eval()
    device = next(classifier.parameters()).device

    def features(images):
        parts = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                batch = images[start:start + batch_size].to(device)
                parts.append(classifier.features(batch).cpu())
        return torch.cat(parts).double().numpy()

    return float(distance(features(real_images), features(fake_images)))
""",
    "precision_recall": """
from scipy.spatial.distance import cdist

def precision_recall(real_features, fake_features, k=3):
    real = np.asarray(real_features, dtype=np.float64)
    fake = np.asarray(fake_features, dtype=np.float64)

    def share_inside(reference, queries):
        radii = np.sort(cdist(reference, reference), axis=1)[:, k]  # column 0: the point itself
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())

    return share_inside(real, fake), share_inside(fake, real)
""",
}

# Torch in float64: hand-written covariance, Tr (S1 S2)^{1/2} from the eigenvalues of the product,
# inference_mode over torch.split chunks of both sets at once, topk on float32 torch.cdist.
TORCH = {
    "frechet_distance": """
def frechet_distance(features_a, features_b):
    def fit(x):
        x = torch.as_tensor(x).to(torch.float64)
        n, d = x.shape
        if n < d:
            raise ValueError(f"only {n} samples for {d} dimensions")
        mean = x.mean(dim=0)
        centred = x - mean
        return mean, centred.T @ centred / (n - 1)

    mean_a, cov_a = fit(features_a)
    mean_b, cov_b = fit(features_b)
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b)
    trace_root = eigenvalues.real.clamp(min=0).sqrt().sum()
    value = (mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return value.item()
""",
    "classifier_fid": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    was_training = classifier.training
    classifier.train(False)
    device = next(classifier.parameters()).device
    both = torch.cat([real_images, fake_images])
    with torch.inference_mode():
        feats = torch.cat([classifier.features(chunk.to(device)) for chunk in torch.split(both, batch_size)])
    classifier.train(was_training)
    feats = feats.cpu().to(torch.float64)
    n = len(real_images)
    return distance(feats[:n].numpy(), feats[n:].numpy())
""",
    "precision_recall": """
def precision_recall(real_features, fake_features, k=3):
    real = torch.as_tensor(real_features, dtype=torch.float32)  # float32 is plenty to count points
    fake = torch.as_tensor(fake_features, dtype=torch.float32)

    def kth_radius(points):
        nearest = torch.cdist(points, points).topk(k + 1, dim=1, largest=False).values
        return nearest[:, -1]  # the nearest of all is the point itself

    def covered(queries, reference):
        inside = torch.cdist(queries, reference) <= kth_radius(reference)[None, :]
        return inside.any(dim=1).float().mean().item()

    precision = covered(fake, real)
    recall = covered(real, fake)
    return precision, recall
""",
}

CORRECT = {"scipy": SCIPY, "torch": TORCH}

# --- the usual mistakes -------------------------------------------------------------------------

_FID_TAIL = """
    root = np.real(scipy.linalg.sqrtm(s_a @ s_b))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root))
"""
_FID_HEAD = """
def frechet_distance(features_a, features_b):
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
"""

WRONG = {
    "frechet_distance": {
        "no_matrix_square_root": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * s_a @ s_b))
""",
        "covariance_over_wrong_axis": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a), np.cov(b)  # rows taken as variables
""" + _FID_TAIL,
        "features_in_columns": _FID_HEAD + """
    a, b = a.T, b.T
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
""" + _FID_TAIL,
        "computed_in_float32": """
def frechet_distance(features_a, features_b):
    a = torch.as_tensor(features_a, dtype=torch.float32)
    b = torch.as_tensor(features_b, dtype=torch.float32)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    trace_root = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0).sqrt().sum()
    value = (a.mean(0) - b.mean(0)).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return value.item()
""",
        "input_dtype_kept": """
def frechet_distance(features_a, features_b):
    a, b = np.asarray(features_a), np.asarray(features_b)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a = (a - mu_a).T @ (a - mu_a) / (len(a) - 1)
    s_b = (b - mu_b).T @ (b - mu_b) / (len(b) - 1)
""" + _FID_TAIL,
        "trace_term_sign_flipped": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(scipy.linalg.sqrtm(s_a @ s_b))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) + 2 * np.trace(root))
""",
        "mean_term_missing": _FID_HEAD + """
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(scipy.linalg.sqrtm(s_a @ s_b))
    return float(np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root))
""",
        "biased_covariance": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False, bias=True), np.cov(b, rowvar=False, bias=True)
""" + _FID_TAIL,
        "imaginary_part_kept": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    return np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root)
""",
        "no_refusal_of_too_few_samples": """
def frechet_distance(features_a, features_b):
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
""" + _FID_TAIL,
        "eps_always_added": _FID_HEAD + """
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    shift = 1e-6 * np.eye(len(s_a))
    root = np.real(scipy.linalg.sqrtm((s_a + shift) @ (s_b + shift)))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root))
""",
        "library_object": "from gancourse.metrics import frechet_distance_from_features as frechet_distance",
        "library_wrapper": """
from gancourse import metrics

def frechet_distance(features_a, features_b):
    mu_a, s_a = metrics.feature_statistics(features_a)
    mu_b, s_b = metrics.feature_statistics(features_b)
    return metrics.frechet_distance(mu_a, s_a, mu_b, s_b)
""",
    },
    "classifier_fid": {
        "train_mode": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    def features(images):
        with torch.no_grad():
            return torch.cat([classifier.features(images[i:i + batch_size])
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "logits_instead_of_features": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    classifier.eval()
    def features(images):
        with torch.no_grad():
            return torch.cat([classifier(images[i:i + batch_size])
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "features_after_relu": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    classifier.eval()
    def features(images):
        with torch.no_grad():
            return torch.cat([torch.relu(classifier.features(images[i:i + batch_size]))
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "autograd_left_on": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    classifier.eval()
    def features(images):
        return torch.cat([classifier.features(images[i:i + batch_size]).detach()
                          for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "all_images_in_one_batch": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    classifier.eval()
    with torch.no_grad():
        real = classifier.features(real_images).double().numpy()
        fake = classifier.features(fake_images).double().numpy()
    return distance(real, fake)
""",
        "library_object": "from gancourse.classifier import classifier_fid",
        "library_wrapper": """
from gancourse.classifier import classifier_features

def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance):
    real = classifier_features(real_images, classifier, batch_size).double().numpy()
    fake = classifier_features(fake_images, classifier, batch_size).double().numpy()
    return distance(real, fake)
""",
    },
    "precision_recall": {
        "point_counted_as_its_own_neighbour": """
from scipy.spatial.distance import cdist

def precision_recall(real_features, fake_features, k=3):
    def share_inside(reference, queries):
        radii = np.sort(cdist(reference, reference), axis=1)[:, k - 1]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(real_features, fake_features), share_inside(fake_features, real_features)
""",
        "precision_and_recall_swapped": """
from scipy.spatial.distance import cdist

def precision_recall(real_features, fake_features, k=3):
    def share_inside(reference, queries):
        radii = np.sort(cdist(reference, reference), axis=1)[:, k]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(fake_features, real_features), share_inside(real_features, fake_features)
""",
        "k_fixed_at_3": """
from scipy.spatial.distance import cdist

def precision_recall(real_features, fake_features, k=3):
    def share_inside(reference, queries):
        radii = np.sort(cdist(reference, reference), axis=1)[:, 3]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(real_features, fake_features), share_inside(fake_features, real_features)
""",
        "library_object": "from gancourse.metrics import precision_recall",
        "library_wrapper": """
from gancourse import metrics

def precision_recall(real_features, fake_features, k=3):
    return metrics.precision_recall(real_features, fake_features, k=k)
""",
    },
}
