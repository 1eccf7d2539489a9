"""Assignment 1 is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests call the hidden checks directly on fixture answers (tests/a1_submissions.py). The slow
ones grade a whole class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import math
import sys
import time

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import GradingFailure
from autograder.checks import a1 as checks
from autograder.screen import problems
from gancourse import losses
from tests.a1_submissions import CORRECT, STEP_NO_GRAD, WRONG
from tests.conftest import REPO, make_course, run, scores, student_notebook, submit

ASSIGNMENT = "a1_two_networks"
NOTEBOOK = "two_networks.ipynb"
PARTS = {"discriminator_loss": "test_discriminator_loss",
         "saturating_generator_loss": "test_saturating_generator_loss",
         "non_saturating_generator_loss": "test_non_saturating_generator_loss",
         "alternating_step": "test_alternating_step"}
POINTS = {"test_discriminator_loss": 3, "test_saturating_generator_loss": 2,
          "test_non_saturating_generator_loss": 2, "test_alternating_step": 5}
CHECK = {"discriminator_loss": checks.check_discriminator_loss,
         "saturating_generator_loss": checks.check_saturating_generator_loss,
         "non_saturating_generator_loss": checks.check_non_saturating_generator_loss,
         "alternating_step": checks.check_alternating_step}


def define(part: str, source: str, helpers: dict[str, str] | None = None):
    """Run an answer cell the way the notebook would and return the function it defines."""
    namespace = {"torch": torch, "F": F, "math": math, "losses": losses}
    for helper_source in (helpers or CORRECT["softplus"]).values():
        exec(helper_source, namespace)  # the other parts, so that default arguments resolve
    exec(source, namespace)
    return namespace[part]


@pytest.mark.parametrize("variant", sorted(CORRECT))
@pytest.mark.parametrize("part", sorted(PARTS))
def test_correct_answers_written_differently_pass_every_hidden_check(part, variant):
    CHECK[part](define(part, CORRECT[variant][part]))


@pytest.mark.parametrize("part,mistake", [(p, m) for p in WRONG for m in WRONG[p]])
def test_each_usual_mistake_fails_its_hidden_check(part, mistake):
    with pytest.raises(GradingFailure):
        CHECK[part](define(part, WRONG[part][mistake]))


def test_library_functions_work_again_after_a_check_switched_them_off():
    with pytest.raises(GradingFailure):
        checks.check_discriminator_loss(define("discriminator_loss", WRONG["discriminator_loss"]["library_wrapper"]))
    value = losses.discriminator_loss(torch.zeros(2), torch.zeros(2))
    assert abs(value.item() - 2 * math.log(2)) < 1e-6


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="torch.allclose"):
        checks.check_discriminator_loss(define("discriminator_loss", CORRECT["softplus"]["discriminator_loss"]))


def test_failure_messages_say_what_was_observed():
    with pytest.raises(GradingFailure, match="detached"):
        checks.check_alternating_step(define("alternating_step", WRONG["alternating_step"]["missing_detach"]))
    with pytest.raises(GradingFailure, match="non-saturating"):
        checks.check_saturating_generator_loss(
            define("saturating_generator_loss", WRONG["saturating_generator_loss"]["gave_non_saturating"]))


@pytest.mark.parametrize("variant", sorted(CORRECT))
def test_screening_lets_correct_answers_run(variant):
    for source in CORRECT[variant].values():
        assert problems(source) == []


@pytest.mark.parametrize("source", [
    "import os\nos._exit(0)",
    "import sys\nsys.modules['autograder.checks.a1'] = None",
    "torch.allclose = lambda *a, **k: True",
    "F.softplus = lambda t: t",
    "exec(open('../../solutions/a1_two_networks/two_networks.ipynb').read())",
    "m = __import__('o' + 's')",
    "h = [].__class__.__base__.__subclasses__()",
    "from pathlib import Path\ntext = Path('/etc/passwd').read_text()",
    "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
    "!cat /etc/passwd",
])
def test_screening_refuses_tampering_and_file_access(source):
    assert problems(source)


# --- the whole class through nbgrader ------------------------------------------------------------

STUB = {part: f"def {part}(*args, **kwargs):\n    return torch.tensor(0.0, requires_grad=True)" for part in PARTS}


def _retype_test_cells(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.cell_type = "markdown"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)


def _gut_test_cells(nb):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"


def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


SOLVED = {**CORRECT["softplus"], "alternating_step": STEP_NO_GRAD}
CLASS = {
    # student: (answers, extra cells, edit, expected {grade_id: score} or total)
    "alt_logsigmoid": (CORRECT["logsigmoid"], [], None, "full"),
    "alt_bce_module": (CORRECT["bce_module"], [], None, "full"),
    "wrong_losses": ({**SOLVED, "discriminator_loss": WRONG["discriminator_loss"]["swapped_labels"],
                      "saturating_generator_loss": WRONG["saturating_generator_loss"]["gave_non_saturating"],
                      "non_saturating_generator_loss": WRONG["non_saturating_generator_loss"]["naive_log"]},
                     [], None, {"test_alternating_step": 5}),
    "wrong_step": ({**SOLVED, "alternating_step": WRONG["alternating_step"]["missing_detach"]}, [], None,
                   {"test_discriminator_loss": 3, "test_saturating_generator_loss": 2,
                    "test_non_saturating_generator_loss": 2}),
    "library_objects": ({**SOLVED, "discriminator_loss": WRONG["discriminator_loss"]["library_object"],
                         "alternating_step": WRONG["alternating_step"]["library_wrapper"]}, [], None,
                        {"test_saturating_generator_loss": 2, "test_non_saturating_generator_loss": 2}),
    "cheat_allclose": (STUB, [(2, "torch.allclose = lambda *a, **k: True\ntorch.isclose = lambda a, b, **k: "
                               "torch.ones_like(torch.as_tensor(a), dtype=torch.bool)")], None, 0),
    "cheat_fake_import": (STUB, [(2, "import sys, types\nfake = types.ModuleType('a1')\n"
                                  "for n in ['check_discriminator_loss', 'check_saturating_generator_loss',"
                                  " 'check_non_saturating_generator_loss', 'check_alternating_step']:\n"
                                  "    setattr(fake, n, lambda *a: None)\n"
                                  "sys.modules['autograder.checks.a1'] = fake")], None, 0),
    "cheat_reads_solution": ({part: (f"import json\nsrc = json.load(open('{REPO}/solutions/{ASSIGNMENT}/"
                                     f"{NOTEBOOK}'))\nexec(''.join(src['cells'][3]['source']))")
                              for part in PARTS}, [], None, 0),
    "cheat_swallows_errors": (STUB, [(2, "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)")],
                              None, 0),
    "cheat_obfuscated_exit": (STUB, [(2, "getattr(__import__('o' + 's'), '_exit')(0)")], None, 0),
    "system_exit": (SOLVED, [(2, "raise SystemExit")], None, "full"),
    "infinite_loop": (SOLVED, [(2, "while True:\n    try:\n        pass\n    except KeyboardInterrupt:\n"
                                "        pass")], None, "full"),
    "memory_hog": (SOLVED, [(2, "hog = [torch.ones(2**28) for _ in range(100)]")], None, "full"),
    "edited_tests": (STUB, [], _gut_test_cells, 0),
    "retyped_tests": (STUB, [], _retype_test_cells, 0),
    "deleted_tests": (SOLVED, [], _delete_test_cells, 0),
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """A class of 19 submissions graded once by the grading command; returns (root, report, times)."""
    root = make_course(tmp_path_factory.mktemp("course"), ASSIGNMENT)
    release = REPO / "exercises" / ASSIGNMENT / NOTEBOOK
    submit(root, ASSIGNMENT, "solution", student_notebook(REPO / "solutions" / ASSIGNMENT / NOTEBOOK, {}), NOTEBOOK)
    submit(root, ASSIGNMENT, "untouched", student_notebook(release, {}), NOTEBOOK)
    submit(root, ASSIGNMENT, "not_json", '{"cells": [', NOTEBOOK)
    for student, (answers, extra, edit, _) in CLASS.items():
        submit(root, ASSIGNMENT, student, student_notebook(release, answers, extra, edit), NOTEBOOK)
    start = time.perf_counter()
    proc = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--timeout", "300"], root,
               timeout=3000, GANCOURSE_CELL_TIMEOUT="20")
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout)
    return root, proc.stdout, elapsed


def test_solution_gets_full_automatic_marks(graded_class):
    root, _, _ = graded_class
    assert scores(root, ASSIGNMENT)["solution"] == {k: float(v) for k, v in POINTS.items()}


def test_untouched_release_gets_zero_without_crashing(graded_class):
    root, report, _ = graded_class
    assert sum(scores(root, ASSIGNMENT)["untouched"].values()) == 0
    assert "untouched: 0/12" in report


def test_invalid_json_gets_zero_and_a_clear_message(graded_class):
    root, report, _ = graded_class
    assert sum(scores(root, ASSIGNMENT)["not_json"].values()) == 0
    assert "not a valid notebook" in report


@pytest.mark.parametrize("student", sorted(CLASS))
def test_each_submission_gets_exactly_the_points_it_deserves(graded_class, student):
    root, report, _ = graded_class
    got = scores(root, ASSIGNMENT)[student]
    expected = CLASS[student][3]
    if expected == "full":
        expected = POINTS
    elif expected == 0:
        expected = {}
    assert got == {gid: float(expected.get(gid, 0)) for gid in POINTS}, report


def test_every_student_in_the_batch_was_graded(graded_class):
    root, _, _ = graded_class
    assert set(scores(root, ASSIGNMENT)) == set(CLASS) | {"solution", "untouched", "not_json"}


def test_regrading_gives_identical_grades(graded_class):
    root, _, _ = graded_class
    before = scores(root, ASSIGNMENT)
    again = ["solution", "wrong_step", "alt_logsigmoid", "library_objects"]
    proc = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--timeout", "300",
                *[arg for s in again for arg in ("--student", s)]], root, timeout=1200,
               GANCOURSE_CELL_TIMEOUT="20")
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = scores(root, ASSIGNMENT)
    assert {s: after[s] for s in again} == {s: before[s] for s in again}


def test_grading_one_student_alone_reports_its_time(graded_class, capsys):
    """Not a timed test: it prints the measured time, which the README records (target <= 30 s)."""
    root, _, class_seconds = graded_class
    start = time.perf_counter()
    proc = run([sys.executable, "-m", "autograder.grade", ASSIGNMENT, "--student", "solution"], root)
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[measured] autograding one student on {ASSIGNMENT}: {seconds:.1f} s (grading command, "
              f"wall clock); the class of {len(CLASS) + 3}: {class_seconds:.0f} s")
    assert proc.returncode == 0 and "solution: 12/12" in proc.stdout, proc.stdout


def test_feedback_explains_lost_points_without_revealing_hidden_tests(graded_class):
    root, _, _ = graded_class
    proc = run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--student", "wrong_step",
                "--force"], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (root / "feedback" / "wrong_step" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "must be detached" in html  # the reason for the lost points
    for secret in ("BEGIN HIDDEN TESTS", "autograder.checks", "check_alternating_step", "_Referee"):
        assert secret not in html, secret
