"""Assignment 3 (DCGAN) is graded correctly: the claims an instructor relies on, checked from outside.

Fast tests probe fixture answers (tests/a3_submissions.py) in this process and judge the data, the
same path the grader takes. The slow ones grade a small class of notebooks through the grading
command: nbgrader's real autograde, the sandbox and the judge process.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import data, pretrained, viz
from tests.a3_submissions import BORROWED, CORRECT, SEQUENTIAL, WRONG
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests

ASSIGNMENT = "a3_dcgan"
NOTEBOOK = "dcgan.ipynb"
SEQUENTIAL_G = SEQUENTIAL["DCGANGenerator"]
POINTS = {"test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3, "test_dcgan_weights_init": 2, "test_lerp": 1,
          "test_slerp": 2}


def define(part: str, source: str, namespace: dict | None = None):
    """Run an answer cell the way the notebook would (after its setup cell) and return what it defines."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math, "data": data, "pretrained": pretrained,
                 "viz": viz} if namespace is None else namespace
    exec(source, namespace)
    return namespace[part]


globals().update(judged_answer_tests(ASSIGNMENT, CORRECT, WRONG, define))


@pytest.mark.parametrize("part,mistake,message", [
    ("DCGANGenerator", "output_batchnorm", "BatchNorm is applied after the generator's last layer"),
    ("DCGANGenerator", "detached_projection", r"\.detach\(\) or torch.no_grad\(\)"),
    ("DCGANGenerator", "hand_made_batchnorm_at_output", "zero batch mean"),
    ("DCGANGenerator", "sigmoid_output", "not sigmoid"),
    ("DCGANGenerator", "no_tanh", "tanh"),
    ("DCGANGenerator", "size_32", r"\(16, 1, 32, 32\)"),
    ("DCGANGenerator", "dense_layers_no_upsampling", "0 transposed convolution"),
    ("DCGANDiscriminator", "one_strided_convolution_then_dense", "1 convolution"),
    ("DCGANDiscriminator", "input_batchnorm", "first layer applied to the image is BatchNorm"),
    ("DCGANDiscriminator", "default_leaky_slope", "slope 0.01"),
    ("DCGANDiscriminator", "relu", "uses ReLU"),
    ("DCGANDiscriminator", "squeeze_all", r"\.squeeze\(\)"),
    ("DCGANDiscriminator", "max_pooling", "max_pool2d"),
    ("DCGANDiscriminator", "functional_avg_pooling", "pools its feature maps"),
    ("DCGANDiscriminator", "sigmoid_output", "no sigmoid"),
    ("DCGANDiscriminator", "dropout_ignored", "dropout"),
    ("dcgan_weights_init", "std_one", "standard deviation 0.02"),
    ("dcgan_weights_init", "batchnorm_weight_zero", "expected mean 1.0"),
    ("dcgan_weights_init", "uniform", "not normally distributed"),
    ("dcgan_weights_init", "sorted_quantiles", "position in the tensor"),
    ("dcgan_weights_init", "fixed_shuffled_quantiles", "very same Conv2d weights"),
    ("slerp", "straight_below_half_a_radian", "10 degrees apart: that is the straight line"),
    ("lerp", "swapped_endpoints", "swapped"),
    ("slerp", "normalised_lerp", "straight line rescaled"),
    ("slerp", "nan_when_parallel", "nan or inf"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message):
    verdict = judged(ASSIGNMENT, part, define(part, WRONG[part][mistake]))
    assert not verdict.passed
    assert __import__("re").search(message, verdict.message), verdict.message


def test_a_network_the_grader_cannot_trace_is_told_why_in_one_short_line():
    """torch's tracer explains itself in many lines of its internals (an outside student's feedback page showed them,
    cut off mid-sentence); the student gets its first line, the part, and what to do."""
    reads_a_value = "scale = z.abs().max().item()\n        return self.upsample(self.project(z / scale * scale))"
    source = SEQUENTIAL_G.replace("return self.upsample(self.project(z))", reads_a_value)
    assert source != SEQUENTIAL_G
    verdict = judged(ASSIGNMENT, "DCGANGenerator", define("DCGANGenerator", source))
    assert not verdict.passed
    assert "could not be traced by the grader (" in verdict.message and "tensor operations" in verdict.message
    assert "\n" not in verdict.message and len(verdict.message) < 600, verdict.message


def test_slerp_is_judged_with_the_graders_lerp_not_the_students_wrong_one():
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math}
    define("lerp", WRONG["lerp"]["swapped_endpoints"], namespace)
    slerp = define("slerp", CORRECT["calls_lerp"]["slerp"], namespace)
    assert not judged(ASSIGNMENT, "lerp", namespace["lerp"]).passed
    assert judged(ASSIGNMENT, "slerp", slerp).passed
    assert namespace["lerp"] is not None and "swapped" not in str(namespace["lerp"])  # the notebook's lerp is back


# --- a class graded through nbgrader ------------------------------------------------------------

CLASS = {
    "alt_convolutional": Student(answers=CORRECT["convolutional"]),
    "alt_functional": Student(answers=CORRECT["functional"]),
    "wrong_lerp_right_slerp": Student(answers={**CORRECT["calls_lerp"], "lerp": WRONG["lerp"]["swapped_endpoints"]},
                                      expected={"test_DCGANGenerator": 4, "test_DCGANDiscriminator": 3,
                                                "test_dcgan_weights_init": 2, "test_slerp": 2}),
    # lerp left as released (it raises) or never defined, and a slerp that calls it where the vectors are parallel: the
    # visible test and the hidden one run slerp with a straight line of their own, and slerp keeps its points
    "unfinished_lerp_right_slerp": Student(
        answers={part: source for part, source in CORRECT["calls_lerp"].items() if part != "lerp"},
        expected={gid: p for gid, p in POINTS.items() if gid != "test_lerp"}),
    "undefined_lerp_right_slerp": Student(answers={**CORRECT["calls_lerp"], "lerp": "# to do\n"},
                                          expected={gid: p for gid, p in POINTS.items() if gid != "test_lerp"}),
    "wrong_architecture": Student(
        answers={**CORRECT["functional"], "DCGANGenerator": WRONG["DCGANGenerator"]["output_batchnorm"],
                 "DCGANDiscriminator": WRONG["DCGANDiscriminator"]["default_leaky_slope"],
                 "slerp": WRONG["slerp"]["normalised_lerp"]},
        expected={"test_dcgan_weights_init": 2, "test_lerp": 1}),
    "wrong_details": Student(
        answers={**CORRECT["convolutional"], "DCGANGenerator": WRONG["DCGANGenerator"]["sigmoid_output"],
                 "dcgan_weights_init": WRONG["dcgan_weights_init"]["std_one"],
                 "lerp": WRONG["lerp"]["swapped_endpoints"]},
        expected={"test_DCGANDiscriminator": 3, "test_slerp": 2}),
    "library_objects": Student(
        answers={**CORRECT["sequential"], **{part: next(iter(ways.values())) for part, ways in BORROWED.items()}},
        expected=0),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS))


def test_the_placeholder_of_an_undefined_part_says_so_and_does_not_blame_the_library():
    """The grader's placeholder for a part the notebook left undefined had been the library's stub, whose message told
    the student they had used the library's version (an other-style student's report)."""
    from autograder.probes.record import undefined_part

    placeholder = undefined_part("lerp", "gancourse.latent.lerp")
    with pytest.raises(NameError, match="lerp is not defined in this notebook") as err:
        placeholder(torch.zeros(2), torch.ones(2), 0.5)
    assert "library" not in str(err.value)
    network = undefined_part("DCGANGenerator", "gancourse.nets.DCGANGenerator")
    assert issubclass(network, nn.Module)
    with pytest.raises(NameError, match="DCGANGenerator is not defined in this notebook"):
        network(latent_dim=8)


NO_GRAD_SLERP = """
@torch.no_grad()  # a path through latent space, for pictures
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    omega = torch.arccos((torch.dot(z0, z1) / (z0.norm() * z1.norm())).clamp(-1.0, 1.0))
    if omega < 1e-4:
        return lerp(z0, z1, t)
    t = t[:, None] if t.dim() == 1 else t
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
"""


def test_a_decorated_slerp_that_calls_an_unfinished_lerp_is_judged_on_its_own():
    """Under @torch.no_grad() a function's globals are torch's wrapper's: the grader's lerp had gone there, and slerp
    ran the student's unfinished one (an other-style student's report)."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math}
    define("lerp", "def lerp(z0, z1, t):\n    raise NotImplementedError()\n", namespace)
    verdict = judged(ASSIGNMENT, "slerp", define("slerp", NO_GRAD_SLERP, namespace))
    assert verdict.passed, verdict.message


COLUMN_SLERP = """
def slerp(z0, z1, t):
    t = torch.as_tensor(t, dtype=z0.dtype)
    t = t.reshape(-1, 1) if t.dim() == 1 else t  # a column first, as the notebook's text advises
    omega = torch.arccos((torch.dot(z0, z1) / (z0.norm() * z1.norm())).clamp(-1.0, 1.0))
    if omega < 1e-4:
        return lerp(z0, z1, t)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
"""


def test_a_slerp_that_hands_lerp_a_column_of_positions_keeps_its_points():
    """The text tells students to make a 1-D t a column; a slerp that did so before falling back to lerp failed on
    the grader's lerp, which took only a 1-D t (an other-style student's report): the library's lerp takes a column."""
    namespace = {"torch": torch, "nn": nn, "F": F, "math": math}
    define("lerp", "def lerp(z0, z1, t):\n    raise NotImplementedError()\n", namespace)
    verdict = judged(ASSIGNMENT, "slerp", define("slerp", COLUMN_SLERP, namespace))
    assert verdict.passed, verdict.message
