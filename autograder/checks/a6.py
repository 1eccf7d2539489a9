"""Hidden checks for assignment 6 (chapter 6): the Fréchet distance, course-classifier FID, and
improved precision and recall.

Expected values are computed here independently, in float64 NumPy, by other routes than the ones
the assignment suggests: the trace of (S1 S2)^{1/2} from the eigenvalues of the symmetric matrix
S1^{1/2} S2 S1^{1/2} (no ``sqrtm``), and the k-NN radii from sorted ``cdist`` distance matrices (no
KD-tree). The course library is never called for an expected value, and it is switched off while a
submission runs.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.spatial
import torch

from gancourse import classifier as lib_classifier
from gancourse import data as lib_data
from gancourse import metrics as lib_metrics

from . import fail, library_functions, library_switched_off, refuse_borrowed, run_check, to_numpy

LIBRARY = library_functions(
    lib_metrics.feature_statistics, lib_metrics.frechet_distance, lib_metrics.frechet_distance_from_features,
    lib_metrics._sqrtm, lib_metrics.precision_recall, lib_metrics._kth_neighbour_radii,
    lib_metrics._inside_manifold, lib_classifier.classifier_features, lib_classifier.classifier_fid,
    lib_classifier._in_batches, lib_classifier.CourseClassifierFeatures,
)


# --- independent references (NumPy, float64) ---------------------------------------------------

def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(axis=0)
    centred = x - mu
    return mu, centred.T @ centred / (len(x) - 1)


def _psd_root(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _root_trace(s1: np.ndarray, s2: np.ndarray) -> float:
    """Tr (S1 S2)^{1/2} = Tr (S1^{1/2} S2 S1^{1/2})^{1/2}: the sum of the square roots of the
    eigenvalues of a symmetric positive semi-definite matrix, so no general matrix square root."""
    r1 = _psd_root(s1)
    inner = r1 @ s2 @ r1
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum())


def _fid_parts(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The Fréchet distance between Gaussian fits of a and b ("value"), the size of its terms
    ("scale", for round-off), and what the usual mistakes give instead (for the feedback)."""
    (mu1, s1), (mu2, s2) = _stats(a), _stats(b)
    mean_term, traces, root = float(((mu1 - mu2) ** 2).sum()), float(np.trace(s1) + np.trace(s2)), _root_trace(s1, s2)
    n1, n2 = len(a), len(b)
    b1, b2 = s1 * (n1 - 1) / n1, s2 * (n2 - 1) / n2
    return {"value": mean_term + traces - 2.0 * root, "scale": traces + mean_term,
            "without the matrix square root (Tr(S1 + S2 - 2 S1 S2))":
                mean_term + traces - 2.0 * float(np.trace(s1 @ s2)),
            "with the sign of the 2 Tr(...) term flipped": mean_term + traces + 2.0 * root,
            "without the mean term |mu1 - mu2|^2": traces - 2.0 * root,
            "with biased covariances (divided by n instead of n - 1)":
                mean_term + float(np.trace(b1) + np.trace(b2)) - 2.0 * _root_trace(b1, b2)}


def _reference_fid(a, b) -> float:
    return _fid_parts(to_numpy(a), to_numpy(b))["value"]


def _as_float(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            fail(f"{what} must return one number, got a tensor of shape {tuple(value.shape)}.")
        value = value.detach().cpu().double().item()
    if np.iscomplexobj(value):
        fail(f"{what} must return a real number, got the complex {complex(np.asarray(value).reshape(()))}: keep "
             "the real part of the matrix square root (np.real), whose imaginary part is round-off.")
    try:
        out = float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        fail(f"{what} must return one number (a Python float), got {type(value).__name__}.")
    if not np.isfinite(out):
        fail(f"{what} returned {out}.")
    return out


# --- part 1: the Fréchet distance ---------------------------------------------------------------

def _feature_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(606)
    mix = rng.normal(size=(6, 6))
    cases = [("random features (200 x 6 and 150 x 6)", rng.normal(size=(200, 6)),
              rng.normal(size=(150, 6)) @ mix * 0.5 + 0.3)]
    x = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    cases.append(("nearly identical feature sets", x, x + 1e-3 * rng.normal(size=x.shape)))
    cases.append(("a feature set with itself", x, x.copy()))
    basis = rng.normal(size=(4, 10))
    cases.append(("rank-deficient features (10-d features spanning 4 directions)",
                  rng.normal(size=(200, 4)) @ basis, 1.2 * rng.normal(size=(160, 4)) @ basis + 0.1))
    offset, spread = 1e4, rng.normal(size=(8, 8)) * 0.5
    cases.append(("float32 features with a large common offset (about 1e4)",
                  (rng.normal(size=(300, 8)) @ spread + offset).astype(np.float32),
                  (1.1 * rng.normal(size=(250, 8)) @ spread + offset + 0.05).astype(np.float32)))
    cases.append(("unequal set sizes (64 x 16 and 400 x 16)", rng.normal(size=(64, 16)) * 2.0,
                  rng.normal(size=(400, 16)) + 0.2))
    return cases


def check_frechet_distance(frechet_distance) -> None:
    def check():
        refuse_borrowed(frechet_distance, "frechet_distance", LIBRARY)
        for where, a, b in _feature_pairs():
            parts = _fid_parts(a, b)
            with library_switched_off(LIBRARY):
                got = _as_float(frechet_distance(a.copy(), b.copy()), "frechet_distance")
            expected, tol = parts["value"], 1e-6 * abs(parts["value"]) + 1e-8 * parts["scale"]
            if abs(got - expected) <= tol:
                continue
            hint = ""
            for mistake, wrong in parts.items():
                if mistake not in ("value", "scale") and abs(got - wrong) <= 1e-6 * abs(wrong) + 1e-8 * parts["scale"]:
                    hint = f" (that is the distance {mistake})"
                    break
            if not hint and a.dtype == np.float32 and abs(got - expected) <= 1e-2 * abs(expected) + 1e-3:
                hint = (" (close, but float32 round-off: convert the features to float64 before computing "
                        "means and covariances)")
            elif not hint and abs(got - expected) <= 1e-3 * abs(expected) + 1e-6 * parts["scale"]:
                hint = (" (close, but not accurate to 1e-6 relative: compute in float64 throughout, and add eps "
                        "to the covariances only when the square root is not finite)")
            fail(f"frechet_distance on {where}: expected {expected:.8g}, got {got:.8g}{hint}.")
        rng = np.random.default_rng(7)
        few, many = rng.normal(size=(5, 8)), rng.normal(size=(100, 8))
        for a, b, which in ((few, many, "first"), (many, few, "second")):
            try:
                with library_switched_off(LIBRARY):
                    frechet_distance(a, b)
            except ValueError:
                continue
            fail(f"frechet_distance must raise ValueError when a set has fewer samples than dimensions "
                 f"(the {which} set was 5 x 8); it returned a value instead.")
    run_check("frechet_distance", check)


# --- part 2: course-classifier FID --------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _digits() -> torch.Tensor:
    images, _ = lib_data.load_mnist_embedded(shuffle_seed=6)
    return images[:288].clone()


def _noisy(images: torch.Tensor, level: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (images + level * torch.randn(images.shape, generator=gen)).clamp(-1.0, 1.0)


class _Watch:
    """Observes every pass through the classifier handed to the answer, and the distance it calls."""

    def __init__(self) -> None:
        self.net = lib_classifier.load_course_classifier()
        self.net.train()  # as if it had just been fine-tuned: the answer must switch to eval mode itself
        self.batches: list[int] = []
        self.grad_enabled = False
        self.training = False
        self.logits = False
        self.handed: list[tuple[np.ndarray, np.ndarray]] = []
        self.net.body.register_forward_hook(self._body_hook)
        self.net.head.register_forward_hook(self._head_hook)

    def _body_hook(self, module, inputs, output) -> None:
        self.batches.append(int(inputs[0].shape[0]))
        self.grad_enabled |= torch.is_grad_enabled()
        self.training |= module.training

    def _head_hook(self, module, inputs, output) -> None:
        self.logits = True

    def distance(self, a, b) -> float:
        a, b = to_numpy(a), to_numpy(b)
        self.handed.append((a, b))
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
            raise ValueError(f"distance() was given feature arrays of shapes {a.shape} and {b.shape}")
        if min(len(a), len(b)) < a.shape[1]:
            raise ValueError(f"distance() was given {min(len(a), len(b))} samples of {a.shape[1]}-d features "
                             "(fewer samples than dimensions)")
        return _reference_fid(a, b)


def _expected_features(images: torch.Tensor) -> np.ndarray:
    net = lib_classifier.load_course_classifier().eval()
    with torch.no_grad():
        return to_numpy(torch.cat([net.features(images[i:i + 32]) for i in range(0, len(images), 32)]))


def check_classifier_fid(classifier_fid) -> None:
    def check():
        refuse_borrowed(classifier_fid, "classifier_fid", LIBRARY)
        digits = _digits()
        real = digits[:96]
        cases = [("96 real digits vs 96 other real digits with noise 0.3", real, _noisy(digits[96:192], 0.3, 1), 32),
                 ("96 real digits vs 100 noisy digits (noise 0.1), batch_size=25", real,
                  _noisy(digits[188:288], 0.1, 2), 25)]
        for where, a, b, batch_size in cases:
            watch = _Watch()
            with library_switched_off(LIBRARY):
                got = _as_float(classifier_fid(a.clone(), b.clone(), watch.net, batch_size=batch_size,
                                               distance=watch.distance), "classifier_fid")
            if not watch.batches:
                fail("classifier_fid never ran the classifier it was given (use classifier.features).")
            if watch.training:
                fail("the classifier was in training mode when your code took its features (BatchNorm then "
                     "normalises with each batch's own statistics): call classifier.eval() first.")
            if watch.grad_enabled:
                fail("the features were computed with autograd on: wrap the feature pass in torch.no_grad() "
                     "(otherwise every batch keeps its graph in memory).")
            if max(watch.batches) > batch_size:
                fail(f"with batch_size={batch_size} the classifier saw a batch of {max(watch.batches)} images: "
                     "feed the images in batches of at most batch_size.")
            want_a, want_b = _expected_features(a), _expected_features(b)
            expected = _reference_fid(want_a, want_b)
            if abs(got - expected) <= 1e-4 * abs(expected) + 1e-6:
                continue
            hint = ""
            for handed_real, _ in watch.handed:
                if handed_real.shape[1:] != want_a.shape[1:]:
                    layer = ("the 10 logits (classifier(x))" if handed_real.shape[1:] == (10,)
                             else f"{handed_real.shape[1:]} values")
                    hint = f" (the features you passed to distance are {layer} per image, not the 64-d " \
                           "classifier.features(x))"
                elif handed_real.shape == want_a.shape and \
                        not np.allclose(handed_real, want_a, rtol=1e-4, atol=1e-4):
                    relu = watch.logits or bool((handed_real >= 0).all())
                    hint = " (the features you passed to distance are not classifier.features(x) of the real " \
                           "images" + (": did you take them after the ReLU, or the logits?)" if relu else ")")
            if not hint and watch.logits:
                hint = " (your code ran the classifier's head: FID uses classifier.features(x), not the logits)"
            fail(f"classifier_fid on {where}: expected {expected:.6g}, got {got:.6g}{hint}.")
        # FID of a set with an exact copy of itself is zero; more corruption gives a larger distance.
        watch = _Watch()
        with library_switched_off(LIBRARY):
            same = _as_float(classifier_fid(real.clone(), real.clone(), watch.net, batch_size=48,
                                            distance=watch.distance), "classifier_fid")
        if abs(same) > 1e-4:
            fail(f"classifier_fid of a set of digits with an exact copy of itself should be 0, got {same:.6g}.")
        values = []
        for level in (0.2, 0.5, 1.0):
            watch = _Watch()
            with library_switched_off(LIBRARY):
                values.append(_as_float(classifier_fid(real.clone(), _noisy(digits[96:192], level, 3), watch.net,
                                                       batch_size=48, distance=watch.distance), "classifier_fid"))
        if not values[0] < values[1] < values[2]:
            fail("classifier_fid should grow with the amount of noise added to the digits; for noise 0.2, 0.5 "
                 f"and 1.0 it gave {', '.join(f'{v:.4g}' for v in values)}.")
    run_check("classifier_fid", check)


# --- part 3: precision and recall ---------------------------------------------------------------

def _coverage_bounds(reference: np.ndarray, queries: np.ndarray, k: int) -> tuple[float, float, float]:
    """Share of queries inside the union of reference k-NN balls: exact value, and the range a
    correct answer may report when a query lies on a ball's boundary up to round-off."""
    within = scipy.spatial.distance.cdist(reference, reference)
    radii = np.sort(within, axis=1)[:, k]  # column 0 is the point itself, at distance 0
    gap = scipy.spatial.distance.cdist(queries, reference) - radii[None, :]
    slack = 1e-5 * (1.0 + radii.max())
    exact = (gap <= 0).any(axis=1).mean()
    surely = (gap <= -slack).any(axis=1).mean()
    maybe = (gap <= slack).any(axis=1).mean()
    return float(exact), float(surely), float(maybe)


def _point_clouds() -> list[tuple[str, np.ndarray, np.ndarray, int | None]]:
    rng = np.random.default_rng(66)
    clouds = [("random 2-d clouds (120 real, 90 fake)", rng.normal(size=(120, 2)),
               rng.normal(size=(90, 2)) * 1.5 + 0.5, 3),
              ("random 8-d clouds (100 real, 140 fake), k=1", rng.normal(size=(100, 8)),
               rng.normal(size=(140, 8)) * 0.7 + 0.3, 1),
              ("random 5-d clouds (150 real, 150 fake), k=7", rng.normal(size=(150, 5)),
               rng.normal(size=(150, 5)) * 1.3, 7),
              ("random 3-d clouds with the default k", rng.normal(size=(80, 3)),
               rng.normal(size=(110, 3)) * 0.6 - 0.4, None)]
    same = rng.normal(size=(60, 4))
    clouds.append(("identical sets", same, same.copy(), 3))
    clouds.append(("two sets far apart", rng.normal(size=(70, 3)), rng.normal(size=(50, 3)) + 100.0, 3))
    corners = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    real = np.concatenate([c + 0.5 * rng.normal(size=(50, 2)) for c in corners])
    fake = np.concatenate([c + 0.5 * rng.normal(size=(50, 2)) for c in corners[:2]])
    clouds.append(("fakes covering 2 of the 4 real modes", real, fake, 3))
    return clouds


def _pair(value) -> tuple[float, float]:
    try:
        items = list(value)
    except TypeError:
        fail(f"precision_recall must return a pair (precision, recall), got {type(value).__name__}.")
    if len(items) != 2:
        fail(f"precision_recall must return a pair (precision, recall), got {len(items)} values.")
    return _as_float(items[0], "precision_recall"), _as_float(items[1], "precision_recall")


def check_precision_recall(precision_recall) -> None:
    def check():
        refuse_borrowed(precision_recall, "precision_recall", LIBRARY)
        for where, real, fake, k in _point_clouds():
            kk = 3 if k is None else k
            p_ref, p_lo, p_hi = _coverage_bounds(real, fake, kk)
            r_ref, r_lo, r_hi = _coverage_bounds(fake, real, kk)
            with library_switched_off(LIBRARY):
                out = precision_recall(real.copy(), fake.copy()) if k is None else \
                    precision_recall(real.copy(), fake.copy(), k=k)
            precision, recall = _pair(out)
            ok_p = p_lo - 1e-6 <= precision <= p_hi + 1e-6  # shares of at most a few hundred points
            ok_r = r_lo - 1e-6 <= recall <= r_hi + 1e-6
            if ok_p and ok_r:
                continue
            hint = ""
            if abs(precision - r_ref) < 1e-6 and abs(recall - p_ref) < 1e-6:
                hint = " (precision and recall are swapped: precision asks whether fakes lie among the reals)"
            elif kk > 1 and abs(precision - _coverage_bounds(real, fake, kk - 1)[0]) < 1e-6:
                hint = (" (that is what radii to the (k-1)-th neighbour give: when you sort a point's distances "
                        "to its own set, the first one is the point itself, at distance 0)")
            elif kk != 3 and abs(precision - _coverage_bounds(real, fake, 3)[0]) < 1e-6 and \
                    abs(recall - _coverage_bounds(fake, real, 3)[0]) < 1e-6:
                hint = f" (that is the result for k=3: use the k you are given, here k={kk})"
            fail(f"precision_recall on {where}: expected (precision, recall) = ({p_ref:.4f}, {r_ref:.4f}), "
                 f"got ({precision:.4f}, {recall:.4f}){hint}.")
    run_check("precision_recall", check)
