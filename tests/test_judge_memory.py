"""The judge shows a student nothing of its own memory.

A traced graph is the student's data: the sandboxed notebook can send any list of ATen operations, and the
judge reruns it and may quote what it computes in a message. Two routes once let a graph read the judge's
memory (which, forked from nbgrader's process, holds what nbgrader read): an operation that allocates without
writing (``aten::empty`` and kin) whose values it returned, and an exception raised on purpose whose text the
verdict quoted (a view whose shape is the values read). These tests plant a marker in memory the judge frees,
then run such graphs, and look for it in everything that reaches the student.
"""

from __future__ import annotations

import gc
import time

import pytest
import torch

from autograder.judges import GradingFailure, judge_record
from autograder.judges import a3 as judge_module
from autograder.judges.graph import Graph, refused
from autograder.probes.record import Record

MARKER = 987654321  # not a value any graph here computes from its inputs (ones) or zeros


def _node(name: str, op: str, *args, **kwargs) -> dict:
    return {"name": name, "op": op, "args": {"list": list(args)}, "kwargs": kwargs}


def _record(*nodes: dict, result: str) -> Record:
    """A record holding the graph ``nodes`` under 'net' (one input, x), as a probe would send it."""
    spec = {"placeholders": {"x": "input:0"}, "shapes": {}, "parameters": [], "dtypes": {}, "inputs": [[4]],
            "nodes": [*nodes, {"name": "output", "op": "output", "args": {"list": [{"node": result}]}}]}
    return Record.decode(Record(facts={"net": spec}).encode())


def _ints(*values: int) -> dict:
    return {"list": [{"int": v} for v in values]}


def _freed_marker_memory() -> None:
    """Leave blocks of every size the graphs below allocate, holding MARKER, free for reuse."""
    for n in (1, 4, 16, 64):
        for dtype in (torch.int64, torch.float32):
            blocks = [torch.full((n,), MARKER, dtype=dtype) for _ in range(64)]
            del blocks
    gc.collect()


X = {"node": "x"}
INT64 = {"dtype": "int64"}
# Each allocates 16 int64 elements without writing them, as a student's graph may ask.
ALLOCATIONS = {
    "empty": _node("e", "aten::empty.memory_format", _ints(16), dtype=INT64),
    "empty_like": _node("e", "aten::empty_like.default", X),
    "new_empty": _node("e", "aten::new_empty.default", X, _ints(16), dtype=INT64),
    "empty_strided": _node("e", "aten::empty_strided.default", _ints(16), _ints(1), dtype=INT64),
    "new_empty_strided": _node("e", "aten::new_empty_strided.default", X, _ints(16), _ints(1), dtype=INT64),
    "empty_permuted": _node("e", "aten::empty_permuted.default", _ints(4, 4), _ints(0, 1), dtype=INT64),
    "prims.empty_strided": _node("e", "prims::empty_strided.default", _ints(16), _ints(1), dtype=INT64,
                                 device={"device": "cpu"}, requires_grad=False),
}


@pytest.mark.parametrize("allocation", sorted(ALLOCATIONS))
def test_memory_a_graph_allocates_unwritten_reads_as_zeros(allocation):
    graph = Graph(_record(ALLOCATIONS[allocation], result="e"), "net")
    _freed_marker_memory()
    got = graph(torch.ones(16, dtype=torch.int64))
    assert got.numel() == 16
    assert torch.equal(got, torch.zeros_like(got)), f"{allocation} returned {got.tolist()}"


def test_a_graph_that_raises_on_purpose_gets_no_word_of_the_exception(monkeypatch):
    """A view whose shape is the values a graph read raises an error that prints them: the verdict does not."""
    nodes = [_node("e", "aten::full.default", _ints(1), {"int": MARKER}, dtype=INT64),
             _node("n", "aten::_local_scalar_dense.default", {"node": "e"}),
             _node("v", "aten::view.default", X, {"list": [{"node": "n"}, {"int": 7}]})]
    record = _record(*nodes, result="v")
    with pytest.raises(RuntimeError, match=str(MARKER)):  # the text torch writes holds the values...
        Graph(record, "net")(torch.ones(4))

    def judge_DCGANGenerator(rec):  # noqa: N802 - a judge that reruns the student's graph, as network parts' do
        Graph(rec, "net")(torch.ones(4))

    monkeypatch.setattr(judge_module, "judge_DCGANGenerator", judge_DCGANGenerator)
    verdict = judge_record("a3_dcgan", "DCGANGenerator", record)
    assert not verdict.passed
    assert str(MARKER) not in verdict.message and "invalid" not in verdict.message  # ...and the student sees none
    assert "RuntimeError" in verdict.message


def test_no_exception_text_of_a_judge_reaches_the_student(monkeypatch):
    """Whatever a judge raises besides a GradingFailure, its text stays in the judge: only its type is named."""
    for error in (ValueError, KeyError, IndexError, TypeError, ZeroDivisionError, MemoryError):
        def judge_DCGANGenerator(rec, error=error):  # noqa: N802 - the part's name
            raise error(f"hidden check expects {MARKER}")

        monkeypatch.setattr(judge_module, "judge_DCGANGenerator", judge_DCGANGenerator)
        verdict = judge_record("a3_dcgan", "DCGANGenerator", Record())
        assert not verdict.passed
        assert str(MARKER) not in verdict.message and error.__name__ in verdict.message


def test_a_grading_failure_still_tells_the_student_what_was_observed(monkeypatch):
    def judge_DCGANGenerator(rec):  # noqa: N802 - the part's name
        raise GradingFailure("G(z): expected shape (8, 1, 28, 28), got (8, 784).")

    monkeypatch.setattr(judge_module, "judge_DCGANGenerator", judge_DCGANGenerator)
    verdict = judge_record("a3_dcgan", "DCGANGenerator", Record())
    assert verdict.message == "[DCGANGenerator] G(z): expected shape (8, 1, 28, 28), got (8, 784)."


@pytest.mark.parametrize("op", [
    "aten::resize_.default", "aten::resize_as_.default", "aten::_resize_output_.default", "aten::set_.source_Tensor",
    "aten::_unsafe_index.Tensor", "aten::_unsafe_index_put.default", "aten::_unsafe_masked_index.default",
    "aten::sparse_coo_tensor.size", "aten::_sparse_coo_tensor_unsafe.default",
    "aten::_sparse_csr_tensor_unsafe.default",
    "aten::quantize_per_tensor.default", "aten::_empty_affine_quantized.default",
    "aten::_nested_tensor_from_tensor_list.default", "aten::from_file.default", "aten::_pin_memory.default",
    "aten::mkldnn_convolution.default", "aten::cudnn_convolution.default", "aten::_cdist_forward.default",
])
def test_operations_that_reach_unwritten_or_unchecked_memory_are_refused(op):
    """Growing a tensor into memory nobody wrote, indexing without bounds checks, tensors built from unchecked
    indices, files and other backends: a traced graph that names one earns a failure before anything runs."""
    opname = op.partition("::")[2].rpartition(".")[0]
    if op == "aten::_cdist_forward.default":  # the control: an operation honest networks use (torch.cdist)
        assert not refused(opname)
        return
    assert refused(opname)
    with pytest.raises(GradingFailure, match="which a network does not need"):
        Graph(_record(_node("y", op, X, X), result="y"), "net")


def test_the_operations_of_honest_networks_are_not_refused():
    """What make_fx records for the course's own networks (dropout and noise allocate with empty_like and
    new_empty, then fill): none is refused."""
    from torch import nn

    from autograder.probes.graph import trace

    class Honest(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.norm = nn.BatchNorm2d(4)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            h = nn.functional.leaky_relu(self.norm(self.conv(x)), 0.2)
            h = h + torch.randn_like(h) * 0.1
            return self.fc(self.drop(h).flatten(1)) @ torch.ones(3, 3)

    record = Record()
    trace(record, "net", Honest().train(), torch.randn(2, 1, 8, 8))
    graph = Graph(Record.decode(record.encode()), "net")
    assert "empty_like" in graph.operations or "new_empty" in graph.operations or "empty" in graph.operations
    out = graph(torch.randn(2, 1, 8, 8))  # a trace fixes the batch size it saw
    assert out.shape == (2, 3) and torch.isfinite(out).all()


# Views built from sizes and strides the graph gives, wider than the memory under them: each must stop the graph
# before anything reads past its end, whatever the operation is called (an outside gaming pass read the judge's
# heap through aten::_reshape_alias, which checks nothing, and had the bytes printed back as a shape).
WIDENED = {
    "_reshape_alias": _node("w", "aten::_reshape_alias.default", {"node": "z"}, _ints(64), _ints(1)),
    "_reshape_alias, offset by its stride": _node("w", "aten::_reshape_alias.default", {"node": "z"}, _ints(2, 2),
                                                  _ints(40, 1)),
    "as_strided": _node("w", "aten::as_strided.default", {"node": "z"}, _ints(64), _ints(1)),
}


@pytest.mark.parametrize("widening", sorted(WIDENED))
def test_a_view_wider_than_its_memory_stops_the_graph_before_it_is_read(widening):
    graph = Graph(_record(_node("z", "aten::zeros.default", _ints(4)), WIDENED[widening],
                          _node("c", "aten::clone.default", {"node": "w"}), result="c"), "net")
    _freed_marker_memory()
    with pytest.raises((GradingFailure, RuntimeError), match="reaches outside its own memory|out of bounds") as caught:
        graph(torch.ones(4))
    assert str(MARKER) not in str(caught.value)


def test_views_inside_their_memory_still_run():
    """The check reads sizes and strides only: an honest reshape, a transposed or broadcast view, a narrowed
    one and an empty one all pass through it."""
    graph = Graph(_record(
        _node("z", "aten::arange.default", {"int": 12}),
        _node("a", "aten::_reshape_alias.default", {"node": "z"}, _ints(3, 4), _ints(4, 1)),
        _node("t", "aten::t.default", {"node": "a"}),
        _node("e", "aten::expand.default", {"node": "t"}, _ints(2, 4, 3)),
        _node("n", "aten::narrow.default", {"node": "e"}, {"int": 2}, {"int": 1}, {"int": 2}),
        _node("k", "aten::slice.Tensor", {"node": "n"}, {"int": 0}, {"int": 0}, {"int": 0}),
        _node("c", "aten::sum.default", {"node": "n"}), result="c"), "net")
    assert int(graph(torch.ones(4))) == 2 * sum(4 * j + i for i in (1, 2) for j in range(4))


def test_a_graph_that_makes_the_judge_work_on_is_stopped(monkeypatch):
    """The judge runs outside the sandbox's CPU and memory groups: an outside gaming pass forged 500 in-place
    products of 4096 x 4096 matrices and held it for its whole 600-s allowance. A graph gets CPU_SECONDS over all
    its calls (here lowered, so that the test is quick) and no tensor of more than MAX_ELEMENTS elements, a
    broadcast view included."""
    from autograder.judges import graph as graph_module

    monkeypatch.setattr(graph_module, "CPU_SECONDS", 0.3, raising=False)
    square = _node("m", "aten::ones.default", _ints(512, 512))
    products = [_node(f"p{i}", "aten::addmm_.default", {"node": "m"}, {"node": "m"}, {"node": "m"})
                for i in range(2000)]
    graph = Graph(_record(square, *products, result="p1999"), "net")
    start = time.perf_counter()
    with pytest.raises(GradingFailure, match="over 0.3 s of computing"):
        graph(torch.ones(4))
    assert time.perf_counter() - start < 10 and graph.cpu_seconds < 3
    wide = _node("w", "aten::expand.default", {"node": "z"}, _ints(2**14, 2**13))
    with pytest.raises(GradingFailure, match="134,217,728 elements"):
        Graph(_record(_node("z", "aten::ones.default", _ints(1)), wide, result="w"), "net")(torch.ones(4))
