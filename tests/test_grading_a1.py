"""Assignment 1 (two networks) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a1_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.judges import judge_record
from autograder.probes.record import Record, probe
from gancourse import data, losses, nets, train, viz
from tests.a1_submissions import (
    BORROWED,
    BORROWS_REFERENCES,
    CORRECT,
    FORWARDS_TO_STOLEN,
    KIN,
    SOFTPLUS,
    WRONG,
    move_loss_tests_below_the_step,
)
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a1_two_networks"
NOTEBOOK = "two_networks.ipynb"
POINTS = {"test_discriminator_loss": 3, "test_saturating_generator_loss": 2,
          "test_non_saturating_generator_loss": 2, "test_alternating_step": 5}
LOSS_PARTS = ("discriminator_loss", "saturating_generator_loss", "non_saturating_generator_loss")


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell and correct loss cells) and
    return what it defines."""
    if namespace is None:
        namespace = {"torch": torch, "F": F, "math": math, "data": data, "nets": nets, "viz": viz}
        for name in LOSS_PARTS:  # alternating_step's defaults name the losses of parts 1-3
            exec(SOFTPLUS[name], namespace)
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("discriminator_loss", "naive_log_sigmoid", "numerically stable"),
    ("discriminator_loss", "sigmoid_then_bce", "Stay on logits"),
    ("saturating_generator_loss", "sigmoid_then_bce", "Stay on logits"),
    ("discriminator_loss", "detached_result", "not connected to the logits"),
    ("discriminator_loss", "python_float", "must return a torch tensor"),
    ("discriminator_loss", "per_sample_losses", "a single number"),
    ("discriminator_loss", "sum_not_mean", "expected"),
    ("saturating_generator_loss", "gave_non_saturating", "that is the non-saturating loss"),
    ("non_saturating_generator_loss", "gave_saturating", "that is the saturating loss"),
    ("alternating_step", "missing_detach", r"torch\.no_grad\(\) or pass fake\.detach\(\)"),
    ("alternating_step", "missing_detach_no_zero_grad_g", "reached the generator"),
    ("alternating_step", "swapped_real_fake", r"d_loss_fn\(D\(fake\), D\(real\)\)"),
    ("alternating_step", "ignores_k", r"next_real\(\) was called 1 time\(s\)"),
    ("alternating_step", "reuses_real_batch", r"one real batch reused"),
    ("alternating_step", "reuses_fakes_for_every_d_update", r"sample_z was called 2 time\(s\)"),
    ("alternating_step", "no_zero_grad", "no gradients are ever zeroed"),
    ("alternating_step", "no_zero_grad_d", r"d_opt\.zero_grad\(\)"),
    ("alternating_step", "no_zero_grad_g", r"g_opt\.zero_grad\(\)"),
    ("alternating_step", "zero_grad_after_backward", "discriminator's parameters did not change"),
    ("alternating_step", "generator_first", "updated before the discriminator"),
    ("alternating_step", "updates_d_in_phase_two", "updated again in Phase II"),
    ("alternating_step", "detached_generator_phase", "generator's parameters did not change"),
    ("alternating_step", "ignores_g_loss_fn", "g_loss_fn passed in"),
    ("alternating_step", "ignores_d_loss_fn", "d_loss_fn passed in"),
    ("alternating_step", "returns_tensors", r"use \.item\(\)"),
    ("alternating_step", "returns_losses_only", "has no key 'd_real'"),
    ("alternating_step", "records_mean_logits", "that is the mean logit"),
    ("alternating_step", "records_d_real_after_update", "last discriminator update"),
    ("alternating_step", "wrong_default_k", "default of `k` must be 1"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


def test_the_course_librarys_own_versions_pass_their_judges():
    """The library and the assignment are one concept with one signature: the library's versions are correct answers."""
    for part in LOSS_PARTS:
        assert judged(ASSIGNMENT, part, getattr(losses, part)).passed, part
    assert judged(ASSIGNMENT, "alternating_step", train.alternating_step).passed


def test_alternating_step_is_judged_with_the_graders_losses_not_the_students_wrong_ones():
    namespace = {"torch": torch, "F": F, "math": math}
    define("discriminator_loss", WRONG["discriminator_loss"]["swapped_labels"], namespace)
    define("saturating_generator_loss", WRONG["saturating_generator_loss"]["gave_non_saturating"], namespace)
    define("non_saturating_generator_loss", WRONG["non_saturating_generator_loss"]["gave_saturating"], namespace)
    wrong = {part: namespace[part] for part in LOSS_PARTS}
    step = define("alternating_step", CORRECT["softplus"]["alternating_step"], namespace)
    for part in LOSS_PARTS:
        assert not judged(ASSIGNMENT, part, namespace[part]).passed, part
    assert judged(ASSIGNMENT, "alternating_step", step).passed
    assert {part: namespace[part] for part in LOSS_PARTS} == wrong  # the notebook's own losses are back


def test_a_step_that_calls_the_losses_by_name_runs_with_the_graders_losses():
    """A step whose Phase I calls discriminator_loss by name (not d_loss_fn) gets the library's loss there,
    so a wrong discriminator_loss does not leak into it; ignoring d_loss_fn still fails where it matters."""
    namespace = {"torch": torch, "F": F, "math": math}
    define("discriminator_loss", WRONG["discriminator_loss"]["real_term_only"], namespace)
    for name in LOSS_PARTS[1:]:
        exec(SOFTPLUS[name], namespace)
    source = CORRECT["softplus"]["alternating_step"].replace("d_loss_fn(real_logits, fake_logits)",
                                                             "discriminator_loss(real_logits, fake_logits)")
    verdict = judged(ASSIGNMENT, "alternating_step", define("alternating_step", source, namespace))
    assert not verdict.passed and "d_loss_fn passed in" in verdict.message, verdict.message
    assert "k=3" in verdict.message  # the first two runs (the library's discriminator_loss) passed


def _record(part: str, source: str) -> Record:
    return Record.decode(probe(ASSIGNMENT, part, define(part, source)).encode())


def test_a_record_whose_parameters_were_nudged_fails():
    record = _record("alternating_step", CORRECT["softplus"]["alternating_step"])
    assert judge_record(ASSIGNMENT, "alternating_step", record).passed
    record.arrays["s1/r1/D/2"] = record.arrays["s1/r1/D/2"] + np.float32(1e-3)
    verdict = judge_record(ASSIGNMENT, "alternating_step", record)
    assert not verdict.passed and "discriminator's parameters" in verdict.message, verdict.message


def test_the_judge_replays_the_graders_own_batches_not_the_recorded_ones():
    record = _record("alternating_step", CORRECT["softplus"]["alternating_step"])
    record.arrays["s0/r0/draw0"] = record.arrays["s0/r0/draw0"] * 2
    verdict = judge_record(ASSIGNMENT, "alternating_step", record)
    assert not verdict.passed and "differ from those the grader handed out" in verdict.message, verdict.message


def test_a_loss_record_with_forged_gradients_fails():
    record = _record("discriminator_loss", CORRECT["softplus"]["discriminator_loss"])
    record.arrays["loss/3/grad/1"] = np.zeros_like(record.arrays["loss/3/grad/1"])
    verdict = judge_record(ASSIGNMENT, "discriminator_loss", record)
    assert not verdict.passed and "gradient of discriminator_loss" in verdict.message, verdict.message


# --- a class graded through nbgrader ------------------------------------------------------------

def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


FAKE_PROBE = """import sys, types
fake = types.ModuleType("autograder.probes")
fake.run = lambda assignment, part, *answers: print(f"[{part}] all hidden checks passed")
sys.modules["autograder.probes"] = fake"""

CGAN_ROUND_STEP = """
def alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1,
                     d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss):
    # No GAN code of my own: the course library's cGAN round (gancourse.conditional.cgan_step, not stubbed
    # in a1) played with label-ignoring wrappers, the losses swapped in through the module it reads them from.
    import gancourse.conditional as cond
    saved = (cond.losses.discriminator_loss, cond.losses.non_saturating_generator_loss)
    cond.losses.discriminator_loss, cond.losses.non_saturating_generator_loss = d_loss_fn, g_loss_fn
    G = lambda z, y: generator(z)
    D = lambda x, y: discriminator(x)
    class NoOpt:
        def zero_grad(self, set_to_none=True): pass
        def step(self): pass
    try:
        for i in range(k):
            last = i == k - 1
            real = next_real()
            grads = [None if p.grad is None else p.grad.clone() for p in generator.parameters()]
            phase = {"n": 0}
            def z_source(n):
                phase["n"] += 1
                if phase["n"] == 1 or last:
                    return sample_z(n)
                return torch.zeros(n, next(generator.parameters()).shape[1])
            out = cond.cgan_step(G, D, g_opt if last else NoOpt(), d_opt, real, None, z_source, lambda n: None)
            if not last:
                for p, g in zip(generator.parameters(), grads):
                    p.grad = g
        return out
    finally:
        cond.losses.discriminator_loss, cond.losses.non_saturating_generator_loss = saved
"""

CLASS = {
    "alt_logsigmoid": Student(answers=CORRECT["logsigmoid"]),
    "alt_pytorch_tutorial": Student(answers=CORRECT["bce_module"]),
    "alt_logaddexp": Student(answers=CORRECT["logaddexp"]),
    "wrong_losses_right_step": Student(
        answers={**CORRECT["softplus"], "discriminator_loss": WRONG["discriminator_loss"]["swapped_labels"],
                 "saturating_generator_loss": WRONG["saturating_generator_loss"]["gave_non_saturating"],
                 "non_saturating_generator_loss": WRONG["non_saturating_generator_loss"]["naive_log"]},
        expected={"test_alternating_step": 5}),
    "wrong_step": Student(answers={**CORRECT["bce_module"],
                                   "alternating_step": WRONG["alternating_step"]["no_zero_grad"]},
                          expected={"test_discriminator_loss": 3, "test_saturating_generator_loss": 2,
                                    "test_non_saturating_generator_loss": 2}),
    "library_objects": Student(
        answers={**CORRECT["softplus"], **{part: next(iter(ways.values())) for part, ways in BORROWED.items()}},
        expected=0),
    # The library's functions of the same concept (its private loss helper, the noisy loss with no noise, the
    # shared-fakes round): the part they stand in for gets nothing, the parts written honestly keep their points.
    "library_kin_loss": Student(answers={**CORRECT["softplus"], "discriminator_loss": KIN["discriminator_loss"]},
                                expected={gid: p for gid, p in POINTS.items() if gid != "test_discriminator_loss"}),
    "library_kin_no_noise": Student(
        answers={**CORRECT["softplus"], "discriminator_loss": KIN["discriminator_loss_no_noise"]},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_discriminator_loss"}),
    "library_kin_step": Student(answers={**CORRECT["softplus"], "alternating_step": KIN["alternating_step"]},
                                expected={gid: p for gid, p in POINTS.items() if gid != "test_alternating_step"}),
    # The step played by the library's cGAN round (gancourse.conditional.cgan_step) with label-blind wrappers, the
    # losses swapped into the module it reads them from (an outside gaming pass: 5/5 for the step, which it never
    # wrote): the conditional rounds are the step's kin, stubbed while a1 is graded
    "library_round_of_the_cgan": Student(
        answers={**CORRECT["softplus"], "alternating_step": CGAN_ROUND_STEP},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_alternating_step"}),
    # Part 1 undone; parts 2 and 3 computed with the grader's part 1 (its library file, a fresh import, the name
    # the grader defines): those get nothing, the honest step keeps its points (9/12 before the references were
    # lent to the step's test cell alone).
    "borrows_graders_references": Student(answers={**CORRECT["softplus"], **BORROWS_REFERENCES},
                                          expected={"test_alternating_step": 5}),
    # The loss tests moved below the step's, and a hook that keeps whatever the library lends before each cell: the
    # step's cell is lent nothing (the losses' tests have not run), so there is nothing to keep (7/12 before)
    "moves_tests_below_the_lending_one": Student(answers=FORWARDS_TO_STOLEN, edit=move_loss_tests_below_the_step,
                                                 expected=0),
    # Wrong answers and a fake probe module that prints "passed" (the step passes its visible test): no points.
    "fake_probe": Student(answers={"discriminator_loss": WRONG["discriminator_loss"]["naive_log_sigmoid"],
                                   "saturating_generator_loss": WRONG["saturating_generator_loss"]["naive_log"],
                                   "non_saturating_generator_loss": WRONG["non_saturating_generator_loss"]["naive_log"],
                                   "alternating_step": WRONG["alternating_step"]["no_zero_grad"]},
                          extra_cells=[(2, FAKE_PROBE)], expected=0),
    "deleted_tests": Student(answers=CORRECT["softplus"], edit=_delete_test_cells, expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


@pytest.mark.parametrize("way", ["discriminator_loss", "discriminator_loss_no_noise"])
def test_the_kin_answers_are_the_plain_loss_where_the_library_is_whole(way):
    """Outside the sandbox they are right, so the zero they get in it is the stub's doing."""
    loss = define("discriminator_loss", KIN[way])
    real, fake = torch.randn(32, generator=torch.Generator().manual_seed(0)), torch.randn(32)
    assert torch.allclose(loss(real, fake), losses.discriminator_loss(real, fake))
