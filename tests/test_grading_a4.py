"""Assignment 4 (conditional GANs) is graded correctly: the claims an instructor relies on.

Fast tests call the hidden checks directly on fixture answers (tests/a4_submissions.py); the slow
ones grade a small class of notebooks through the grading command, i.e. nbgrader's real autograde.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.checks import GradingFailure
from autograder.checks import a4 as checks
from gancourse import conditional
from tests.a4_submissions import CORRECT, WRONG
from tests.grading_harness import Student, answer_tests, class_tests

ASSIGNMENT = "a4_conditional"
NOTEBOOK = "conditional.ipynb"
CHECK = {"one_hot": checks.check_one_hot,
         "ConditionalGenerator": checks.check_conditional_generator,
         "ConditionalDiscriminator": checks.check_conditional_discriminator,
         "acgan_auxiliary_loss": checks.check_acgan_auxiliary_loss}
POINTS = {"test_one_hot": 2, "test_ConditionalGenerator": 4, "test_ConditionalDiscriminator": 4,
          "test_acgan_auxiliary_loss": 2}


def define(part: str, source: str, variant: str | None = None):
    """Run an answer cell the way the notebook would (after a correct one_hot cell: the variant's,
    or "planes" when none is named) and return what it defines."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "conditional": conditional}
    exec(CORRECT[variant or "planes"]["one_hot"], namespace)
    exec(source, namespace)
    return namespace[part]


globals().update(answer_tests(CHECK, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("one_hot", "aliases_torch_one_hot", "torch.int64 rows"),
    ("one_hot", "int64_rows", "torch.int64 rows"),
    ("one_hot", "classes_counted_from_data", "use n_classes"),
    ("one_hot", "made_on_the_cpu", "device=labels.device"),
    ("ConditionalGenerator", "ignores_label", "the label does not reach G"),
    ("ConditionalGenerator", "first_label_for_all", "also changed the image of sample"),
    ("ConditionalGenerator", "labels_of_other_samples", "did not change the image of sample"),
    ("ConditionalGenerator", "no_tanh", "end the generator with tanh"),
    ("ConditionalGenerator", "label_embedding_detached", "no gradient reaches the parameter"),
    ("ConditionalGenerator", "library_inside", "course library's gancourse.conditional.ConditionalGenerator"),
    ("ConditionalDiscriminator", "ignores_label", "the label does not reach D"),
    ("ConditionalDiscriminator", "labels_joined_along_batch_all_logits", "expected (1,)"),
    ("ConditionalDiscriminator", "first_label_for_all", "also changed the logit of sample"),
    ("ConditionalDiscriminator", "labels_of_other_samples", "did not change the logit of sample"),
    ("ConditionalDiscriminator", "label_path_detached", "class_embedding.weight"),
    ("ConditionalDiscriminator", "library_wrapper", "built on the course library"),
    ("acgan_auxiliary_loss", "sum_not_mean", "return the mean"),
    ("acgan_auxiliary_loss", "naive_log_of_softmax", "inf or nan"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    with pytest.raises(GradingFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
        CHECK[part](define(part, WRONG[part][mistake]))


def test_library_works_again_after_a_check_switched_it_off():
    with pytest.raises(GradingFailure):
        checks.check_conditional_generator(define("ConditionalGenerator",
                                                  WRONG["ConditionalGenerator"]["library_inside"]))
    G = conditional.ConditionalGenerator(latent_dim=4)
    assert G(torch.randn(2, 4), torch.tensor([1, 2])).shape == (2, 1, 28, 28)
    assert conditional.one_hot(torch.tensor([1]), 3).tolist() == [[0.0, 1.0, 0.0]]


def test_checks_refuse_to_grade_after_comparison_helpers_are_redefined(monkeypatch):
    monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
    with pytest.raises(GradingFailure, match="torch.equal"):
        checks.check_one_hot(define("one_hot", CORRECT["planes"]["one_hot"]))


# --- a class graded through nbgrader ------------------------------------------------------------

STUB = {
    "one_hot": "def one_hot(labels, n_classes=10):\n    return torch.zeros(len(labels), n_classes)",
    "acgan_auxiliary_loss": "def acgan_auxiliary_loss(class_logits, labels):\n    return class_logits.sum() * 0",
}


def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


CLASS = {
    "alt_embedding": Student(answers=CORRECT["embedding"], expected="full"),
    "alt_projection": Student(answers=CORRECT["projection"], expected="full"),
    # the labels never reach D, the loss is a sum, and one_hot is F.one_hot itself
    "wrong_d_loss_one_hot": Student(
        answers={**CORRECT["planes"], "one_hot": WRONG["one_hot"]["aliases_torch_one_hot"],
                 "ConditionalDiscriminator": WRONG["ConditionalDiscriminator"]["ignores_label"],
                 "acgan_auxiliary_loss": WRONG["acgan_auxiliary_loss"]["sum_not_mean"]},
        expected={"test_ConditionalGenerator": 4}),
    # G uses the first label for the whole batch; D reorders the labels; the loss takes a double softmax
    "wrong_axes": Student(
        answers={**CORRECT["projection"],
                 "ConditionalGenerator": WRONG["ConditionalGenerator"]["first_label_for_all"],
                 "ConditionalDiscriminator": WRONG["ConditionalDiscriminator"]["labels_of_other_samples"],
                 "acgan_auxiliary_loss": WRONG["acgan_auxiliary_loss"]["double_softmax"]},
        expected={"test_one_hot": 2}),
    # the library's own objects, plus a hand-written one_hot and a loss that is NLL of raw logits
    "library_objects": Student(
        answers={**CORRECT["embedding"], "ConditionalGenerator": WRONG["ConditionalGenerator"]["library_object"],
                 "ConditionalDiscriminator": WRONG["ConditionalDiscriminator"]["library_wrapper"],
                 "acgan_auxiliary_loss": WRONG["acgan_auxiliary_loss"]["nll_without_log_softmax"]},
        expected={"test_one_hot": 2}),
    # stub answers behind a redefined comparison helper, in a notebook whose test cells were deleted
    "cheat_equal_deleted_tests": Student(answers=STUB, extra_cells=[(2, "torch.equal = lambda *a, **k: True")],
                                         edit=_delete_test_cells, expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))
