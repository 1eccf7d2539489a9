"""Assignment 6 (evaluating GANs) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a6_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import importlib
import inspect
import re

import numpy as np
import pytest
import scipy
import scipy.linalg
import torch

from autograder.judges import a6 as judges
from autograder.judges import reference
from autograder.probes import a6 as probes
from autograder.probes import counterparts, library_objects
from autograder.probes.record import Record, probe
from gancourse import classifier as lib_classifier
from gancourse import metrics
from gancourse.classifier import load_course_classifier
from tests.a6_submissions import BORROWED, CALLS_PART_1_BY_NAME, CORRECT, THIRD_PARTY, WRONG
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a6_evaluation"
NOTEBOOK = "evaluation.ipynb"
POINTS = {"test_frechet_distance_from_features": 4, "test_classifier_fid": 3, "test_precision_recall": 3}
PART_1 = "frechet_distance_from_features"


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell and part 1) and return what it defines."""
    if namespace is None:
        namespace = {"np": np, "scipy": scipy, "torch": torch, "load_course_classifier": load_course_classifier}
    if part != PART_1 and PART_1 not in namespace:
        exec(CORRECT["scipy"][PART_1], namespace)  # so that distance=frechet_distance_from_features resolves
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    (PART_1, "no_matrix_square_root", "without the matrix square root"),
    (PART_1, "trace_term_sign_flipped", "sign of the 2 Tr"),
    (PART_1, "mean_term_missing", "without the mean term"),
    (PART_1, "biased_covariance", r"biased covariances \(divided by n"),
    (PART_1, "input_dtype_kept", "float32 round-off"),
    (PART_1, "computed_in_float32", "float64"),
    (PART_1, "eps_always_added", "add eps to the covariances only when"),
    (PART_1, "imaginary_part_kept", "real part"),
    (PART_1, "no_refusal_of_too_few_samples", "must raise ValueError .* returned a value instead"),
    (PART_1, "refusal_with_the_wrong_error", "must raise ValueError .* raised AssertionError"),
    ("classifier_fid", "train_mode", "training mode"),
    ("classifier_fid", "logits_instead_of_features", "logits"),
    ("classifier_fid", "features_after_relu", "after the ReLU"),
    ("classifier_fid", "autograd_left_on", "no_grad"),
    ("classifier_fid", "all_images_in_one_batch", "batches of at most batch_size"),
    ("classifier_fid", "classifier_argument_ignored", "never ran the classifier it was given"),
    ("classifier_fid", "no_course_classifier_by_default", "no classifier given .* raised AttributeError"),
    ("classifier_fid", "old_signature", r"`classifier` with default None"),
    ("precision_recall", "point_counted_as_its_own_neighbour", "the point itself"),
    ("precision_recall", "precision_and_recall_swapped", "swapped"),
    ("precision_recall", "k_fixed_at_3", "use the k you are given"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


def test_the_library_pieces_the_borrowed_answers_use_are_stubbed_with_their_part():
    """Each borrowed answer (the class below scores them 0 through the sandbox) only uses library objects
    that are stubbed until its part's test has run."""
    listed = library_objects(ASSIGNMENT)
    for part, ways in BORROWED.items():
        names = {target.rpartition(".")[2] for target in listed[part]}
        for source in ways.values():
            used = set(re.findall(r"(?:metrics\.|classifier\.|import )(\w+)", source)) - {"metrics", "classifier"}
            assert used and used <= names, (part, used - names)


def test_the_third_party_answer_is_right_so_only_the_sandbox_takes_its_points():
    """Outside the sandbox pytorch_fid is importable and gives the right distance: the class below scores it 0
    for part 1 because the grading sandbox hides the package, as the notebook says."""
    verdict = judged(ASSIGNMENT, PART_1, define(PART_1, THIRD_PARTY[PART_1]))
    assert verdict.passed, verdict.message


def test_classifier_fid_is_judged_with_the_graders_frechet_distance_not_the_students_wrong_one():
    namespace = {"np": np, "scipy": scipy, "torch": torch, "load_course_classifier": load_course_classifier}
    wrong = define(PART_1, WRONG[PART_1]["trace_term_sign_flipped"], namespace)
    assert not judged(ASSIGNMENT, PART_1, wrong).passed
    # a default argument bound to the wrong part 1, and a call by name that ignores `distance`
    for source in (CORRECT["scipy"]["classifier_fid"], CORRECT["tutorial"]["classifier_fid"], CALLS_PART_1_BY_NAME):
        verdict = judged(ASSIGNMENT, "classifier_fid", define("classifier_fid", source, namespace))
        assert verdict.passed, verdict.message
    assert namespace[PART_1] is wrong  # the notebook's own part 1 is back


def test_a_record_that_claims_good_behaviour_earns_nothing_without_the_right_numbers():
    """What the probe saw of the classifier can only cost points: the number decides."""
    answer = define("classifier_fid", WRONG["classifier_fid"]["features_after_relu"])
    record = Record.decode(probe(ASSIGNMENT, "classifier_fid", answer).encode())
    for key in [k for k in record.facts if k.endswith("/watch")]:
        record.facts[key] = {"batches": [1], "training": False, "grad": False, "head": False}
    for key in [k for k in record.arrays if "/handed/" in k]:
        del record.arrays[key]
    from autograder.judges import judge_record

    verdict = judge_record(ASSIGNMENT, "classifier_fid", record)
    assert not verdict.passed and "expected" in verdict.message, verdict.message


def test_float32_features_far_from_the_origin_defeat_float32_arithmetic():
    """The float32 case of the probe really separates float32 from float64 work (not by luck)."""
    where, a, b = next(case for case in probes.feature_pairs() if case[1].dtype == np.float32)
    expected = reference.frechet_distance_from_features(a, b)
    in_float32 = define(PART_1, WRONG[PART_1]["computed_in_float32"])(a, b)
    assert abs(in_float32 - expected) > 100 * 1e-6 * abs(expected), where


def test_the_judges_references_agree_with_the_library_and_the_constructed_cases_mean_what_they_say():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) * 1.5 + 1.0
    assert abs(reference.frechet_distance_from_features(a, b) - metrics.frechet_distance_from_features(a, b)) < 1e-9
    for _, real, fake in probes.feature_pairs():
        assert judges._fid_parts(real, fake)["value"] == pytest.approx(
            metrics.frechet_distance_from_features(real, fake), rel=1e-6, abs=1e-8)
    clouds = {where: (real, fake, k) for where, real, fake, k in probes.point_clouds()}
    assert judges.coverage(*clouds["identical sets"][:2], 3)[0] == 1.0
    assert judges.coverage(*clouds["two sets far apart"][:2], 3)[0] == 0.0
    real, fake, _ = clouds["fakes covering 2 of the 4 real modes"]
    precision, recall = judges.coverage(real, fake, 3)[0], judges.coverage(fake, real, 3)[0]
    # fakes drawn like 2 of the real modes: nearly all inside the real k-NN balls (0.86 to 1 over 200 salts),
    # and about half of the real points covered
    assert precision > 0.8 and 0.4 < recall <= 0.5, (precision, recall)
    assert (precision, recall) == metrics.precision_recall(real, fake, k=3)
    values = {key: reference.frechet_distance_from_features(judges._features(kind, r), judges._features(kind, f))
              for key, _, r, f, kind, _ in probes.fid_cases()}
    assert values["fid/2"] == pytest.approx(0.0, abs=1e-6)  # a set with an exact copy of itself
    assert values["fid/0"] < values["fid/3"]  # more noise, larger distance


def test_the_parts_have_the_library_counterparts_names_and_signatures():
    for part, target in counterparts(ASSIGNMENT).items():
        module, _, name = target.rpartition(".")
        assert name == part
        library = inspect.signature(getattr(importlib.import_module(module), name)).parameters
        solution = inspect.signature(define(part, CORRECT["scipy"][part])).parameters
        assert list(library) == list(solution), part
        assert [p.default for p in library.values() if p.name != "distance"] == \
               [p.default for p in solution.values() if p.name != "distance"], part
    for targets in library_objects(ASSIGNMENT).values():
        for target in targets:
            module, _, name = target.rpartition(".")
            assert hasattr(importlib.import_module(module), name), target


def test_the_librarys_classifier_fid_hands_float64_features_to_the_distance_it_is_given():
    seen = []
    images = torch.rand(70, 1, 28, 28) * 2 - 1
    value = lib_classifier.classifier_fid(images, images.flip(0), batch_size=32,
                                          distance=lambda a, b: seen.append((a.dtype, a.shape, b.shape)) or 1.5)
    assert value == 1.5 and seen == [(np.float64, (70, 64), (70, 64))]


# --- a class graded through nbgrader ------------------------------------------------------------

CLASS = {
    "alt_scipy": Student(answers=CORRECT["scipy"]),
    "alt_torch": Student(answers=CORRECT["torch"]),
    "alt_tutorial": Student(answers=CORRECT["tutorial"]),
    "wrong_part_1_right_part_2": Student(
        answers={**CORRECT["tutorial"], PART_1: WRONG[PART_1]["trace_term_sign_flipped"]},
        expected={"test_classifier_fid": 3, "test_precision_recall": 3}),
    "wrong_sqrt_and_train_mode": Student(
        answers={**CORRECT["torch"], PART_1: WRONG[PART_1]["no_matrix_square_root"],
                 "classifier_fid": WRONG["classifier_fid"]["train_mode"]},
        expected={"test_precision_recall": 3}),
    "wrong_float32_and_self_neighbour": Student(
        answers={**CORRECT["scipy"], PART_1: WRONG[PART_1]["computed_in_float32"],
                 "precision_recall": WRONG["precision_recall"]["point_counted_as_its_own_neighbour"]},
        expected={"test_classifier_fid": 3}),
    "library_objects_and_allclose": Student(
        answers={part: ways["library_object"] for part, ways in BORROWED.items()},
        extra_cells=[(2, "np.allclose = lambda *a, **k: True\ntorch.allclose = lambda *a, **k: True")],
        expected=0),
    "third_party_frechet_distance": Student(answers={**CORRECT["scipy"], **THIRD_PARTY},
                                            expected={"test_classifier_fid": 3, "test_precision_recall": 3}),
    "library_pieces": Student(
        answers={PART_1: BORROWED[PART_1]["library_pieces"],
                 "classifier_fid": BORROWED["classifier_fid"]["library_features"],
                 "precision_recall": BORROWED["precision_recall"]["library_helpers"]},
        expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


def test_the_probe_inputs_depend_on_the_salt_alone_not_on_the_machines_linear_algebra(monkeypatch):
    """The probe builds its feature pairs in the sandbox and the judge builds them again in its own process: if
    a rounding-dependent result (was: whether scipy's square root came out complex) chose the data, the two
    could disagree and a correct answer lose its points (a fresh-clone run lost the reference solution 4 points
    that way). Every pair must come from the salted random stream only."""
    monkeypatch.setenv("GANCOURSE_PROBE_SALT", "linear-algebra-free")
    expected = probes.feature_pairs()

    def refuse(*args, **kwargs):
        raise AssertionError("feature_pairs ran a linear-algebra routine to choose its data")

    for module, name in [(scipy.linalg, "sqrtm"), (scipy.linalg, "eigvals"), (scipy.linalg, "eigh"),
                         (np.linalg, "eigvals"), (np.linalg, "eig"), (np.linalg, "eigh"), (np.linalg, "svd")]:
        monkeypatch.setattr(module, name, refuse)
    again = probes.feature_pairs()
    assert [w for w, _, _ in again] == [w for w, _, _ in expected]
    for (where, real, fake), (_, real_0, fake_0) in zip(again, expected):
        assert np.array_equal(real, real_0) and np.array_equal(fake, fake_0), where
    assert sum("rank-deficient" in where for where, _, _ in again) == 2
