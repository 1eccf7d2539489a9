"""Assignment 2 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a2_submissions.py). The slow
ones grade a small class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.checks import GradingFailure
from autograder.checks import a2 as checks
from gancourse import dynamics, losses
from tests.a2_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a2_troubles"
NOTEBOOK = "troubles.ipynb"
CHECK = {"smoothed_discriminator_loss": checks.check_smoothed_discriminator_loss,
         "noisy_labels": checks.check_noisy_labels,
         "diagnose": checks.check_diagnose}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "F": F, "math": math, "np": np}
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part", sorted(CHECK))
def test_library_answers_are_refused_and_the_library_works_afterwards(part):
    for mistake in ("library_object", "library_wrapper"):
        with pytest.raises(GradingFailure, match="library"):
            CHECK[part](define(part, WRONG[part][mistake]))
    assert abs(losses.smoothed_discriminator_loss(torch.zeros(2), torch.zeros(2)).item() - 2 * math.log(2)) < 1e-6
    assert losses.flipped_labels(5, 1.0, 0.0).tolist() == [1.0] * 5
    assert dynamics.diagnose_history([0.1] * 8, [5.0] * 8) == "d-wins"


def test_failure_messages_say_what_was_observed():
    cases = [("smoothed_discriminator_loss", "two_sided", "one-sided"),
             ("smoothed_discriminator_loss", "swapped_labels", "swapped"),
             ("smoothed_discriminator_loss", "sum_not_mean", "mean over its batch"),
             ("smoothed_discriminator_loss", "smooths_to_one_minus", "real targets 0.1"),
             ("noisy_labels", "flips_with_one_minus_p", "flip_prob=0 no label may flip"),
             ("noisy_labels", "deterministic_first_k", "not spread at random"),
             ("noisy_labels", "ignores_generator", "seeded alike"),
             ("diagnose", "swapped_verdicts", "expected 'd-wins', got 'g-wins'")]
    for part, mistake, words in cases:
        with pytest.raises(GradingFailure, match=words):
            CHECK[part](define(part, WRONG[part][mistake]))


def test_synthetic_histories_have_a_verdict_that_does_not_hinge_on_the_tail_length():
    """Any tail from a tenth to about a third of the run gives the same verdict: a reasonable reading
    of "the last quarter" passes. Regime changes make the whole-history mean disagree, so the tail matters."""
    cases = checks.histories()
    assert {kind for _, kind, _, _ in cases} == set(checks.VERDICTS)
    for what, kind, d, g in cases:
        for tail in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35):
            assert checks.rule(d, g, tail) == kind, (what, tail)
        assert dynamics.diagnose_history(d, g) == kind, what  # the course's rule agrees
    assert sum(checks.rule(d, g, 1.0) != kind for _, kind, d, g in cases) >= 3


def test_checks_are_deterministic():
    first = checks.histories()
    assert [(w, k, d, g) for w, k, d, g in first] == checks.histories()


# --- the whole class through nbgrader ------------------------------------------------------------

POINTS = {"test_smoothed_discriminator_loss": 3, "test_noisy_labels": 3, "test_diagnose": 3}
STUB = {"smoothed_discriminator_loss": "def smoothed_discriminator_loss(r, f, smooth=0.9):\n"
                                       "    return torch.tensor(0.0, requires_grad=True)",
        "noisy_labels": "def noisy_labels(n, label, flip_prob, generator=None):\n    return torch.ones(n)",
        "diagnose": "def diagnose(d, g):\n    return 'healthy'"}


def _warning_on_every_call(source: str) -> str:
    """A correct answer that also emits a warning whenever it runs (nbgrader zeroes a grade cell that
    writes to stderr, so the grading kernel must silence warnings)."""
    lines = source.strip("\n").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("def ")) + 1
    lines.insert(at, '    warnings.warn("a note from the student", UserWarning)')
    return "import warnings\n" + "\n".join(lines)


CLASS = {
    "alt_bce": Student(answers=CORRECT["bce"], expected="full"),
    "alt_softplus_with_warnings": Student(
        answers={part: _warning_on_every_call(source) for part, source in CORRECT["softplus"].items()},
        expected="full"),
    "alt_logsigmoid": Student(answers=CORRECT["logsigmoid"], expected="full"),
    "wrong_smoothing_and_flips": Student(
        answers={**CORRECT["softplus"],
                 "smoothed_discriminator_loss": WRONG["smoothed_discriminator_loss"]["two_sided"],
                 "noisy_labels": WRONG["noisy_labels"]["deterministic_first_k"]},
        expected={"test_diagnose": 3}),
    "wrong_diagnosis_library_labels": Student(
        answers={**CORRECT["bce"], "diagnose": WRONG["diagnose"]["swapped_verdicts"],
                 "noisy_labels": WRONG["noisy_labels"]["library_wrapper"]},
        expected={"test_smoothed_discriminator_loss": 3}),
    "cheat_allclose": Student(
        answers=STUB, expected=0,
        extra_cells=[(2, "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True")]),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
