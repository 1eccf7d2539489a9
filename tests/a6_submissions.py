"""Student answers for assignment 6 (evaluating GANs), as test fixtures: correct ones written differently,
the usual mistakes, and borrowed library objects. Each answer is the source of one answer cell; the
notebook's setup cell has imported numpy as np, scipy.linalg, torch and load_course_classifier, and part 1
(frechet_distance_from_features) is defined before part 2."""

# --- correct answers, written in different ways -------------------------------------------------

# NumPy and SciPy: np.cov, scipy.linalg.sqrtm with an eps retry, a loop over batches, a k-NN radius from
# sorted cdist rows.
SCIPY = {
    "frechet_distance_from_features": """
def frechet_distance_from_features(real, fake):
    eps = 1e-6
    a = np.asarray(real, dtype=np.float64)
    b = np.asarray(fake, dtype=np.float64)
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
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    if classifier is None:
        classifier = load_course_classifier()
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

def precision_recall(real, fake, k=3):
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)

    def share_inside(reference, queries):
        radii = np.sort(cdist(reference, reference), axis=1)[:, k]  # column 0: the point itself
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())

    return share_inside(real, fake), share_inside(fake, real)
""",
}

# Torch in float64: hand-written covariance, Tr (S1 S2)^{1/2} from the eigenvalues of the product,
# inference_mode over torch.split chunks of both sets at once (mode restored), topk on float32 cdist.
TORCH = {
    "frechet_distance_from_features": """
def frechet_distance_from_features(real, fake):
    def fit(x):
        x = torch.as_tensor(x).to(torch.float64)
        n, d = x.shape
        if n < d:
            raise ValueError(f"only {n} samples for {d} dimensions")
        mean = x.mean(dim=0)
        centred = x - mean
        return mean, centred.T @ centred / (n - 1)

    mean_a, cov_a = fit(real)
    mean_b, cov_b = fit(fake)
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b)
    trace_root = eigenvalues.real.clamp(min=0).sqrt().sum()
    value = (mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return value.item()
""",
    "classifier_fid": """
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    net = load_course_classifier() if classifier is None else classifier
    was_training = net.training
    net.train(False)
    device = next(net.parameters()).device
    both = torch.cat([real_images, fake_images])
    with torch.inference_mode():
        feats = torch.cat([net.features(chunk.to(device)) for chunk in torch.split(both, batch_size)])
    net.train(was_training)
    feats = feats.cpu().to(torch.float64)
    n = len(real_images)
    return distance(feats[:n].numpy(), feats[n:].numpy())
""",
    "precision_recall": """
def precision_recall(real, fake, k=3):
    real = torch.as_tensor(real, dtype=torch.float32)  # float32 is plenty to count points
    fake = torch.as_tensor(fake, dtype=torch.float32)

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

# Tutorial idioms: pytorch-fid's calculate_frechet_distance (`from scipy import linalg`, the offset when
# the root is not finite, the imaginary part checked then dropped); a DataLoader over a TensorDataset with
# model.eval() and torch.no_grad(), and a distance of None meaning the Fréchet distance; scikit-learn's
# NearestNeighbors for the radii.
TUTORIAL = {
    "frechet_distance_from_features": """
from scipy import linalg

def frechet_distance_from_features(real, fake, eps=1e-6):
    act1, act2 = np.array(real, dtype=np.float64), np.array(fake, dtype=np.float64)
    if act1.shape[0] < act1.shape[1] or act2.shape[0] < act2.shape[1]:
        raise ValueError("fewer samples than feature dimensions")
    mu1, sigma1 = np.mean(act1, axis=0), np.cov(act1, rowvar=False)
    mu2, sigma2 = np.mean(act2, axis=0), np.cov(act2, rowvar=False)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component {}".format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean
""",
    "classifier_fid": """
from torch.utils.data import DataLoader, TensorDataset

def classifier_fid(real_images, fake_images, classifier=None, batch_size=500, distance=None):
    model = classifier if classifier is not None else load_course_classifier()
    model.eval()
    distance = distance or frechet_distance_from_features

    def get_activations(images):
        loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=False)
        pred_arr = []
        for (batch,) in loader:
            with torch.no_grad():
                pred = model.features(batch)
            pred_arr.append(pred.cpu().numpy())
        return np.concatenate(pred_arr, axis=0).astype(np.float64)

    return distance(get_activations(real_images), get_activations(fake_images))
""",
    "precision_recall": """
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors

def precision_recall(real, fake, k=3):
    def manifold_share(ref, query):
        radii = NearestNeighbors(n_neighbors=k + 1).fit(ref).kneighbors(ref)[0][:, -1]
        return np.mean(np.any(pairwise_distances(query, ref) <= radii, axis=1))

    return manifold_share(real, fake), manifold_share(fake, real)
""",
}

CORRECT = {"scipy": SCIPY, "torch": TORCH, "tutorial": TUTORIAL}

# --- the usual mistakes -------------------------------------------------------------------------

_FID_TAIL = """
    root = np.real(scipy.linalg.sqrtm(s_a @ s_b))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root))
"""
_FID_HEAD = """
def frechet_distance_from_features(real, fake):
    a = np.asarray(real, dtype=np.float64)
    b = np.asarray(fake, dtype=np.float64)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
"""
_FID_START = """
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    classifier = load_course_classifier() if classifier is None else classifier
"""
_PR_START = """
from scipy.spatial.distance import cdist

def precision_recall(real, fake, k=3):
    def share_inside(reference, queries):
"""

WRONG = {
    "frechet_distance_from_features": {
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
def frechet_distance_from_features(real, fake):
    a = torch.as_tensor(real, dtype=torch.float32)
    b = torch.as_tensor(fake, dtype=torch.float32)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    trace_root = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0).sqrt().sum()
    value = (a.mean(0) - b.mean(0)).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return value.item()
""",
        "input_dtype_kept": """
def frechet_distance_from_features(real, fake):
    a, b = np.asarray(real), np.asarray(fake)
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
def frechet_distance_from_features(real, fake):
    a = np.asarray(real, dtype=np.float64)
    b = np.asarray(fake, dtype=np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
""" + _FID_TAIL,
        "refusal_with_the_wrong_error": """
def frechet_distance_from_features(real, fake):
    a = np.asarray(real, dtype=np.float64)
    b = np.asarray(fake, dtype=np.float64)
    assert len(a) >= a.shape[1] and len(b) >= b.shape[1], "fewer samples than dimensions"
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
    },
    "classifier_fid": {
        "train_mode": _FID_START + """
    def features(images):
        with torch.no_grad():
            return torch.cat([classifier.features(images[i:i + batch_size])
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "logits_instead_of_features": _FID_START + """
    classifier.eval()
    def features(images):
        with torch.no_grad():
            return torch.cat([classifier(images[i:i + batch_size])
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "features_after_relu": _FID_START + """
    classifier.eval()
    def features(images):
        with torch.no_grad():
            return torch.cat([torch.relu(classifier.features(images[i:i + batch_size]))
                              for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "autograd_left_on": _FID_START + """
    classifier.eval()
    def features(images):
        return torch.cat([classifier.features(images[i:i + batch_size]).detach()
                          for i in range(0, len(images), batch_size)]).double().numpy()
    return distance(features(real_images), features(fake_images))
""",
        "all_images_in_one_batch": _FID_START + """
    classifier.eval()
    with torch.no_grad():
        real = classifier.features(real_images).double().numpy()
        fake = classifier.features(fake_images).double().numpy()
    return distance(real, fake)
""",
        "classifier_argument_ignored": """
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    net = load_course_classifier().eval()
    with torch.no_grad():
        real = torch.cat([net.features(x) for x in real_images.split(batch_size)]).double().numpy()
        fake = torch.cat([net.features(x) for x in fake_images.split(batch_size)]).double().numpy()
    return distance(real, fake)
""",
        "no_course_classifier_by_default": """
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    classifier.eval()
    with torch.no_grad():
        real = torch.cat([classifier.features(x) for x in real_images.split(batch_size)]).double().numpy()
        fake = torch.cat([classifier.features(x) for x in fake_images.split(batch_size)]).double().numpy()
    return distance(real, fake)
""",
        "old_signature": """
def classifier_fid(real_images, fake_images, classifier, batch_size=100, distance=frechet_distance_from_features):
    classifier.eval()
    with torch.no_grad():
        real = torch.cat([classifier.features(x) for x in real_images.split(batch_size)]).double().numpy()
        fake = torch.cat([classifier.features(x) for x in fake_images.split(batch_size)]).double().numpy()
    return distance(real, fake)
""",
    },
    "precision_recall": {
        "point_counted_as_its_own_neighbour": _PR_START + """
        radii = np.sort(cdist(reference, reference), axis=1)[:, k - 1]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(real, fake), share_inside(fake, real)
""",
        "precision_and_recall_swapped": _PR_START + """
        radii = np.sort(cdist(reference, reference), axis=1)[:, k]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(fake, real), share_inside(real, fake)
""",
        "k_fixed_at_3": _PR_START + """
        radii = np.sort(cdist(reference, reference), axis=1)[:, 3]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(real, fake), share_inside(fake, real)
""",
        "radius_to_the_other_set": _PR_START + """
        radii = np.sort(cdist(reference, queries), axis=1)[:, k - 1]
        return float((cdist(queries, reference) <= radii).any(axis=1).mean())
    return share_inside(real, fake), share_inside(fake, real)
""",
    },
}

# --- the course library's own objects, borrowed -------------------------------------------------

BORROWED = {
    "frechet_distance_from_features": {
        "library_object": "from gancourse.metrics import frechet_distance_from_features\n",
        "library_pieces": """
from gancourse import metrics

def frechet_distance_from_features(real, fake):
    mu_a, s_a = metrics.feature_statistics(real)
    mu_b, s_b = metrics.feature_statistics(fake)
    return metrics.frechet_distance(mu_a, s_a, mu_b, s_b)
""",
        "library_formula": """
from gancourse.metrics import frechet_distance

def frechet_distance_from_features(real, fake):
    a, b = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
""",
    },
    "classifier_fid": {
        "library_object": "from gancourse.classifier import classifier_fid\n",
        "library_features": """
from gancourse.classifier import classifier_features

def classifier_fid(real_images, fake_images, classifier=None, batch_size=500,
                   distance=frechet_distance_from_features):
    real = classifier_features(real_images, classifier, batch_size).double().numpy()
    fake = classifier_features(fake_images, classifier, batch_size).double().numpy()
    return distance(real, fake)
""",
    },
    "precision_recall": {
        "library_object": "from gancourse.metrics import precision_recall\n",
        "library_helpers": """
from gancourse import metrics

def precision_recall(real, fake, k=3):
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    precision = metrics._inside_manifold(real, metrics._kth_neighbour_radii(real, k), fake).mean()
    recall = metrics._inside_manifold(fake, metrics._kth_neighbour_radii(fake, k), real).mean()
    return float(precision), float(recall)
""",
    },
}

# --- a part 2 that calls part 1 by name --------------------------------------------------------

# Ignores the `distance` it is given and calls frechet_distance_from_features by name: the hidden tests
# still judge it with the grader's Fréchet distance (the name means the grader's version while it is
# probed), though the visible tests, which pass a stand-in distance, show the slip.
CALLS_PART_1_BY_NAME = """
def classifier_fid(real_images, fake_images, classifier=None, batch_size=500, distance=None):
    net = classifier if classifier is not None else load_course_classifier()
    net.eval()
    with torch.no_grad():
        real = torch.cat([net.features(x) for x in real_images.split(batch_size)]).double().numpy()
        fake = torch.cat([net.features(x) for x in fake_images.split(batch_size)]).double().numpy()
    return frechet_distance_from_features(real, fake)
"""


# Part 1 from a third-party package (hidden while grading, as the notebook says): part 1 scores nothing.
THIRD_PARTY = {
    "frechet_distance_from_features": """
from pytorch_fid.fid_score import calculate_frechet_distance

def frechet_distance_from_features(real, fake):
    a, b = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if len(a) < a.shape[1] or len(b) < b.shape[1]:
        raise ValueError("fewer samples than dimensions")
    return float(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))
""",
}
