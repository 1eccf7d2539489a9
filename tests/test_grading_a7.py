"""Assignment 7 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a7_submissions.py). The slow
ones grade a small class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import GradingFailure
from autograder.checks import a7 as checks
from gancourse import cyclegan, stylegan
from tests.a7_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a7_beyond"
NOTEBOOK = "beyond.ipynb"
CHECK = {"adain": checks.check_adain,
         "NoiseInjection": checks.check_NoiseInjection,
         "cycle_consistency_loss": checks.check_cycle_consistency_loss}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "F": F, "nn": nn, "math": math, "np": np, "__name__": "__main__"}
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part", sorted(CHECK))
def test_library_answers_are_refused_and_the_library_works_afterwards(part):
    for mistake in ("library_object", "library_wrapper"):
        with pytest.raises(GradingFailure, match="library|gancourse"):
            CHECK[part](define(part, WRONG[part][mistake]))
    x = torch.randn(2, 3, 4, 4)
    out = stylegan.adain(x, torch.ones(2, 3), torch.zeros(2, 3))
    assert out.mean().abs() < 1e-5
    assert torch.equal(stylegan.NoiseInjection(3)(x), x)
    identity = nn.Identity()
    assert cyclegan.cycle_consistency_loss(x, x, identity, identity).item() == 0.0


def test_failure_messages_say_what_was_observed():
    cases = [("adain", "over_batch", "batch norm"),
             ("adain", "over_channels_layer_norm", "layer norm"),
             ("adain", "scale_bias_swapped", "swapped"),
             ("adain", "unbiased_variance", "unbiased"),
             ("NoiseInjection", "noise_per_channel", "differs between channels"),
             ("NoiseInjection", "same_noise_every_sample", "same noise"),
             ("NoiseInjection", "weight_not_learnable", "nn.Parameter"),
             ("cycle_consistency_loss", "forward_cycle_only", "two cycles"),
             ("cycle_consistency_loss", "lam_one_by_default", "lam = 10"),
             ("cycle_consistency_loss", "l2_not_l1", "L1")]
    for part, mistake, words in cases:
        with pytest.raises(GradingFailure, match=words):
            CHECK[part](define(part, WRONG[part][mistake]))


def test_the_check_runs_student_code_only_with_the_library_switched_off():
    """A module that builds the library's layer lazily, in forward, is caught too."""
    lazy = WRONG["NoiseInjection"]["library_wrapper"].replace(
        "        self.inner = _sg.NoiseInjection(channels)\n",
        "        self.weight = nn.Parameter(torch.zeros(channels))\n").replace(
        "return self.inner(x, noise)", "return _sg.NoiseInjection.forward(self, x, noise)")
    with pytest.raises(GradingFailure, match="library"):
        checks.check_NoiseInjection(define("NoiseInjection", lazy))


# --- the whole class through nbgrader ------------------------------------------------------------

POINTS = {"test_adain": 4, "test_NoiseInjection": 3, "test_cycle_consistency_loss": 3}


def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


CLASS = {
    "alt_library_style": Student(answers=CORRECT["library_style"], expected="full"),
    "alt_flattened": Student(answers=CORRECT["flattened"], expected="full"),
    "wrong_adain_and_cycle": Student(
        answers={**CORRECT["direct"], "adain": WRONG["adain"]["over_batch"],
                 "cycle_consistency_loss": WRONG["cycle_consistency_loss"]["forward_cycle_only"]},
        expected={"test_NoiseInjection": 3}),
    "wrong_noise_library_adain": Student(
        answers={**CORRECT["flattened"], "NoiseInjection": WRONG["NoiseInjection"]["noise_per_channel"],
                 "adain": WRONG["adain"]["library_wrapper"]},
        expected={"test_cycle_consistency_loss": 3}),
    "deleted_tests": Student(answers=CORRECT["direct"], edit=_delete_test_cells, expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
