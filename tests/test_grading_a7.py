"""Assignment 7 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a7_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.judges import judge_record
from autograder.probes import counterparts
from autograder.probes.record import Record, probe
from gancourse import data
from tests.a7_submissions import BORROWED, CORRECT, WRONG
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a7_beyond"
NOTEBOOK = "beyond.ipynb"
POINTS = {"test_adain": 4, "test_NoiseInjection": 3, "test_cycle_consistency_loss": 3}


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "np": np, "plt": plt,
                 "data": data} if namespace is None else namespace
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("adain", "over_batch", "batch norm"),
    ("adain", "over_channels_layer_norm", "layer norm"),
    ("adain", "scale_bias_swapped", "swapped"),
    ("adain", "unbiased_variance", "unbiased"),
    # the four values shown agree to 0.002; the message also names where they differ most (an other-style student)
    ("adain", "unbiased_variance", r"the largest difference is at index \(0, 2, 2, 3\): expected -9.6075, got -9.4278"),
    ("adain", "reference_code_unbiased", "unbiased"),
    ("adain", "eps_outside_sqrt", "inside the square root"),
    ("adain", "default_eps_differs", r"eps=1e-5"),
    ("adain", "no_style", "without the style"),
    ("adain", "detached_style", "no gradient reaches `scale`"),
    ("adain", "numpy", "no gradient reaches `x`"),
    ("adain", "in_place", "in place"),
    ("NoiseInjection", "noise_per_channel", "differs between channels"),
    ("NoiseInjection", "same_noise_every_sample", "same noise"),
    ("NoiseInjection", "same_noise_every_pixel", "every position"),
    ("NoiseInjection", "weight_not_learnable", "nn.Parameter"),
    ("NoiseInjection", "weight_plain_tensor", "nn.Parameter"),
    ("NoiseInjection", "weight_frozen", "does not require gradients"),
    ("NoiseInjection", "weight_detached", "no gradient reaches the noise weight"),
    ("NoiseInjection", "weight_starts_at_one", "start at zero"),
    ("NoiseInjection", "one_weight_for_all_channels", "one value per channel"),
    ("NoiseInjection", "uniform_noise", "standard Gaussian"),
    ("NoiseInjection", "half_scale_noise", "standard deviation 0.50"),
    ("NoiseInjection", "sign_noise", "not Gaussian"),
    ("NoiseInjection", "noise_drawn_once", "fresh noise at every call"),
    ("NoiseInjection", "ignores_given_noise", "draws random numbers although `noise` was given"),
    ("NoiseInjection", "noise_argument_renamed", r"forward\(x, noise=None\)"),
    ("NoiseInjection", "channels_argument_renamed", "channels"),
    ("cycle_consistency_loss", "forward_cycle_only", "two cycles"),
    ("cycle_consistency_loss", "ignores_lam", "without the factor lam"),
    ("cycle_consistency_loss", "lam_one_by_default", "lam` with default 10"),
    ("cycle_consistency_loss", "l2_not_l1", "L1"),
    ("cycle_consistency_loss", "sum_not_mean", "that is a sum"),
    ("cycle_consistency_loss", "one_mean_over_both", "one mean over both"),
    ("cycle_consistency_loss", "averaged_cycles", "average of the two cycles"),
    ("cycle_consistency_loss", "detached_generators", "gradient of cycle_consistency_loss"),
    ("cycle_consistency_loss", "returns_a_float", "must return a tensor"),
    ("cycle_consistency_loss", "per_sample_losses", "single number"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


def test_the_counterparts_are_the_librarys_objects_of_the_same_name_and_signature():
    import inspect

    from autograder.probes.record import reference

    table = counterparts(ASSIGNMENT)
    assert sorted(table) == sorted(k.removeprefix("test_") for k in POINTS)
    solution = {part: define(part, CORRECT["direct"][part]) for part in table}
    for part, target in table.items():
        library = reference(target)
        assert library.__name__ == part
        mine, theirs = inspect.signature(solution[part]), inspect.signature(library)
        assert list(mine.parameters) == list(theirs.parameters), part
        assert [p.default for p in mine.parameters.values()] == [p.default for p in theirs.parameters.values()]
    assert list(inspect.signature(solution["NoiseInjection"].forward).parameters) == \
        list(inspect.signature(reference(table["NoiseInjection"]).forward).parameters)


def test_the_noise_layer_is_judged_on_noise_the_judge_draws_not_on_recorded_outputs():
    """The probe sends graphs, not noise: a record whose graph draws no noise cannot pass, and two
    judgings of the same record agree (the judge's draws are seeded)."""
    layer = define("NoiseInjection", CORRECT["direct"]["NoiseInjection"])
    record = probe(ASSIGNMENT, "NoiseInjection", layer)
    assert not any(key.startswith("drawn/") and "noise" in key for key in record.arrays)
    first = judge_record(ASSIGNMENT, "NoiseInjection", Record.decode(record.encode()))
    again = judge_record(ASSIGNMENT, "NoiseInjection", Record.decode(record.encode()))
    assert first.passed and again.passed
    fixed = define("NoiseInjection", WRONG["NoiseInjection"]["noise_drawn_once"])
    assert not judged(ASSIGNMENT, "NoiseInjection", fixed).passed


def test_the_cycle_loss_is_judged_against_the_judges_own_recomputation():
    """The judge rebuilds the grader's generators and recomputes loss and gradients: a record with a loss or
    a gradient changed fails, and so does an answer that computes a consistent loss with other weights."""
    honest = define("cycle_consistency_loss", CORRECT["direct"]["cycle_consistency_loss"])
    record = probe(ASSIGNMENT, "cycle_consistency_loss", honest)
    assert judge_record(ASSIGNMENT, "cycle_consistency_loss", Record.decode(record.encode())).passed
    for key, change in (("loss/0", lambda v: v * 1.001), ("grad/0/g_ab.weight", np.zeros_like)):
        forged = Record.decode(record.encode())
        forged.arrays[key] = change(forged.arrays[key])
        verdict = judge_record(ASSIGNMENT, "cycle_consistency_loss", forged)
        assert not verdict.passed, key
    assert "G_AB's weight" in verdict.message
    other_weights = define("cycle_consistency_loss", CORRECT["direct"]["cycle_consistency_loss"].replace(
        "    forward_cycle =", "    with torch.no_grad():\n"
        "        for p in [*g_ab.parameters(), *g_ba.parameters()]:\n"
        "            p.fill_(0.5)\n"
        "    forward_cycle =", 1))
    assert not judged(ASSIGNMENT, "cycle_consistency_loss", other_weights).passed


def test_each_part_is_judged_on_its_own():
    """No part uses another: a notebook whose adain is wrong still earns the other two parts, judged on
    the same namespace."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "np": np}
    define("adain", WRONG["adain"]["over_batch"], namespace)
    layer = define("NoiseInjection", CORRECT["tutorial"]["NoiseInjection"], namespace)
    loss = define("cycle_consistency_loss", CORRECT["tutorial"]["cycle_consistency_loss"], namespace)
    assert not judged(ASSIGNMENT, "adain", namespace["adain"]).passed
    assert judged(ASSIGNMENT, "NoiseInjection", layer).passed
    assert judged(ASSIGNMENT, "cycle_consistency_loss", loss).passed


@pytest.mark.parametrize("part,source", [
    ("adain", CORRECT["direct"]["adain"]), ("adain", WRONG["adain"]["eps_outside_sqrt"]),
    ("NoiseInjection", CORRECT["flattened"]["NoiseInjection"]),
    ("NoiseInjection", WRONG["NoiseInjection"]["half_scale_noise"]),
    ("cycle_consistency_loss", CORRECT["tutorial"]["cycle_consistency_loss"]),
    ("cycle_consistency_loss", WRONG["cycle_consistency_loss"]["averaged_cycles"]),
])
def test_verdicts_repeat_exactly(part, source):
    """Probes and judges are seeded: the noise the judge draws included, a rerun gives the same verdict."""
    verdicts = {(v.passed, v.message) for v in (judged(ASSIGNMENT, part, define(part, source)) for _ in range(3))}
    assert len(verdicts) == 1, verdicts


# --- a class graded through nbgrader ------------------------------------------------------------

def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


CLASS = {
    "alt_library_style": Student(answers=CORRECT["library_style"]),
    "alt_flattened": Student(answers=CORRECT["flattened"]),
    "alt_tutorial": Student(answers=CORRECT["tutorial"]),
    "wrong_adain_and_cycle": Student(
        answers={**CORRECT["direct"], "adain": WRONG["adain"]["over_batch"],
                 "cycle_consistency_loss": WRONG["cycle_consistency_loss"]["forward_cycle_only"]},
        expected={"test_NoiseInjection": 3}),
    "wrong_noise": Student(
        answers={**CORRECT["flattened"], "NoiseInjection": WRONG["NoiseInjection"]["noise_per_channel"]},
        expected={"test_adain": 4, "test_cycle_consistency_loss": 3}),
    "library_objects": Student(
        answers={**CORRECT["direct"], **{part: next(iter(ways.values())) for part, ways in BORROWED.items()}},
        expected=0),
    "library_wrappers": Student(
        answers={part: list(ways.values())[-1] for part, ways in BORROWED.items()}, expected=0),
    "deleted_tests": Student(answers=CORRECT["direct"], edit=_delete_test_cells, expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


def test_a_mismatch_past_the_first_values_shown_is_named_with_its_index():
    """assert_close shows four values; where they agree and the mismatch is elsewhere it names the worst entry."""
    from autograder.judges import GradingFailure, assert_close

    expected = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    got = expected.copy()
    got[1, 2, 3] += 0.5
    with pytest.raises(GradingFailure, match=r"largest difference is at index \(1, 2, 3\): expected 23, got 23\.5"):
        assert_close(got, expected, "x")
    got = expected.copy()
    got[0, 0, 1] += 0.5  # among the four shown: no extra clause
    with pytest.raises(GradingFailure) as err:
        assert_close(got, expected, "x")
    assert "largest difference" not in str(err.value)
