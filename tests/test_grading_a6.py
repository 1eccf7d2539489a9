"""Assignment 6 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a6_submissions.py). The slow
ones grade a small class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from autograder.checks import GradingFailure
from autograder.checks import a6 as checks
from gancourse import metrics
from tests.a6_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a6_evaluation"
NOTEBOOK = "evaluation.ipynb"
CHECK = {"frechet_distance": checks.check_frechet_distance,
         "classifier_fid": checks.check_classifier_fid,
         "precision_recall": checks.check_precision_recall}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after the setup cell and a correct part 1)."""
    namespace = {"np": np, "scipy": scipy, "torch": torch}
    exec(CORRECT["scipy"]["frechet_distance"], namespace)  # so that distance=frechet_distance resolves
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,reason", [
    ("frechet_distance", "no_matrix_square_root", "without the matrix square root"),
    ("frechet_distance", "trace_term_sign_flipped", "sign of the 2 Tr"),
    ("frechet_distance", "mean_term_missing", "without the mean term"),
    ("frechet_distance", "input_dtype_kept", "float32 round-off"),
    ("frechet_distance", "no_refusal_of_too_few_samples", "must raise ValueError"),
    ("frechet_distance", "imaginary_part_kept", "real part"),
    ("classifier_fid", "train_mode", "training mode"),
    ("classifier_fid", "logits_instead_of_features", "logits"),
    ("classifier_fid", "autograd_left_on", "no_grad"),
    ("classifier_fid", "all_images_in_one_batch", "batches of at most batch_size"),
    ("precision_recall", "point_counted_as_its_own_neighbour", "the point itself"),
    ("precision_recall", "precision_and_recall_swapped", "swapped"),
    ("precision_recall", "k_fixed_at_3", "use the k you are given"),
    ("precision_recall", "library_wrapper", "course library"),
])
def test_failure_messages_say_what_was_observed(part, mistake, reason):
    with pytest.raises(GradingFailure, match=reason):
        CHECK[part](define(part, WRONG[part][mistake]))


def test_float32_features_far_from_the_origin_defeat_float32_arithmetic():
    """The float32 case of the check really separates float32 from float64 work (not by luck)."""
    where, a, b = next(case for case in checks._feature_pairs() if case[1].dtype == np.float32)
    expected = checks._reference_fid(a, b)
    in_float32 = define("frechet_distance", WRONG["frechet_distance"]["computed_in_float32"])(a, b)
    assert abs(in_float32 - expected) > 100 * 1e-6 * abs(expected), where


def test_reference_fid_agrees_with_the_library_and_the_constructed_cases_mean_what_they_say():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) * 1.5 + 1.0
    assert abs(checks._reference_fid(a, b) - metrics.frechet_distance_from_features(a, b)) < 1e-9
    clouds = {where: (real, fake, k) for where, real, fake, k in checks._point_clouds()}
    assert checks._coverage_bounds(*clouds["identical sets"][:2], 3)[0] == 1.0
    assert checks._coverage_bounds(*clouds["two sets far apart"][:2], 3)[0] == 0.0
    real, fake, _ = clouds["fakes covering 2 of the 4 real modes"]
    precision, recall = checks._coverage_bounds(real, fake, 3)[0], checks._coverage_bounds(fake, real, 3)[0]
    assert precision > 0.9 and 0.4 < recall <= 0.5, (precision, recall)
    assert (precision, recall) == metrics.precision_recall(real, fake, k=3)


def test_library_functions_work_again_after_a_check_switched_them_off():
    with pytest.raises(GradingFailure):
        checks.check_precision_recall(define("precision_recall", WRONG["precision_recall"]["library_wrapper"]))
    assert metrics.precision_recall(np.eye(5), np.eye(5), k=2) == (1.0, 1.0)


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="numpy.allclose"):
        checks.check_frechet_distance(define("frechet_distance", CORRECT["scipy"]["frechet_distance"]))


# --- the whole class through nbgrader ------------------------------------------------------------

POINTS = {"test_frechet_distance": 4, "test_classifier_fid": 3, "test_precision_recall": 3}
LIBRARY_OBJECTS = {part: WRONG[part]["library_object"] for part in WRONG}
CLASS = {  # with the solution and the untouched release added by grade_class: 7 notebooks
    "alt_scipy": Student(answers=CORRECT["scipy"], expected="full"),
    "alt_torch": Student(answers=CORRECT["torch"], expected="full"),
    "wrong_sqrt_and_train_mode": Student(
        answers={**CORRECT["torch"], "frechet_distance": WRONG["frechet_distance"]["no_matrix_square_root"],
                 "classifier_fid": WRONG["classifier_fid"]["train_mode"]},
        expected={"test_precision_recall": 3}),
    "wrong_float32_and_self_neighbour": Student(
        answers={**CORRECT["scipy"], "frechet_distance": WRONG["frechet_distance"]["computed_in_float32"],
                 "precision_recall": WRONG["precision_recall"]["point_counted_as_its_own_neighbour"]},
        expected={"test_classifier_fid": 3}),
    "cheat_library_and_allclose": Student(
        answers=LIBRARY_OBJECTS, extra_cells=[(2, "np.allclose = lambda *a, **k: True\n"
                                                  "torch.allclose = lambda *a, **k: True")],
        expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
