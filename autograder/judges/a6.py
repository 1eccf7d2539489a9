"""Judges of assignment 6 (chapter 6): the Fréchet distance from features, course-classifier FID, and
improved precision and recall.

Every number is compared with the judges' float64 Fréchet distance (:mod:`.reference`) or with a
coverage count written here (sorted ``cdist`` rows, no KD-tree), on the probe module's inputs made
again here. A wrong number is explained where it matches a usual mistake: no matrix square root, a
flipped sign, a missing mean term, biased covariances, float32 round-off, logits or post-ReLU
features, precision and recall swapped, the point counted as its own neighbour, k ignored.
``classifier_fid`` is compared with the distance between features the judge takes itself, with the
same classifier; what the probe saw of the classifier (training mode, autograd, batch sizes) can only
cost points.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.spatial
import torch

from autograder.judges import fail, signature_is
from autograder.judges import reference as ref
from autograder.probes import salted
from autograder.probes.a6 import feature_pairs, fid_cases, make_classifier, point_clouds, too_few_samples
from autograder.probes.record import Record

NUMBER = {"float", "int"}


def _number(record: Record, key: str, what: str) -> float:
    """The one real number an answer returned for ``key``; fails with what it returned instead."""
    error = record.raised(key)
    if error:
        fail(f"{what} raised {error}")
    fact = record.facts.get(key)
    kind = fact.get("type") if isinstance(fact, dict) else None
    if kind in ("tensor", "ndarray"):
        if not record.has(key):
            fail(f"{what}: the grader received no value.")
        value = record.arrays[key]
        if np.iscomplexobj(value):
            first = complex(value.ravel()[0]) if value.size else 0j
            fail(f"{what} must return a real number, got the complex {first}: keep the real part of the matrix "
                 "square root (np.real), whose imaginary part is round-off.")
        if value.size != 1:
            fail(f"{what} must return one number, got an array of shape {tuple(value.shape)}.")
        out = float(np.asarray(value, dtype=np.float64).reshape(()))
    elif kind in NUMBER:
        out = float(fact["value"])
    elif isinstance(kind, str) and "complex" in kind:
        fail(f"{what} must return a real number, got the complex {fact.get('value')}: keep the real part of the "
             "matrix square root (np.real), whose imaginary part is round-off.")
    else:
        fail(f"{what} must return one number (a Python float), got {kind or 'nothing'}.")
    if not np.isfinite(out):
        fail(f"{what} returned {out}.")
    return out


# --- part 1: the Fréchet distance from features ----------------------------------------------------

def _fid_parts(real: np.ndarray, fake: np.ndarray) -> dict[str, float]:
    """The distance ("value"), the size of its terms ("scale", for round-off), and what the usual
    mistakes give instead (for the message)."""
    (mu1, s1), (mu2, s2) = ref.gaussian_fit(real), ref.gaussian_fit(fake)
    n1, n2 = len(real), len(fake)
    mean_term, traces = float(((mu1 - mu2) ** 2).sum()), float(np.trace(s1) + np.trace(s2))
    root = ref.root_trace(s1, s2)
    return {"value": ref.frechet_distance(mu1, s1, mu2, s2), "scale": traces + mean_term,
            "without the matrix square root (Tr(S1 + S2 - 2 S1 S2))":
                mean_term + traces - 2.0 * float(np.trace(s1 @ s2)),
            "with the sign of the 2 Tr(...) term flipped": mean_term + traces + 2.0 * root,
            "without the mean term |mu1 - mu2|^2": ref.frechet_distance(mu1, s1, mu1, s2),
            "with biased covariances (divided by n instead of n - 1)":
                ref.frechet_distance(mu1, s1 * (n1 - 1) / n1, mu2, s2 * (n2 - 1) / n2)}


def judge_frechet_distance_from_features(record: Record) -> None:
    for i, (where, real, fake) in enumerate(feature_pairs()):
        what = f"frechet_distance_from_features on {where}"
        got = _number(record, f"pair/{i}", what)
        parts = _fid_parts(real, fake)
        expected, scale = parts["value"], parts["scale"]
        if abs(got - expected) <= 1e-6 * abs(expected) + 1e-8 * scale:
            continue
        hint = ""
        for mistake, wrong in parts.items():
            if mistake not in ("value", "scale") and abs(got - wrong) <= 1e-6 * abs(wrong) + 1e-8 * scale:
                hint = f" (that is the distance {mistake})"
                break
        if not hint and real.dtype == np.float32 and abs(got - expected) <= 1e-2 * abs(expected) + 1e-3:
            hint = (" (close, but float32 round-off: convert the features to float64 before computing means and "
                    "covariances)")
        elif not hint and abs(got - expected) <= 1e-3 * abs(expected) + 1e-4 * scale:  # round-off of the terms
            hint = (" (close, but not accurate to 1e-6 relative: compute in float64 throughout, and add eps to the "
                    "covariances only when the square root is not finite)")
        fail(f"{what}: expected {expected:.8g}, got {got:.8g}{hint}.")
    for i, (which, real, fake) in enumerate(too_few_samples()):
        key, shapes = f"few/{i}", f"{real.shape[0]} x {real.shape[1]} and {fake.shape[0]} x {fake.shape[1]}"
        fact = record.facts.get(key)
        if isinstance(fact, dict) and fact.get("refused"):
            continue
        error = record.raised(key)
        got = f"raised {error}" if error else "returned a value instead"
        fail(f"frechet_distance_from_features must raise ValueError when a set has fewer samples than dimensions "
             f"(the {which} set of features {shapes}): it {got}.")


# --- part 2: course-classifier FID -----------------------------------------------------------------

def _classifier(kind: str) -> torch.nn.Module:
    return _built_classifier(kind, salted(66))


@functools.lru_cache(maxsize=4)
def _built_classifier(kind: str, seed: int) -> torch.nn.Module:  # keyed by the salted seed of the other weights
    return make_classifier("course" if kind == "default" else kind).eval()


def _features(kind: str, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return _classifier(kind).features(images).double().numpy()


def _handed_hint(record: Record, key: str, want: np.ndarray, seen: dict | None) -> str:
    name = f"{key}/handed/real"
    if not record.has(name):
        return ""
    handed = record.arrays[name]
    if handed.ndim != 2 or handed.shape[1:] != want.shape[1:]:
        layer = "the 10 logits (classifier(x))" if handed.shape[1:] == (10,) else f"{handed.shape[1:]} values"
        return f" (the features you passed to distance are {layer} per image, not the 64-d classifier.features(x))"
    if handed.shape == want.shape and not np.allclose(handed, want, rtol=1e-4, atol=1e-4):
        relu = bool(seen and seen.get("head")) or bool((handed >= 0).all())
        return (" (the features you passed to distance are not classifier.features(x) of the real images"
                + (": did you take them after the ReLU, or the logits?)" if relu else ")"))
    return ""


def judge_classifier_fid(record: Record) -> None:
    signature_is(record, {"real_images": None, "fake_images": None, "classifier": "None", "batch_size": "500",
                          "distance": None}, "classifier_fid")
    for key, where, real, fake, kind, batch_size in fid_cases():
        what = f"classifier_fid on {where}"
        got = _number(record, key, what)
        seen = record.facts.get(f"{key}/watch")
        if kind != "default" and isinstance(seen, dict):
            batches = [int(b) for b in seen.get("batches", [])]
            if not batches:
                fail(f"{what}: classifier_fid never ran the classifier it was given (use classifier.features(x) "
                     "of the `classifier` argument; the course classifier only when it is None).")
            if seen.get("training"):
                fail(f"{what}: the classifier was in training mode when your code took its features (BatchNorm "
                     "then normalises with each batch's own statistics): call classifier.eval() first.")
            if seen.get("grad"):
                fail(f"{what}: the features were computed with autograd on: wrap the feature pass in "
                     "torch.no_grad() (otherwise every batch keeps its graph in memory).")
            if max(batches) > batch_size:
                fail(f"{what}: the classifier saw a batch of {max(batches)} images: feed the images in batches "
                     "of at most batch_size.")
        want_real, want_fake = _features(kind, real), _features(kind, fake)
        parts = _fid_parts(want_real, want_fake)
        expected = parts["value"]
        if abs(got - expected) <= 1e-4 * abs(expected) + 1e-6 * parts["scale"]:
            continue
        hint = _handed_hint(record, key, want_real, seen if isinstance(seen, dict) else None)
        if not hint and isinstance(seen, dict) and seen.get("head"):
            hint = " (your code ran the classifier's head: FID uses classifier.features(x), not the logits)"
        if not hint and kind == "default":
            hint = " (with classifier=None, use the course classifier: load_course_classifier())"
        fail(f"{what}: expected {expected:.6g}, got {got:.6g}{hint}.")


# --- part 3: precision and recall ------------------------------------------------------------------

def coverage(reference: np.ndarray, queries: np.ndarray, k: int) -> tuple[float, float, float]:
    """Share of queries inside the union of the reference points' k-NN balls: the exact value, and the
    range a correct answer may report when a query lies on a ball's boundary up to round-off."""
    within = scipy.spatial.distance.cdist(reference, reference)
    radii = np.sort(within, axis=1)[:, k]  # column 0 is the point itself, at distance 0
    gap = scipy.spatial.distance.cdist(queries, reference) - radii[None, :]
    slack = 1e-5 * (1.0 + radii.max())
    exact = (gap <= 0).any(axis=1).mean()
    surely = (gap <= -slack).any(axis=1).mean()
    maybe = (gap <= slack).any(axis=1).mean()
    return float(exact), float(surely), float(maybe)


def _pair(record: Record, key: str, what: str) -> tuple[float, float]:
    error = record.raised(key)
    if error:
        fail(f"{what} raised {error}")
    fact = record.facts.get(key)
    if not isinstance(fact, dict) or "length" not in fact:
        kind = fact.get("type") if isinstance(fact, dict) else "nothing"
        fail(f"{what} must return a pair (precision, recall), got {kind}.")
    if fact["length"] != 2:
        fail(f"{what} must return a pair (precision, recall), got {fact['length']} values.")
    return _number(record, f"{key}/0", f"{what} (precision)"), _number(record, f"{key}/1", f"{what} (recall)")


def judge_precision_recall(record: Record) -> None:
    signature_is(record, {"real": None, "fake": None, "k": "3"}, "precision_recall")
    for i, (where, real, fake, k) in enumerate(point_clouds()):
        kk = 3 if k is None else k
        what = f"precision_recall on {where}"
        p_ref, p_lo, p_hi = coverage(real, fake, kk)
        r_ref, r_lo, r_hi = coverage(fake, real, kk)
        precision, recall = _pair(record, f"cloud/{i}", what)
        if p_lo - 1e-6 <= precision <= p_hi + 1e-6 and r_lo - 1e-6 <= recall <= r_hi + 1e-6:
            continue
        hint = ""
        if abs(precision - r_ref) < 1e-6 and abs(recall - p_ref) < 1e-6:
            hint = " (precision and recall are swapped: precision asks whether fakes lie among the reals)"
        elif kk > 1 and abs(precision - coverage(real, fake, kk - 1)[0]) < 1e-6:
            hint = (" (that is what radii to the (k-1)-th neighbour give: when you sort a point's distances to its "
                    "own set, the first one is the point itself, at distance 0)")
        elif kk != 3 and abs(precision - coverage(real, fake, 3)[0]) < 1e-6 and \
                abs(recall - coverage(fake, real, 3)[0]) < 1e-6:
            hint = f" (that is the result for k=3: use the k you are given, here k={kk})"
        fail(f"{what}: expected (precision, recall) = ({p_ref:.4f}, {r_ref:.4f}), got ({precision:.4f}, "
             f"{recall:.4f}){hint}.")
