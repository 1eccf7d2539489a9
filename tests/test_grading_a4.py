"""Assignment 4 (conditional GANs) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a4_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import conditional, data, viz
from tests.a4_submissions import BORROWED, CHAPTER3_BODY, CORRECT, WRONG
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a4_conditional"
NOTEBOOK = "conditional.ipynb"
POINTS = {"test_one_hot": 2, "test_ConditionalGenerator": 4, "test_ConditionalDiscriminator": 4,
          "test_acgan_auxiliary_loss": 2}


def define(part: str, source: str, namespace: dict | None = None, one_hot: str = CORRECT["planes"]["one_hot"]):
    """Run an answer cell the way the notebook would (after its setup cell and a one_hot cell) and return
    what it defines."""
    if namespace is None:
        namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "conditional": conditional, "data": data,
                     "viz": viz}
        exec(one_hot, namespace)
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("one_hot", "aliases_torch_one_hot", "torch.int64 rows"),
    ("one_hot", "int64_rows", "torch.int64 rows"),
    ("one_hot", "classes_counted_from_data", "use n_classes"),
    ("one_hot", "made_on_the_cpu", "device=labels.device"),
    ("one_hot", "changes_its_input", "changed the labels"),
    ("ConditionalGenerator", "ignores_label", "the label does not reach G"),
    ("ConditionalGenerator", "first_label_for_all", "also changed the image of sample"),
    ("ConditionalGenerator", "labels_of_other_samples", "did not change the image of sample"),
    ("ConditionalGenerator", "no_tanh", "end the generator with tanh"),
    ("ConditionalGenerator", "sigmoid_output", "not sigmoid"),
    ("ConditionalGenerator", "batchnorm_at_output", "BatchNorm is applied after the generator's last layer"),
    ("ConditionalGenerator", "label_embedding_detached", "does not reach the parameter `embed.weight`"),
    ("ConditionalGenerator", "always_ten_classes", "n_classes=3"),
    ("ConditionalGenerator", "width_ignored", "`width` must set"),
    ("ConditionalGenerator", "noise_inside_forward", "randomness outside forward"),
    ("ConditionalGenerator", "labels_read_in_python", r"\.tolist\(\)"),
    ("ConditionalDiscriminator", "ignores_label", "the label does not reach D"),
    ("ConditionalDiscriminator", "labels_joined_along_batch_all_logits", r"expected \(20,\)"),
    ("ConditionalDiscriminator", "first_label_for_all", "also changed the logit of sample"),
    ("ConditionalDiscriminator", "labels_of_other_samples", "did not change the logit of sample"),
    ("ConditionalDiscriminator", "label_path_detached", "class_embedding.weight"),
    ("ConditionalDiscriminator", "squeeze_all", r"\.squeeze\(1\)"),
    ("ConditionalDiscriminator", "sigmoid_output", "no sigmoid"),
    ("ConditionalDiscriminator", "input_batchnorm", "first layer applied to the image is BatchNorm"),
    ("ConditionalDiscriminator", "batchnorm_after_first_layer", "BatchNorm follows D's first layer"),
    ("acgan_auxiliary_loss", "sum_not_mean", "return the mean"),
    ("acgan_auxiliary_loss", "naive_log_of_softmax", "inf or nan"),
    ("acgan_auxiliary_loss", "per_sample_losses", "0-dimensional"),
    ("acgan_auxiliary_loss", "detached", "not connected"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


@pytest.mark.parametrize("part", ["ConditionalGenerator", "ConditionalDiscriminator"])
def test_the_networks_are_judged_with_the_graders_one_hot_not_the_students_wrong_one(part):
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "conditional": conditional}
    one_hot = define("one_hot", WRONG["one_hot"]["transposed"], namespace)
    net = define(part, CORRECT["planes"][part], namespace)
    assert not judged(ASSIGNMENT, "one_hot", one_hot).passed
    verdict = judged(ASSIGNMENT, part, net)
    assert verdict.passed, verdict.message
    assert namespace["one_hot"] is one_hot  # the notebook's own one_hot is back


# --- a class graded through nbgrader ------------------------------------------------------------

def _delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


CLASS = {
    "alt_embedding": Student(answers=CORRECT["embedding"]),
    "alt_tutorial": Student(answers=CORRECT["tutorial"]),
    # one_hot is F.one_hot (int64 rows): the networks, graded with the grader's one_hot, still earn their points
    "wrong_one_hot_right_networks": Student(
        answers={**CORRECT["projection"], "one_hot": WRONG["one_hot"]["aliases_torch_one_hot"],
                 "acgan_auxiliary_loss": WRONG["acgan_auxiliary_loss"]["sum_not_mean"]},
        expected={"test_ConditionalGenerator": 4, "test_ConditionalDiscriminator": 4}),
    # one_hot left as released (it raises), or as wide as the batch's largest label: the networks, whose visible tests
    # and hidden ones run with a one-hot of the grader's in its place, keep their points (an other-style student's
    # report: the visible tests had called the student's one_hot, and the networks got nothing)
    "unfinished_one_hot_right_networks": Student(
        answers={part: source for part, source in CORRECT["projection"].items() if part != "one_hot"},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_one_hot"}),
    "narrow_one_hot_right_networks": Student(
        answers={**CORRECT["projection"],
                 "one_hot": "def one_hot(labels, n_classes=10):\n"
                            "    return F.one_hot(labels, int(labels.max()) + 1).float()\n"},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_one_hot"}),
    # one_hot with a dtype parameter of its own, which both networks pass (an other-style student's report: the visible
    # tests' stand-in and the grader's one_hot refused the call, and the networks lost 8 points)
    "one_hot_with_a_dtype_parameter": Student(answers={
        **CORRECT["planes"],
        "one_hot": "def one_hot(labels, n_classes=10, dtype=torch.float32):\n"
                   "    return F.one_hot(labels, n_classes).to(dtype)\n",
        "ConditionalGenerator": CORRECT["planes"]["ConditionalGenerator"].replace(
            "one_hot(labels, self.n_classes)", "one_hot(labels, self.n_classes, dtype=z.dtype)"),
        "ConditionalDiscriminator": CORRECT["planes"]["ConditionalDiscriminator"].replace(
            "one_hot(labels, self.n_classes)", "one_hot(labels, n_classes=self.n_classes, dtype=images.dtype)")}),
    # G uses the first label for the whole batch; D reorders the labels; the loss takes a double softmax
    "wrong_axes": Student(
        answers={**CORRECT["projection"],
                 "ConditionalGenerator": WRONG["ConditionalGenerator"]["first_label_for_all"],
                 "ConditionalDiscriminator": WRONG["ConditionalDiscriminator"]["labels_of_other_samples"],
                 "acgan_auxiliary_loss": WRONG["acgan_auxiliary_loss"]["double_softmax"]},
        expected={"test_one_hot": 2}),
    "library_objects": Student(
        answers={part: next(iter(ways.values())) for part, ways in BORROWED.items()}, expected=0),
    "library_wrappers": Student(
        answers={part: list(ways.values())[-1] for part, ways in BORROWED.items()}, expected=0),
    "chapter3_networks": Student(answers={**CORRECT["projection"], **CHAPTER3_BODY},
                                 expected={"test_one_hot": 2, "test_acgan_auxiliary_loss": 2}),
    # stub answers behind a redefined comparison helper, in a notebook whose test cells were deleted
    "cheat_equal_deleted_tests": Student(
        answers={"one_hot": "def one_hot(labels, n_classes=10):\n    return torch.zeros(len(labels), n_classes)"},
        extra_cells=[(2, "torch.equal = lambda *a, **k: True")], edit=_delete_test_cells, expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


RENAMED_ONE_HOT = """
def one_hot(labels, num_classes=10, dtype=torch.float32):
    return F.one_hot(labels, num_classes).to(dtype)
"""


@pytest.mark.parametrize("call", ["one_hot(labels, num_classes=self.n_classes, dtype=z.dtype)",
                                  "one_hot(labels, self.n_classes, z.dtype)",
                                  "one_hot(labels, dtype=z.dtype, num_classes=self.n_classes)"])
def test_a_generator_that_calls_its_one_hot_with_its_own_parameter_names_keeps_its_points(call):
    """A correct one_hot with a parameter named as torch names it and one more: the generator calls it so, and was run
    with the library's one_hot(labels, n_classes), which refused the call (an other-style student's report)."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "conditional": conditional}
    one_hot = define("one_hot", RENAMED_ONE_HOT, namespace)
    assert judged(ASSIGNMENT, "one_hot", one_hot).passed
    source = CORRECT["projection"]["ConditionalGenerator"].replace(
        "F.one_hot(labels, self.n_classes).to(z.dtype)", call)
    assert call in source
    verdict = judged(ASSIGNMENT, "ConditionalGenerator", define("ConditionalGenerator", source, namespace))
    assert verdict.passed, verdict.message
    assert namespace["one_hot"] is one_hot


LYING_ONE_HOT = """
class SaysFloat32(torch.Tensor):
    @property
    def dtype(self):
        return torch.float32


def one_hot(labels, n_classes=10):
    return F.one_hot(labels, n_classes).as_subclass(SaysFloat32)
"""


def test_a_tensor_that_reports_another_dtype_is_judged_by_its_values():
    """int64 rows in a tensor subclass whose dtype says float32 passed one_hot (an outside gaming pass): the judge
    reads the dtype from the values sent, and a half-precision answer still counts as what it said it was."""
    verdict = judged(ASSIGNMENT, "one_hot", define("one_hot", LYING_ONE_HOT))
    assert not verdict.passed and "torch.int64 rows" in verdict.message, verdict.message
    from autograder.judges import recorded_dtype
    from autograder.probes.record import Record

    record = Record()
    for key, value in (("half", torch.ones(2, dtype=torch.bfloat16)), ("float", torch.ones(2)),
                       ("long", torch.ones(2, dtype=torch.long))):
        record.output(key, value)
    record.facts["long"]["dtype"] = "torch.float32"  # what a subclass, or a forged record, says
    assert [recorded_dtype(record, k) for k in ("half", "float", "long")] == [
        "torch.bfloat16", "torch.float32", "torch.int64"]
