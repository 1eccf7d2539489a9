"""Assignment 2 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a2_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import inspect
import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.judges import a2 as judges
from autograder.judges import judge_record
from autograder.probes import a2 as probes
from autograder.probes import counterparts
from autograder.probes.record import Record, probe, salted_generator
from gancourse import dynamics, losses
from tests.a2_submissions import BORROWED, CORRECT, KIN, WRONG
from tests.conftest import REPO
from tests.grading_harness import Student, answer_ids, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a2_troubles"
NOTEBOOK = "troubles.ipynb"
POINTS = {"test_smoothed_discriminator_loss": 3, "test_flipped_labels": 3, "test_diagnose_history": 3}
LIBRARY = {"smoothed_discriminator_loss": losses.smoothed_discriminator_loss, "flipped_labels": losses.flipped_labels,
           "diagnose_history": dynamics.diagnose_history}


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "F": F, "math": math, "np": np} if namespace is None else namespace
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("flipped_labels", "exact_count_of_flips", r"exactly round\(flip_prob \* n\)"),
    ("diagnose_history", "median_of_the_tail", "spike"),
    ("smoothed_discriminator_loss", "two_sided", "one-sided"),
    ("smoothed_discriminator_loss", "swapped_labels", "swapped"),
    ("smoothed_discriminator_loss", "sum_not_mean", "mean over its batch"),
    ("smoothed_discriminator_loss", "one_mean_over_both", "one mean over the real and fake logits together"),
    ("smoothed_discriminator_loss", "smooths_to_one_minus", "real targets 0.1"),
    ("smoothed_discriminator_loss", "ignores_real_target", "use the `real_target` you are given"),
    ("smoothed_discriminator_loss", "unsmoothed", "unsmoothed loss"),
    ("smoothed_discriminator_loss", "naive_log_sigmoid", "numerically stable"),
    ("smoothed_discriminator_loss", "old_parameter_name", r"real_target=0\.9\), with the names and defaults"),
    ("smoothed_discriminator_loss", "detached", "not connected to the logits"),
    ("smoothed_discriminator_loss", "per_sample", "single number"),
    ("smoothed_discriminator_loss", "one_element_vector", "drop the extra dimension"),
    ("flipped_labels", "flips_with_one_minus_p", "flip_prob=0 no label may flip"),
    ("flipped_labels", "deterministic_first_k", "not spread at random"),
    ("flipped_labels", "deterministic_every_kth", "neighbouring pairs"),
    ("flipped_labels", "one_draw_for_all", r"should flip with probability \d+%"),
    ("flipped_labels", "ignores_generator", "seeded alike"),
    ("flipped_labels", "numpy_random", "seeded alike"),
    ("flipped_labels", "reseeds_from_generator", "fresh at every call"),
    ("flipped_labels", "new_generator_when_none", "generator=None, two calls in a row"),
    ("flipped_labels", "noise_not_flips", "must be the label 1 or its flip 0"),
    ("flipped_labels", "boolean_labels", "floating-point"),
    ("flipped_labels", "column_of_labels", r"shape \(1,\)"),
    ("diagnose_history", "swapped_verdicts", "should say 'd-wins', got 'g-wins'"),
    ("diagnose_history", "whole_history", "for 300 steps, then"),
    ("diagnose_history", "equilibrium_as_threshold", "should say 'healthy', got 'd-wins'"),
    ("diagnose_history", "ignores_tail", "average over the fraction `tail`"),
    ("diagnose_history", "no_tail_argument", r"diagnose_history\(d_losses, g_losses, tail=0\.25\)"),
    ("diagnose_history", "g_checked_first", "both losses are low"),
    ("diagnose_history", "no_minimum_of_one", "3-step run"),
    ("diagnose_history", "other_words", "one of the strings"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


# --- one vocabulary: the assignment's parts are the library's functions ---------------------------------

def test_each_part_has_the_name_and_signature_of_its_library_counterpart():
    """The answer cells are named after the library's functions and the solution has their signatures."""
    table = counterparts(ASSIGNMENT)
    assert sorted(table) == sorted(answer_ids(REPO / "solutions" / ASSIGNMENT / NOTEBOOK)) == sorted(LIBRARY)
    nb = nbformat.read(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    namespace = {"torch": torch, "F": F, "math": math, "np": np}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)
    for part, target in table.items():
        module, _, name = target.rpartition(".")
        assert getattr(__import__(module, fromlist=[name]), name) is LIBRARY[part]
        ours, theirs = inspect.signature(namespace[part]), inspect.signature(LIBRARY[part])
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], part


@pytest.mark.parametrize("part", sorted(LIBRARY))
def test_the_library_passes_the_judge_so_library_and_assignment_mean_the_same(part):
    verdict = judged(ASSIGNMENT, part, LIBRARY[part])
    assert verdict.passed, verdict.message


def test_every_hidden_history_gets_the_same_verdict_from_the_library_and_the_judge():
    for what, d, g in probes.histories():
        assert dynamics.diagnose_history(d, g) == judges.rule(d, g), what
    for what, d, g, tail, _ in probes.tail_cases():
        assert dynamics.diagnose_history(d, g, tail) == judges.rule(d, g, tail), (what, tail)


# --- the hidden inputs -------------------------------------------------------------------------------

def _tail_readings(steps: int, tail: float, spread: float) -> set[int]:
    """Tail lengths a reasonable reading gives: floor or ceil of tail * steps (times 1 +- spread), at least one."""
    lengths = set()
    for factor in np.linspace(1 - spread, 1 + spread, 9):
        x = tail * steps * factor
        lengths |= {max(1, math.floor(x)), max(1, math.ceil(x)), max(1, round(x))}
    return {min(k, steps) for k in lengths}


def _verdict(d: list[float], g: list[float], k: int) -> str:
    if np.mean(d[-k:]) < math.log(2):
        return "d-wins"
    return "g-wins" if np.mean(g[-k:]) < math.log(2) / 2 else "healthy"


def test_hidden_histories_have_a_verdict_that_does_not_hinge_on_how_the_tail_is_rounded():
    """Rounding tail * steps either way (and, on runs of 40 steps or more, any tail from 60 % to 140 % of the
    asked one; 80 % to 120 % on the tail cases) gives the judge's verdict; a whole-history mean disagrees."""
    cases = probes.histories()
    for what, d, g in cases:
        spread = 0.4 if len(d) >= 40 else 0.0
        assert {_verdict(d, g, k) for k in _tail_readings(len(d), 0.25, spread)} == {judges.rule(d, g)}, what
    assert {judges.rule(d, g) for _, d, g in cases} == set(judges.VERDICTS)
    assert sum(judges.rule(d, g, 1.0) != judges.rule(d, g) for _, d, g in cases) >= 3
    for what, d, g, tail, _ in probes.tail_cases():
        assert {_verdict(d, g, k) for k in _tail_readings(len(d), tail, 0.2)} == {judges.rule(d, g, tail)}, \
            (what, tail)


def test_the_tail_cases_change_their_verdict_with_the_tail():
    by_run: dict[str, set[str]] = {}
    for what, d, g, tail, _ in probes.tail_cases():
        by_run.setdefault(what, set()).add(judges.rule(d, g, tail))
        if tail != 0.25:
            by_run[what].add(judges.rule(d, g))
    assert all(len(verdicts) >= 2 for verdicts in by_run.values()), by_run


def test_probe_inputs_are_deterministic():
    assert [(w, d, g) for w, d, g in probes.histories()] == probes.histories()
    assert probes.tail_cases() == probes.tail_cases()
    assert probes.label_calls() == probes.label_calls()
    first, second = probes.loss_cases(), probes.loss_cases()
    assert all(torch.equal(a[2], b[2]) and torch.equal(a[3], b[3]) for a, b in zip(first, second))


def test_probing_a_correct_answer_twice_sends_identical_data():
    flips = define("flipped_labels", CORRECT["softplus"]["flipped_labels"])
    one, two = probe(ASSIGNMENT, "flipped_labels", flips), probe(ASSIGNMENT, "flipped_labels", flips)
    assert one.facts == two.facts and one.arrays.keys() == two.arrays.keys()
    assert all(np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)


# --- forged or missing data earns nothing ----------------------------------------------------------------

@pytest.mark.parametrize("part", sorted(LIBRARY))
def test_an_empty_record_fails_every_part(part):
    assert not judge_record(ASSIGNMENT, part, Record()).passed


def test_labels_from_a_generator_the_answer_never_drew_from_fail():
    """A forged record with good statistics but the same labels at every call is caught, and so is one that
    left the grader's generator untouched."""
    flips = define("flipped_labels", CORRECT["softplus"]["flipped_labels"])
    record = Record.decode(probe(ASSIGNMENT, "flipped_labels", flips).encode())
    record.arrays["again/1"] = record.arrays["again/0"].copy()
    assert "fresh at every call" in judge_record(ASSIGNMENT, "flipped_labels", record).message
    record = Record.decode(probe(ASSIGNMENT, "flipped_labels", flips).encode())
    record.arrays["seed/0/state"] = salted_generator(5).get_state().numpy()  # as the grader handed it over
    assert "left untouched" in judge_record(ASSIGNMENT, "flipped_labels", record).message


def test_a_verdict_claimed_without_a_string_fails():
    answer = define("diagnose_history", CORRECT["softplus"]["diagnose_history"])
    record = Record.decode(probe(ASSIGNMENT, "diagnose_history", answer).encode())
    record.facts["history/0"] = {"type": "bool", "value": True}
    assert not judge_record(ASSIGNMENT, "diagnose_history", record).passed


# --- each part is judged on its own ------------------------------------------------------------------

def test_no_part_uses_another_so_each_probe_calls_only_its_own_answer():
    """Assignment 2's parts do not call each other: a wrong answer to one part leaves the others' verdicts."""
    namespace = {"torch": torch, "F": F, "math": math, "np": np}
    for part in LIBRARY:
        define(part, next(iter(WRONG[part].values())), namespace)
    assert not any(judged(ASSIGNMENT, part, namespace[part]).passed for part in LIBRARY)
    for part in LIBRARY:
        assert judged(ASSIGNMENT, part, define(part, CORRECT["bce"][part], dict(namespace))).passed


# --- a class graded through nbgrader ------------------------------------------------------------

STUB = {"smoothed_discriminator_loss": "def smoothed_discriminator_loss(r, f, real_target=0.9):\n"
                                       "    return torch.tensor(0.0, requires_grad=True)",
        "flipped_labels": "def flipped_labels(n, label, flip_prob, generator=None):\n    return torch.ones(n)",
        "diagnose_history": "def diagnose_history(d, g, tail=0.25):\n    return 'healthy'"}


def _warning_on_every_call(source: str) -> str:
    """A correct answer that also emits a warning whenever it runs (nbgrader zeroes a grade cell that
    writes to stderr, so the grading kernel must silence warnings)."""
    lines = source.strip("\n").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("def ")) + 1
    lines.insert(at, '    warnings.warn("a note from the student", UserWarning)')
    return "import warnings\n" + "\n".join(lines)


CLASS = {
    # the library's private loss helper given a target of alpha: the smoothed part gets nothing
    "library_kin": Student(answers={**CORRECT["softplus"], **KIN},
                           expected={"test_flipped_labels": 3, "test_diagnose_history": 3}),
    "alt_bce": Student(answers=CORRECT["bce"]),
    "alt_logsigmoid": Student(answers=CORRECT["logsigmoid"]),
    "alt_tutorial": Student(answers=CORRECT["tutorial"]),
    "alt_softplus_with_warnings": Student(
        answers={part: _warning_on_every_call(source) for part, source in CORRECT["softplus"].items()}),
    "wrong_smoothing_and_flips": Student(
        answers={**CORRECT["softplus"],
                 "smoothed_discriminator_loss": WRONG["smoothed_discriminator_loss"]["two_sided"],
                 "flipped_labels": WRONG["flipped_labels"]["deterministic_first_k"]},
        expected={"test_diagnose_history": 3}),
    "wrong_diagnosis_library_labels": Student(
        answers={**CORRECT["bce"], "diagnose_history": WRONG["diagnose_history"]["ignores_tail"],
                 "flipped_labels": BORROWED["flipped_labels"]["library_wrapper"]},
        expected={"test_smoothed_discriminator_loss": 3}),
    "library_objects": Student(answers={part: ways["library_object"] for part, ways in BORROWED.items()},
                               expected=0),
    "library_wrappers": Student(answers={part: ways["library_wrapper"] for part, ways in BORROWED.items()},
                                expected=0),
    "cheat_allclose": Student(
        answers=STUB, expected=0,
        extra_cells=[(2, "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True")]),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


def test_the_kin_answer_is_the_smoothed_loss_where_the_library_is_whole():
    """Outside the sandbox it is right, so the zero it gets in it is the stub's doing."""
    loss = define("smoothed_discriminator_loss", KIN["smoothed_discriminator_loss"])
    real, fake = torch.randn(32, generator=torch.Generator().manual_seed(0)), torch.randn(32)
    for target in (0.9, 0.7):
        assert torch.allclose(loss(real, fake, target), losses.smoothed_discriminator_loss(real, fake, target))


def test_a_table_of_verdicts_keyed_by_case_fails_while_grading(monkeypatch):
    """The verdicts of the cases, written out once (a classmate's, say, the same every term), and looked up by
    regenerating the grader's cases in the sandbox: right without the salt, wrong with it, because the runs
    drawn for each salt need the rule itself."""
    from autograder.probes import SALT

    monkeypatch.delenv(SALT, raising=False)
    key = [judges.rule(d, g) for _, d, g in probes.histories()]
    tail_key = [judges.rule(d, g, t) for _, d, g, t, _ in probes.tail_cases()]

    def diagnose_history(d_losses, g_losses, tail=0.25):
        found = [j for j, (_, d, g) in enumerate(probes.histories()) if list(d) == list(d_losses)
                 and list(g) == list(g_losses)]
        if tail == 0.25 and found:
            return key[found[0]]
        found = [j for j, (_, d, g, t, _) in enumerate(probes.tail_cases()) if list(d) == list(d_losses)
                 and t == tail]
        return tail_key[found[0]] if found else "healthy"

    assert judged(ASSIGNMENT, "diagnose_history", diagnose_history).passed
    monkeypatch.setenv(SALT, "t" * 32)
    verdict = judged(ASSIGNMENT, "diagnose_history", diagnose_history)
    assert not verdict.passed and "last" in verdict.message, verdict.message
