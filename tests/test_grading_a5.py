"""Assignment 5 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a5_submissions.py). The slow
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
from autograder.checks import a5 as checks
from gancourse import fixes, losses
from tests.a5_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a5_mode_collapse"
NOTEBOOK = "mode_collapse.ipynb"
CHECK = {"ReplayBuffer": checks.check_replay_buffer,
         "MinibatchDiscrimination": checks.check_minibatch_discrimination,
         "wasserstein_critic_loss": checks.check_wasserstein_critic_loss,
         "wasserstein_generator_loss": checks.check_wasserstein_generator_loss,
         "gradient_penalty": checks.check_gradient_penalty,
         "truncated_latents": checks.check_truncated_latents}
POINTS = {"test_ReplayBuffer": 3, "test_MinibatchDiscrimination": 3, "test_wasserstein_critic_loss": 2,
          "test_wasserstein_generator_loss": 1, "test_gradient_penalty": 3, "test_truncated_latents": 2}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "F": F, "nn": nn, "math": math, "np": np, "losses": losses, "__name__": "__main__"}
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part", sorted(CHECK))
def test_library_answers_are_refused_and_the_library_works_afterwards(part):
    for mistake in ("library_object", "library_wrapper"):
        if mistake in WRONG[part]:
            with pytest.raises(GradingFailure, match="library|gancourse"):
                CHECK[part](define(part, WRONG[part][mistake]))
    buffer = fixes.ReplayBuffer(capacity=4, fraction=1.0)
    buffer.push(torch.zeros(4, 2))
    assert torch.equal(buffer.mix(torch.ones(2, 2)), torch.zeros(2, 2))
    assert fixes.MinibatchDiscrimination(3, 2, 2)(torch.randn(5, 3)).shape == (5, 5)
    assert losses.wasserstein_critic_loss(torch.tensor([2.0]), torch.tensor([1.0])).item() == -1.0
    assert losses.wasserstein_generator_loss(torch.tensor([2.0])).item() == -2.0
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    assert abs(losses.gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2)).item() - 16.0) < 1e-4
    assert fixes.truncated_latents(10, 3, 0.5).abs().max() <= 0.5


def test_both_conventions_for_the_self_term_of_minibatch_discrimination_get_full_marks():
    """Leaving j = i out (the notebook's convention) and keeping it (the paper's) differ by exactly 1,
    which the next layer's bias absorbs; mixing conventions within one batch is still wrong."""
    excluded = CORRECT["cat_einsum"]["MinibatchDiscrimination"]
    checks.check_minibatch_discrimination(define("MinibatchDiscrimination", excluded))
    checks.check_minibatch_discrimination(define("MinibatchDiscrimination", excluded.replace(".sum(0) - 1", ".sum(0)")))
    with pytest.raises(GradingFailure):
        checks.check_minibatch_discrimination(define("MinibatchDiscrimination",
                                                     excluded.replace(".sum(0) - 1", ".sum(0) - 0.5")))


def test_both_ways_of_weighting_the_interpolates_get_full_marks():
    """eps real + (1 - eps) fake and (1 - eps) real + eps fake have the same law; torch.lerp gives the second."""
    assert "torch.lerp(real, fake, t)" in CORRECT["list_cdist"]["gradient_penalty"]
    checks.check_gradient_penalty(define("gradient_penalty", CORRECT["list_cdist"]["gradient_penalty"]))


def test_failure_messages_say_what_was_observed():
    cases = [("ReplayBuffer", "never_returns_old", "0 replayed sample"),
             ("ReplayBuffer", "stores_graph", "detached"),
             ("ReplayBuffer", "stores_views", "clone"),
             ("ReplayBuffer", "ignores_capacity", "capacity 12"),
             ("ReplayBuffer", "mix_also_pushes", "empty buffer"),
             ("MinibatchDiscrimination", "l2_distance", "L2 distance"),
             ("MinibatchDiscrimination", "one_feature_for_the_batch", "same for every sample"),
             ("wasserstein_critic_loss", "swapped_sign", "expected"),
             ("wasserstein_generator_loss", "sigmoid_on_scores", "sigmoid"),
             ("gradient_penalty", "at_real_points", "real points"),
             ("gradient_penalty", "at_fake_points", "fake points"),
             ("gradient_penalty", "squared_norm", "squared norm"),
             ("gradient_penalty", "norm_over_the_batch", "whole batch"),
             ("gradient_penalty", "wrong_sign", "sign is wrong"),
             ("gradient_penalty", "one_eps_for_the_batch", "one eps per sample"),
             ("gradient_penalty", "no_create_graph", "create_graph=True"),
             ("truncated_latents", "clamped", "not clamped"),
             ("truncated_latents", "redrawn_once", "redraw those outside"),
             ("truncated_latents", "uniform", "truncnorm"),
             ("truncated_latents", "redraws_ignore_generator", "equally seeded")]
    for part, mistake, words in cases:
        with pytest.raises(GradingFailure, match=words):
            CHECK[part](define(part, WRONG[part][mistake]))


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="torch.allclose"):
        checks.check_truncated_latents(define("truncated_latents", CORRECT["cat_einsum"]["truncated_latents"]))


# --- the whole class through nbgrader ------------------------------------------------------------

STUB = {
    "ReplayBuffer": ("class ReplayBuffer:\n    def __init__(self, capacity):\n        self.n = 0\n"
                     "    def __len__(self):\n        return self.n\n    def push(self, fakes):\n        pass\n"
                     "    def mix(self, fakes, fraction=0.5):\n        return fakes"),
    "MinibatchDiscrimination": ("class MinibatchDiscrimination(nn.Module):\n"
                                "    def __init__(self, a, b, c):\n        super().__init__()\n"
                                "        self.T = nn.Parameter(torch.zeros(a, b, c))\n"
                                "    def forward(self, x):\n"
                                "        return torch.cat([x, torch.ones(len(x), self.T.shape[1])], 1)"),
    "wasserstein_critic_loss": "def wasserstein_critic_loss(r, f):\n    return torch.tensor(0.0, requires_grad=True)",
    "wasserstein_generator_loss": ("def wasserstein_generator_loss(f):\n"
                                   "    return torch.tensor(0.0, requires_grad=True)"),
    "gradient_penalty": "def gradient_penalty(critic, real, fake, generator=None):\n"
                        "    return torch.tensor(4.0, requires_grad=True)",
    "truncated_latents": ("def truncated_latents(n, dim, threshold, generator=None):\n"
                          "    return torch.zeros(n, dim)"),
}

CLASS = {
    "alt_cat_einsum": Student(answers=CORRECT["cat_einsum"], expected="full"),
    "alt_list_cdist": Student(answers=CORRECT["list_cdist"], expected="full"),
    "wrong_buffer_features_penalty": Student(
        answers={**CORRECT["cat_einsum"], "ReplayBuffer": WRONG["ReplayBuffer"]["stores_graph"],
                 "MinibatchDiscrimination": WRONG["MinibatchDiscrimination"]["l2_distance"],
                 "gradient_penalty": WRONG["gradient_penalty"]["at_real_points"]},
        expected={"test_wasserstein_critic_loss": 2, "test_wasserstein_generator_loss": 1,
                  "test_truncated_latents": 2}),
    "wrong_losses_clamp_library_buffer": Student(
        answers={**CORRECT["list_cdist"], "ReplayBuffer": WRONG["ReplayBuffer"]["library_wrapper"],
                 "wasserstein_critic_loss": WRONG["wasserstein_critic_loss"]["swapped_sign"],
                 "wasserstein_generator_loss": WRONG["wasserstein_generator_loss"]["sigmoid_on_scores"],
                 "truncated_latents": WRONG["truncated_latents"]["clamped"]},
        expected={"test_MinibatchDiscrimination": 3, "test_gradient_penalty": 3}),
    "cheat_allclose_with_stubs": Student(
        answers=STUB, expected=0,
        extra_cells=[(2, "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True")]),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
