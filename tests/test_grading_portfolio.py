"""The portfolio (conditional DCGAN with a mode-collapse fix) is graded correctly.

Fast tests call the hidden checks directly on fixture answers (tests/portfolio_submissions.py); for
the correct answers the training budget is shrunk there, since the budget run with the real
thresholds is exercised by the class graded through nbgrader (the solution and two other correct
students). The class is the most expensive test of the suite: it stays at 7 students.
"""

from __future__ import annotations

import json
import math

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import GradingFailure
from autograder.checks import portfolio as checks
from autograder.screen import problems
from gancourse import conditional
from gancourse.classifier import classifier_features, load_course_classifier, per_class_accuracy
from gancourse.metrics import frechet_distance_from_features
from tests.conftest import REPO
from tests.grading_harness import Student, class_tests
from tests.portfolio_submissions import CORRECT, WRONG

ASSIGNMENT = "portfolio_cgan"
NOTEBOOK = "portfolio.ipynb"
ORDER = ["one_hot", "ConditionalGenerator", "ConditionalDiscriminator", "train_cgan", "evaluate"]
POINTS = {"test_one_hot": 2, "test_ConditionalGenerator": 4, "test_ConditionalDiscriminator": 4,
          "test_train_cgan": 7, "test_evaluate": 3}


def define(part: str, source: str, variant: str = "planes") -> dict:
    """Run the answer cells up to ``part`` (the variant's own answers before it) and return the namespace."""
    namespace = {"torch": torch, "F": F, "nn": nn, "np": np, "math": math,
                 "load_course_classifier": load_course_classifier, "classifier_features": classifier_features,
                 "per_class_accuracy": per_class_accuracy,
                 "frechet_distance_from_features": frechet_distance_from_features}
    for earlier in ORDER[:ORDER.index(part)]:
        exec(CORRECT[variant][earlier], namespace)
    exec(source, namespace)
    return namespace


def run_part(part: str, namespace: dict, fix: str | None = None) -> None:
    if part == "one_hot":
        checks.check_one_hot(namespace["one_hot"])
    elif part == "ConditionalGenerator":
        checks.check_conditional_generator(namespace["ConditionalGenerator"])
    elif part == "ConditionalDiscriminator":
        checks.check_conditional_discriminator(namespace["ConditionalDiscriminator"])
    elif part == "train_cgan":
        checks.check_train_cgan(namespace["train_cgan"], fix or namespace.get("FIX"),
                                namespace.get("ConditionalDiscriminator"))
    else:
        checks.check_evaluate(namespace["evaluate"])


@pytest.fixture
def short_budget(monkeypatch):
    """The budget run shrunk to a few steps with thresholds any finite result meets (fast tests only)."""
    monkeypatch.setitem(checks.BUDGET, "steps", 5)
    monkeypatch.setattr(checks, "thresholds", lambda: {"thresholds": {"fid_max": math.inf, "mean_accuracy_min": 0.0}})


@pytest.mark.parametrize("variant", sorted(CORRECT))
@pytest.mark.parametrize("part", ["one_hot", "ConditionalGenerator", "ConditionalDiscriminator", "evaluate"])
def test_correct_answers_written_differently_pass_every_hidden_check(part, variant):
    namespace = define(part, CORRECT[variant][part], variant)
    run_part(part, namespace)


@pytest.mark.parametrize("fix", ["replay", "minibatch"])
@pytest.mark.parametrize("variant", sorted(CORRECT))
def test_both_training_loops_pass_the_refereed_run_with_either_fix(variant, fix, short_budget):
    namespace = define("train_cgan", CORRECT[variant]["train_cgan"], variant)
    run_part("train_cgan", namespace, fix)


@pytest.mark.parametrize("part,mistake", [(p, m) for p in WRONG for m in WRONG[p]])
def test_each_usual_mistake_fails_its_hidden_check(part, mistake, short_budget):
    namespace = define(part, WRONG[part][mistake])
    with pytest.raises(GradingFailure):
        run_part(part, namespace)


@pytest.mark.parametrize("part,mistake,words", [
    ("ConditionalGenerator", "batchnorm_at_output", "BatchNorm"),
    ("ConditionalGenerator", "no_tanh", "tanh"),
    ("ConditionalGenerator", "ignores_label", "label"),
    ("ConditionalDiscriminator", "batchnorm_on_input_layer", "input layer"),
    ("ConditionalDiscriminator", "label_not_used", "label"),
    ("train_cgan", "swapped_real_fake_labels", "swapped"),
    ("train_cgan", "missing_detach", "detach"),
    ("train_cgan", "replay_never_returns_old", "old fakes"),
    ("train_cgan", "replay_old_images_with_new_labels", "label"),
    ("train_cgan", "saturating_generator_loss", "non-saturating"),
    ("train_cgan", "library_wrapper", "course library"),
    ("evaluate", "random_labels", "n_per_class"),
])
def test_failure_messages_say_what_was_observed(part, mistake, words, short_budget):
    with pytest.raises(GradingFailure, match=words):
        run_part(part, define(part, WRONG[part][mistake]))


def test_a_generator_that_ignores_the_label_fails_the_budget_run_on_accuracy():
    """The accuracy threshold lies well above what a generator blind to the label can reach (chance)."""
    limits = checks.thresholds()["thresholds"]
    G = checks.GraderGenerator(checks.BUDGET["latent_dim"], 10, checks.BUDGET["width"])
    blind = G.forward

    def ignore_labels(z, labels):
        return blind(z, torch.zeros_like(labels))

    G.forward = ignore_labels
    scores = checks.grading_scores(G)
    assert scores["mean_accuracy"] < limits["mean_accuracy_min"]


def test_library_objects_work_again_after_a_check_switched_them_off():
    with pytest.raises(GradingFailure):
        run_part("one_hot", define("one_hot", WRONG["one_hot"]["library_wrapper"]))
    assert conditional.one_hot(torch.tensor([2]), 4).tolist() == [[0.0, 0.0, 1.0, 0.0]]


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="numpy.allclose"):
        run_part("one_hot", define("one_hot", CORRECT["planes"]["one_hot"]))


@pytest.mark.parametrize("variant", sorted(CORRECT))
def test_screening_lets_correct_answers_run(variant):
    for source in CORRECT[variant].values():
        assert problems(source) == []


def _visible_training_test() -> str:
    """The visible test of train_cgan, as the student's release notebook has it."""
    nb = nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_train_cgan")


@pytest.mark.parametrize("answer", ["correct", "missing_detach"])
def test_the_visible_training_test_explains_a_missing_detach_in_the_students_words(answer):
    source = CORRECT["planes"]["train_cgan"] if answer == "correct" else WRONG["train_cgan"]["missing_detach"]
    namespace = define("train_cgan", source)
    gen = torch.Generator().manual_seed(0)
    namespace.update(train_images=torch.rand(256, 1, 28, 28, generator=gen) * 2 - 1,
                     train_labels=torch.randint(0, 10, (256,), generator=gen))
    if answer == "correct":
        exec(_visible_training_test(), namespace)
    else:
        with pytest.raises(AssertionError, match="detach"):
            exec(_visible_training_test(), namespace)


def test_reference_artifacts_are_small_and_say_how_they_were_made():
    record = json.loads(checks.THRESHOLDS_FILE.read_text())
    assert {"rule", "thresholds", "runs", "device", "torch", "python", "wall_seconds", "budget"} <= set(record)
    assert record["budget"] == checks.BUDGET
    assert len({r["seed"] for r in record["runs"]}) >= 5
    worst_fid = max(r["fid"] for r in record["runs"])
    assert record["thresholds"]["fid_max"] == pytest.approx(1.25 * worst_fid, abs=0.01)
    mu, sigma = checks.held_out_statistics()
    assert mu.shape == (64,) and sigma.shape == (64, 64)
    for path in checks.REFERENCE_DIR.iterdir():
        assert path.stat().st_size < 1_000_000, path


def test_the_grader_reference_reaches_its_own_thresholds():
    """One seed of the reference loop under the real budget (the grading's own code path)."""
    limits = checks.thresholds()["thresholds"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = checks.budget_run(checks.reference_train_cgan, "replay")
    finally:
        torch.set_num_threads(threads)
    assert result["fid"] <= limits["fid_max"] and result["mean_accuracy"] >= limits["mean_accuracy_min"], result


# --- the whole class through nbgrader ------------------------------------------------------------

STUB = {part: f"def {part}(*args, **kwargs):\n    return None" for part in ORDER}
SOLVED = CORRECT["planes"]

CLASS = {
    "alt_planes": Student(answers=CORRECT["planes"], expected="full"),
    "alt_embedding": Student(answers=CORRECT["embedding"], expected="full"),
    "wrong_nets_and_library": Student(
        answers={**SOLVED, "one_hot": WRONG["one_hot"]["library_object"],
                 "ConditionalGenerator": WRONG["ConditionalGenerator"]["batchnorm_at_output"],
                 "ConditionalDiscriminator": WRONG["ConditionalDiscriminator"]["batchnorm_on_input_layer"]},
        expected={"test_train_cgan": 7, "test_evaluate": 3}),
    "cheat_allclose": Student(
        answers=STUB, extra_cells=[(2, "torch.allclose = lambda *a, **k: True\nnp.allclose = torch.allclose")],
        expected=0),
    "wrong_training_and_hangs": Student(
        answers={**SOLVED, "train_cgan": WRONG["train_cgan"]["missing_detach"],
                 "evaluate": WRONG["evaluate"]["random_labels"]},
        extra_cells=[(2, "while True:\n    pass")],
        expected={"test_one_hot": 2, "test_ConditionalGenerator": 4, "test_ConditionalDiscriminator": 4}),
}
assert len(CLASS) + 2 <= 7  # with the solution and the untouched release


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS, cell_timeout=90, student_timeout=600))
