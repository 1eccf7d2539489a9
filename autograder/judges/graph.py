"""Rerun a network that a probe traced (:mod:`autograder.probes.graph`), in the judge.

The graph is data: a list of ATen operations with their arguments. :class:`Graph` rebuilds it from
``torch.ops.aten`` only (no Python from the submission is ever run), refusing operations that reach files,
devices or memory nobody wrote (memory that ``empty`` and its kin allocate is zeroed), and runs it with
inputs and parameters the judge chooses. Gradients flow through it as through the original network.
"""

from __future__ import annotations

import operator
import time
from typing import Any

import torch

from autograder.judges import fail
from autograder.probes.record import Record

NAMESPACES = {"aten", "prims"}
# The graph is the student's data, and every value it computes may come back in a message. So the judge refuses,
# by any word of their names, the operations a network's forward pass never needs that reach files, devices or
# other backends, or that would show the judge's own memory: resizing a tensor into memory nobody wrote, kernels
# that skip the bounds checks of indexing ("unsafe"), and sparse, quantized or nested tensors, which torch builds
# from indices it does not check.
REFUSED = ("file", "save", "load", "print", "storage", "pin_memory", "record_stream", "set_", "cuda", "mps",
           "mkldnn", "cudnn", "miopen", "fbgemm", "xnnpack", "vulkan", "resize", "unsafe", "sparse", "quantize",
           "nested")
# ...except these, which make_fx records for ordinary networks and which read only what their input holds.
ALLOWED = {"_unsafe_view"}  # reshape() of a matmul's result: the same elements, checked like view()
# Operations that allocate without writing: make_fx records them for dropout (empty_like, then bernoulli_) or
# noise (new_empty, then normal_). The judge runs them and zeroes what they return before the graph sees it.
UNWRITTEN = "empty"
# A network updates some of its own tensors in place under torch.no_grad(), which a trace does not record: spectral
# norm's power iteration (F.normalize(..., out=u)) and nn.Embedding(max_norm=...)'s renormalisation. Replayed with
# parameters that require gradients, autograd refuses those operations with one of these messages; the judge then
# runs that one operation without gradients, as the network did (an other-style student's spectrally normalised D
# and max-norm embedding lost their points to a message about shapes and dtypes). It can only take gradients away.
WITHOUT_GRADIENT = ("don't support automatic differentiation", "is being used in an in-place operation")
# The work a graph may make the judge do, which runs outside the sandbox's cgroups: no tensor of more elements than
# this (the course's networks stay near 5 million on the judge's inputs; a broadcast view counts its full size),
# and no more CPU seconds than this over all the calls of one graph (honest graphs: at most 0.1 s, measured). An
# outside gaming pass forged 500 in-place products of 4096 x 4096 matrices and held the judge for its whole
# 600-second allowance; the student's classmates waited.
MAX_ELEMENTS = 2**26
CPU_SECONDS = 30.0


def refused(opname: str) -> bool:
    """Whether the judge refuses to run the ATen operation ``opname`` (e.g. 'resize_') from a traced graph."""
    return opname not in ALLOWED and any(word in opname for word in REFUSED)


def _within_storage(value: Any, name: str) -> None:
    """Every tensor an operation returns must lie inside its own storage. A few kernels build a view from the
    sizes and strides they are given without checking them (``_reshape_alias`` did: an outside gaming pass widened
    a 4-float tensor with it and read the judge's heap back through a shape), so the check is made here, on every
    result of every operation, whatever its name, before any other operation can read it."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _within_storage(item, name)
        return
    if not isinstance(value, torch.Tensor) or value.numel() == 0:
        return
    if value.numel() > MAX_ELEMENTS:
        fail(f"the traced forward pass's operation {name} made a tensor of {value.numel():,} elements, more than a "
             "network of this course needs.")
    try:
        last = value.storage_offset() + sum((n - 1) * abs(s) for n, s in zip(value.shape, value.stride()))
        inside = value.storage_offset() >= 0 and (last + 1) * value.element_size() <= value.untyped_storage().nbytes()
    except (RuntimeError, NotImplementedError):
        inside = False
    if not inside:
        fail(f"the traced forward pass's operation {name} made a tensor that reaches outside its own memory.")


def _zeroed(op):
    def allocate(*args, **kwargs):
        return op(*args, **kwargs).zero_()
    return allocate


def _operation(name: str):
    if name == "getitem":
        return operator.getitem
    namespace, _, rest = name.partition("::")
    opname, _, overload = rest.rpartition(".")
    if namespace not in NAMESPACES or not opname or refused(opname):
        fail(f"the traced forward pass uses the operation {name}, which a network does not need.")
    try:
        op = getattr(getattr(getattr(torch.ops, namespace), opname), overload)
    except AttributeError:
        fail(f"the traced forward pass uses an unknown operation {name}.")
    return _zeroed(op) if UNWRITTEN in opname else op


def _enum(kind: str, name: str):
    if kind == "device":
        return torch.device("cpu")  # the judge runs everything on the CPU
    value = getattr(torch, str(name), None)
    expected = {"dtype": torch.dtype, "layout": torch.layout, "memory_format": torch.memory_format}[kind]
    if not isinstance(value, expected):
        fail(f"the traced graph names an unknown {kind} {name!r}.")
    return value


def _decode(value: Any, env: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if "node" in value:
            return env[value["node"]]
        if "list" in value:
            return [_decode(v, env) for v in value["list"]]
        if "int" in value:
            return int(value["int"])
        if "float" in value:
            return float(value["float"])
        for kind in ("dtype", "device", "layout", "memory_format"):
            if kind in value:
                return _enum(kind, value[kind])
        fail("the traced graph holds an argument the judge cannot read.")
    if value is None or isinstance(value, (bool, str)):
        return value
    fail("the traced graph holds an argument the judge cannot read.")


def _references(value: Any) -> list[str]:
    """The names of the nodes an encoded argument refers to."""
    if isinstance(value, dict):
        if "node" in value:
            return [str(value["node"])]
        if "list" in value and isinstance(value["list"], list):
            return [ref for item in value["list"] for ref in _references(item)]
    return []


def first_words(error: str, limit: int = 160) -> str:
    """The first line of a tracer's error, at most ``limit`` characters cut at a word: torch's own messages run to
    many lines of its internals and advice meant for its developers, not for a student."""
    line = error.strip().splitlines()[0] if error.strip() else "no message"
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + " …"


def untraceable(what: str, error: str | None, branch_on: str) -> str:
    """The failure message for a network the tracer could not follow: why, in one short line, and what to do."""
    why = f" ({first_words(error)})" if error else ""
    return (f"{what} could not be traced by the grader{why}. The grader follows forward() as tensor operations: do "
            f"not read a tensor's value in Python (.item(), .tolist(), int(...), if/for on {branch_on})")


class Graph:
    """A traced forward pass, rebuilt from a record; call it like the network it came from."""

    def __init__(self, record: Record, name: str) -> None:
        spec = record.facts.get(name)
        if not isinstance(spec, dict) or "nodes" not in spec:
            error = record.raised(name)
            fail(untraceable("the network", error, "a value") + ".")
        self.name = name
        self.placeholders: dict[str, str] = spec["placeholders"]
        self.nodes: list[dict] = spec["nodes"]
        self.shapes: dict[str, list[int]] = spec["shapes"]
        self.dtypes: dict[str, str] = spec.get("dtypes", {})
        self.parameter_names: list[str] = [k for k in spec.get("parameters", []) if k in self.shapes]
        self.input_shapes: list[list[int]] = spec.get("inputs", [])
        self.constants = {n["name"]: record.tensor(f"{name}/const/{n['name']}")
                          for n in self.nodes if n.get("op") == "constant"}
        self.state = {k: record.tensor(f"{name}/{k}") for k in self.shapes if record.has(f"{name}/{k}")}
        self.cpu_seconds = 0.0  # spent running this graph, over all its calls
        self._ops = [(n, _operation(n["op"])) if n["op"] not in ("constant", "output") else (n, None)
                     for n in self.nodes]

    @property
    def operations(self) -> list[str]:
        """The names of the operations in the order the forward pass ran them (e.g. 'convolution')."""
        return [n["op"].partition("::")[2].rpartition(".")[0] or n["op"] for n in self.nodes
                if n["op"] not in ("constant", "output", "getitem")]

    def on_the_input(self) -> set[str]:
        """The names of the nodes whose value depends on an input of the network (not on its weights and buffers
        alone): spectral norm's power iteration runs matrix products on a weight and its own vectors, which are not
        layers that the data passes through (an other-style student's D was counted 9 dense layers for them)."""
        reached = {name for name, label in self.placeholders.items() if label.startswith("input:")}
        for node in self.nodes:
            if any(ref in reached for ref in _references(node.get("args"))) or any(
                    ref in reached for value in node.get("kwargs", {}).values() for ref in _references(value)):
                reached.add(node["name"])
        return reached

    def calls(self, operation: str) -> list[dict]:
        """The nodes that ran ``operation`` (e.g. 'convolution'), for reading their arguments."""
        return [n for n in self.nodes if n["op"].partition("::")[2].rpartition(".")[0] == operation]

    def argument(self, node: dict, index: int) -> Any:
        """A constant argument of a node (a stride, a flag), as a Python value."""
        args = node.get("args", {}).get("list", [])
        return _decode(args[index], {}) if index < len(args) and not (
            isinstance(args[index], dict) and "node" in args[index]) else None

    def parameters(self, requires_grad: bool = False) -> dict[str, torch.Tensor]:
        """Fresh copies of the recorded parameters and buffers (parameters requiring grad, if asked)."""
        state = {k: v.clone() for k, v in self.state.items()}
        if requires_grad:
            for k in self.parameter_names:
                if k in state and state[k].is_floating_point():
                    state[k].requires_grad_(True)
        return state

    def __call__(self, *inputs: torch.Tensor, state: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        start = time.process_time()
        try:
            return self._run(inputs, state, start)
        finally:
            self.cpu_seconds += time.process_time() - start

    def _run(self, inputs: tuple[torch.Tensor, ...], state: dict[str, torch.Tensor] | None, start: float):
        state = self.parameters() if state is None else state
        env: dict[str, Any] = {}
        for node_name, label in self.placeholders.items():
            kind, _, key = label.partition(":")
            if kind == "param":
                if key not in state:
                    fail(f"the grader has no value for the network's parameter {key}.")
                env[node_name] = state[key]
            else:  # a copy: a view of a larger tensor of the judge's would let as_strided read the rest of it
                env[node_name] = inputs[int(key)].clone()
        for node, op in self._ops:
            if node["op"] == "constant":
                env[node["name"]] = self.constants[node["name"]].clone()
            elif node["op"] == "output":
                out = _decode(node["args"], env)[0]
                return out[0] if isinstance(out, list) and len(out) == 1 else out
            else:
                args = _decode(node["args"], env)
                kwargs = {k: _decode(v, env) for k, v in node["kwargs"].items()}
                try:
                    env[node["name"]] = op(*args, **kwargs)
                except RuntimeError as error:
                    if not any(words in str(error) for words in WITHOUT_GRADIENT):
                        raise
                    with torch.no_grad():  # as the network ran it: see WITHOUT_GRADIENT
                        env[node["name"]] = op(*args, **kwargs)
                _within_storage(env[node["name"]], node["op"])
                if self.cpu_seconds + time.process_time() - start > CPU_SECONDS:
                    fail(f"the traced forward pass took the grader over {CPU_SECONDS:g} s of computing, far more "
                         "than a network of this course needs.")
        fail("the traced graph has no output.")
