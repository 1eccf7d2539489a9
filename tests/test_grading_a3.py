"""Assignment 3 (DCGAN) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a3_submissions.py). The slow
ones grade a small class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import GradingFailure
from autograder.checks import a3 as checks
from gancourse import data, latent, nets, pretrained, viz
from tests.a3_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a3_dcgan"
NOTEBOOK = "dcgan.ipynb"
CHECK = {"Generator": checks.check_Generator, "Discriminator": checks.check_Discriminator,
         "weights_init": checks.check_weights_init, "lerp": checks.check_lerp, "slerp": checks.check_slerp}
POINTS = {"test_Generator": 4, "test_Discriminator": 3, "test_weights_init": 2, "test_lerp": 1, "test_slerp": 2}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "data": data, "pretrained": pretrained, "viz": viz}
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("Generator", "output_batchnorm", "BatchNorm is applied after the generator's last layer"),
    ("Generator", "hand_made_batchnorm_at_output", "zero batch mean"),
    ("Generator", "sigmoid_output", "not sigmoid"),
    ("Generator", "no_tanh", "tanh"),
    ("Generator", "size_32", r"\(16, 1, 32, 32\)"),
    ("Discriminator", "input_batchnorm", "first layer applied to the image is BatchNorm"),
    ("Discriminator", "max_pooling", "MaxPool2d"),
    ("Discriminator", "functional_avg_pooling", "pools its feature maps"),
    ("Discriminator", "sigmoid_output", "no sigmoid"),
    ("weights_init", "std_one", "standard deviation 0.02"),
    ("weights_init", "batchnorm_weight_zero", "expected mean 1.0"),
    ("weights_init", "uniform", "not normally distributed"),
    ("lerp", "swapped_endpoints", "swapped"),
    ("slerp", "normalised_lerp", "straight line rescaled"),
    ("slerp", "nan_when_parallel", "nan or inf"),
    ("Generator", "library_subclass", "built on the course library"),
    ("Discriminator", "library_wrapper", "called the course library"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    with pytest.raises(GradingFailure, match=message):
        CHECK[part](define(part, WRONG[part][mistake]))


def test_library_implementations_work_again_after_a_check_switched_them_off():
    with pytest.raises(GradingFailure):
        checks.check_Generator(define("Generator", WRONG["Generator"]["library_wrapper"]))
    with pytest.raises(GradingFailure):
        checks.check_slerp(define("slerp", WRONG["slerp"]["library_wrapper"]))
    assert nets.DCGANGenerator(width=8)(torch.randn(2, 100)).shape == (2, 1, 28, 28)
    assert latent.slerp(torch.ones(3), torch.ones(3), 0.5).shape == (3,)


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="torch.allclose"):
        checks.check_lerp(define("lerp", CORRECT["sequential"]["lerp"]))


# --- a class graded through nbgrader ------------------------------------------------------------

STUBS = {
    "Generator": "class Generator(nn.Module):\n    def __init__(self, latent_dim=100, width=64):\n"
                 "        super().__init__()\n\n    def forward(self, z):\n"
                 "        return torch.zeros(len(z), 1, 28, 28)",
    "Discriminator": "class Discriminator(nn.Module):\n    def forward(self, x):\n        return torch.zeros(len(x))",
    "weights_init": "def weights_init(module):\n    pass",
    "lerp": "def lerp(z0, z1, t):\n    return z0",
    "slerp": "def slerp(z0, z1, t):\n    return z0",
}
CHEAT_CELL = ("torch.allclose = lambda *a, **k: True\n"
              "torch.isclose = lambda a, b, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)")

CLASS = {
    "alt_convolutional": Student(answers=CORRECT["convolutional"]),
    "alt_functional": Student(answers=CORRECT["functional"]),
    "wrong_architecture": Student(
        answers={**CORRECT["functional"], "Generator": WRONG["Generator"]["output_batchnorm"],
                 "Discriminator": WRONG["Discriminator"]["max_pooling"],
                 "slerp": WRONG["slerp"]["normalised_lerp"]},
        expected={"test_weights_init": 2, "test_lerp": 1}),
    "wrong_details": Student(
        answers={**CORRECT["convolutional"], "Generator": WRONG["Generator"]["sigmoid_output"],
                 "weights_init": WRONG["weights_init"]["std_one"], "lerp": WRONG["lerp"]["swapped_endpoints"]},
        expected={"test_Discriminator": 3, "test_slerp": 2}),
    "library_objects": Student(
        answers={**CORRECT["sequential"], "Discriminator": WRONG["Discriminator"]["library_subclass"],
                 "weights_init": WRONG["weights_init"]["library_wrapper"], "slerp": WRONG["slerp"]["library_object"]},
        expected={"test_Generator": 4, "test_lerp": 1}),
    "cheat_allclose": Student(answers=STUBS, extra_cells=[(2, CHEAT_CELL)], expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
