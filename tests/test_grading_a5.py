"""Assignment 5 (mode collapse) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a5_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import data, fixes, losses, metrics, nets, train, viz
from tests.a5_submissions import BORROWED, CORRECT, WRONG
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a5_mode_collapse"
NOTEBOOK = "mode_collapse.ipynb"
POINTS = {"test_ReplayBuffer": 3, "test_MinibatchDiscrimination": 3, "test_wasserstein_critic_loss": 2,
          "test_wasserstein_generator_loss": 1, "test_gradient_penalty": 3, "test_truncated_latents": 2}


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "np": np, "scipy": scipy, "data": data,
                 "losses": losses, "metrics": metrics, "nets": nets, "train": train, "viz": viz,
                 "__name__": "__main__"} if namespace is None else namespace
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("ReplayBuffer", "overwrites_one_slot", "not always the same slot"),
    ("gradient_penalty", "eps_middle_of_the_segment", "do not look uniform"),
    ("gradient_penalty", "eps_triangular", "do not look uniform"),
    ("truncated_latents", "redrawn_once_then_uniform", "standard deviation .* truncated by redrawing"),
    ("truncated_latents", "redrawn_ten_times_then_clamped", "exactly at"),
    ("ReplayBuffer", "old_assignment_api", r"ReplayBuffer\(capacity, fraction=0.5, generator=None\)"),
    ("ReplayBuffer", "mix_does_not_store", "mix must also store fakes"),
    ("ReplayBuffer", "never_returns_old", "0 replayed sample"),
    ("ReplayBuffer", "stores_before_drawing", "stored before this call"),
    ("ReplayBuffer", "stores_graph", "autograd graph"),
    ("ReplayBuffer", "stores_views", "changed after they were pushed"),
    ("ReplayBuffer", "ignores_capacity", "at most `capacity`"),
    ("ReplayBuffer", "never_replaces_when_full", "returned only 0 of the 8 samples of the last push"),
    ("ReplayBuffer", "fails_when_empty", "raised"),
    ("ReplayBuffer", "always_same_old_samples", "distinct stored samples"),
    ("ReplayBuffer", "sample_without_replacement", "with replacement"),
    ("ReplayBuffer", "ignores_generator", "equally seeded generators"),
    ("ReplayBuffer", "pushes_the_returned_batch", "not the batch it returns"),
    ("ReplayBuffer", "fraction_ignored", r"fraction=1\.0 it must hold"),
    ("MinibatchDiscrimination", "old_assignment_signature", "num_kernels=8"),
    ("MinibatchDiscrimination", "l2_distance", "L2 distance"),
    ("MinibatchDiscrimination", "one_feature_for_the_batch", "same for every sample"),
    ("MinibatchDiscrimination", "features_detached", "no gradient"),
    ("MinibatchDiscrimination", "T_reshaped", r"self\.T of shape"),
    ("wasserstein_critic_loss", "swapped_sign", "sign is swapped"),
    ("wasserstein_critic_loss", "sums_not_means", "not sums"),
    ("wasserstein_critic_loss", "bce_loss", "no cross-entropy"),
    ("wasserstein_critic_loss", "not_differentiable", "not connected"),
    ("wasserstein_generator_loss", "sigmoid_on_scores", "sigmoid"),
    ("gradient_penalty", "at_real_points", "real points"),
    ("gradient_penalty", "at_fake_points", "fake points"),
    ("gradient_penalty", "squared_norm", "squared norm"),
    ("gradient_penalty", "norm_over_the_batch", "whole batch"),
    ("gradient_penalty", "norm_over_dim_1_only", "dim 1 only"),
    ("gradient_penalty", "mean_of_scores", "sum of the scores"),
    ("gradient_penalty", "wrong_sign", "sign is wrong"),
    ("gradient_penalty", "lambda_inside", "without lambda"),
    ("gradient_penalty", "one_eps_for_the_batch", "one eps per sample"),
    ("gradient_penalty", "eps_per_entry", "same for all of that sample's entries"),
    ("gradient_penalty", "eps_normal", r"U\[0, 1\]"),
    ("gradient_penalty", "eps_half_range", "uniform"),
    ("gradient_penalty", "ignores_generator", "equally seeded generators"),
    ("gradient_penalty", "no_create_graph", "create_graph=True"),
    ("truncated_latents", "clamped", "not clamped"),
    ("truncated_latents", "redrawn_once", "redraw those outside"),
    ("truncated_latents", "uniform", "truncnorm"),
    ("truncated_latents", "redraws_ignore_generator", "equally seeded"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


def test_the_library_counterparts_pass_their_own_judges():
    """The assignment asks for the library's concepts: its objects are correct answers by definition."""
    for part, obj in (("ReplayBuffer", fixes.ReplayBuffer), ("MinibatchDiscrimination", fixes.MinibatchDiscrimination),
                      ("wasserstein_critic_loss", losses.wasserstein_critic_loss),
                      ("wasserstein_generator_loss", losses.wasserstein_generator_loss),
                      ("gradient_penalty", losses.gradient_penalty), ("truncated_latents", fixes.truncated_latents)):
        verdict = judged(ASSIGNMENT, part, obj)
        assert verdict.passed, verdict.message


def test_both_conventions_for_the_self_term_of_minibatch_discrimination_get_full_marks():
    """Leaving j = i out (the notebook's convention) and keeping it (the paper's) differ by exactly 1,
    which the next layer's bias absorbs; any other constant is still wrong."""
    excluded = CORRECT["cat_einsum"]["MinibatchDiscrimination"]
    assert judged(ASSIGNMENT, "MinibatchDiscrimination", define("MinibatchDiscrimination", excluded)).passed
    included = excluded.replace(".sum(0) - 1", ".sum(0)")
    assert judged(ASSIGNMENT, "MinibatchDiscrimination", define("MinibatchDiscrimination", included)).passed
    halfway = excluded.replace(".sum(0) - 1", ".sum(0) - 0.5")
    assert not judged(ASSIGNMENT, "MinibatchDiscrimination", define("MinibatchDiscrimination", halfway)).passed


def test_both_ways_of_weighting_the_interpolates_get_full_marks():
    """eps real + (1 - eps) fake and (1 - eps) real + eps fake have the same law; torch.lerp gives the second."""
    assert "torch.lerp(real, fake, t)" in CORRECT["list_cdist"]["gradient_penalty"]
    lerp = define("gradient_penalty", CORRECT["list_cdist"]["gradient_penalty"])
    assert judged(ASSIGNMENT, "gradient_penalty", lerp).passed


def test_minibatch_discrimination_is_judged_with_the_graders_weights_not_the_recorded_ones():
    """A layer that computes the right features from a frozen copy of its first T (a buffer), not from the
    parameter T, looks right on the probe's own run; the judge reruns the trace with its own T."""
    frozen = CORRECT["cat_einsum"]["MinibatchDiscrimination"].replace(
        "        self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))\n",
        "        self.T = torch.nn.Parameter(0.1 * torch.randn(in_features, num_kernels, kernel_dim))\n"
        "        self.register_buffer('T0', self.T.detach().clone())\n").replace(
        'torch.einsum("na,abc->nbc", x, self.T)', 'torch.einsum("na,abc->nbc", x, self.T0)')
    assert "self.T0)" in frozen
    verdict = judged(ASSIGNMENT, "MinibatchDiscrimination", define("MinibatchDiscrimination", frozen))
    assert not verdict.passed and "with the grader's T" in verdict.message, verdict.message


def test_the_generator_loss_is_judged_with_the_graders_critic_loss_not_the_students_wrong_one():
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math}
    define("wasserstein_critic_loss", WRONG["wasserstein_critic_loss"]["swapped_sign"], namespace)
    generator_loss = define("wasserstein_generator_loss", CORRECT["tutorial"]["wasserstein_generator_loss"], namespace)
    assert not judged(ASSIGNMENT, "wasserstein_critic_loss", namespace["wasserstein_critic_loss"]).passed
    verdict = judged(ASSIGNMENT, "wasserstein_generator_loss", generator_loss)
    assert verdict.passed, verdict.message
    real, fake = torch.tensor([1.0]), torch.tensor([3.0])  # the notebook's own critic loss is back afterwards
    assert namespace["wasserstein_critic_loss"](real, fake).item() == -2.0


def test_the_penalty_is_judged_at_the_points_the_critic_was_called_at_not_at_a_fixed_eps():
    """An eps drawn another way than the instructions' torch.rand(N, generator=generator) (here: one call
    per sample, from the same generator) is still a correct answer."""
    per_sample = CORRECT["cat_einsum"]["gradient_penalty"].replace(
        "torch.rand(real.shape[0], generator=generator)",
        "torch.cat([torch.rand(1, generator=generator) for _ in range(real.shape[0])])")
    verdict = judged(ASSIGNMENT, "gradient_penalty", define("gradient_penalty", per_sample))
    assert verdict.passed, verdict.message


def test_an_extra_call_of_the_critic_does_not_confuse_the_judge():
    """The critic may be called at other points too (here first at the real ones): the judge finds the
    interpolates among the calls and recomputes the penalty there."""
    extra = CORRECT["cat_einsum"]["gradient_penalty"].replace(
        "    (grad,) = torch.autograd.grad(",
        "    critic(real)  # e.g. to log the real scores\n    (grad,) = torch.autograd.grad(")
    assert "critic(real)" in extra
    verdict = judged(ASSIGNMENT, "gradient_penalty", define("gradient_penalty", extra))
    assert verdict.passed, verdict.message


# --- a class graded through nbgrader ------------------------------------------------------------

CLASS = {
    "alt_list_cdist": Student(answers=CORRECT["list_cdist"]),
    "alt_tutorial": Student(answers=CORRECT["tutorial"]),
    "wrong_critic_right_generator": Student(
        answers={**CORRECT["tutorial"], "wasserstein_critic_loss": WRONG["wasserstein_critic_loss"]["swapped_sign"]},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_wasserstein_critic_loss"}),
    # the critic loss never defined: the grader defines its stub under the name, and the generator loss that calls it
    # is judged on its own with the grader's critic loss, lent to that test cell alone
    "undone_critic_right_generator": Student(
        answers={**CORRECT["tutorial"], "wasserstein_critic_loss": "# not done\n"},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_wasserstein_critic_loss"}),
    "wrong_buffer_features_penalty": Student(
        answers={**CORRECT["cat_einsum"], "ReplayBuffer": WRONG["ReplayBuffer"]["old_assignment_api"],
                 "MinibatchDiscrimination": WRONG["MinibatchDiscrimination"]["l2_distance"],
                 "gradient_penalty": WRONG["gradient_penalty"]["at_real_points"]},
        expected={"test_wasserstein_critic_loss": 2, "test_wasserstein_generator_loss": 1,
                  "test_truncated_latents": 2}),
    "library_objects": Student(
        answers={**CORRECT["cat_einsum"], **{part: next(iter(ways.values())) for part, ways in BORROWED.items()}},
        expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


GENERATOR_LOSS_MODULE = """
class WassersteinGeneratorLoss(nn.Module):
    def forward(self, fake_scores):
        return -wasserstein_critic_loss(torch.zeros(1, dtype=fake_scores.dtype), fake_scores)


wasserstein_generator_loss = WassersteinGeneratorLoss()
"""
GENERATOR_LOSS_PARTIAL = """
import functools


def _from_critic(fake_scores, scale):
    return scale * wasserstein_critic_loss(torch.zeros(1, dtype=fake_scores.dtype), fake_scores)


wasserstein_generator_loss = functools.partial(_from_critic, scale=-1.0)
"""


@pytest.mark.parametrize("way", [GENERATOR_LOSS_MODULE, GENERATOR_LOSS_PARTIAL])
def test_a_generator_loss_object_that_calls_a_wrong_critic_loss_is_judged_on_its_own(way):
    """As an nn.Module instance or a functools.partial, the generator loss had been run with the student's wrong critic
    loss, not the grader's: the grader looked for the names it calls only in a plain function's globals (an
    other-style student's report)."""
    namespace = {"torch": torch, "nn": nn, "F": F, "__name__": "__main__"}
    define("wasserstein_critic_loss", WRONG["wasserstein_critic_loss"]["swapped_sign"], namespace)
    verdict = judged(ASSIGNMENT, "wasserstein_generator_loss", define("wasserstein_generator_loss", way, namespace))
    assert verdict.passed, verdict.message
