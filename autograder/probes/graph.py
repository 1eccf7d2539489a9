"""Record a network's forward pass as a graph of ATen operations, so that the judge can rerun it.

A student's network is code, and the judge runs no student code. So the probe traces one forward pass
with ``make_fx``: the result lists every tensor operation in order (convolutions, batch norms, tanh,
views...), with the parameters and buffers as inputs. That list is data. The judge rebuilds it from
a fixed set of operations (:mod:`autograder.judges.graph`) and runs it on inputs and parameters of its
own choosing: other values, other weights, gradients, train and eval mode. A graph that merely looks
right on the probe's inputs would fail there.

Python control flow in ``forward`` is fixed at the traced values (shapes, branches); the probe traces
each mode and batch size the judge needs.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

import torch
from torch import nn
from torch.fx.experimental.proxy_tensor import make_fx
from torch.utils import _pytree

from autograder.probes.record import Record

_ENUMS = {torch.dtype: "dtype", torch.device: "device", torch.layout: "layout", torch.memory_format: "memory_format"}


def _encode(value: Any, nodes: set[str]) -> Any:
    if isinstance(value, torch.fx.Node):
        return {"node": value.name}
    if isinstance(value, (list, tuple, torch.Size)):
        return {"list": [_encode(v, nodes) for v in value]}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": repr(value)}
    for kind, tag in _ENUMS.items():
        if isinstance(value, kind):
            return {tag: str(value).replace("torch.", "")}
    raise TypeError(f"cannot record an argument of type {type(value).__name__} in a traced graph")


def _target(node: torch.fx.Node) -> str:
    if node.target is operator.getitem:
        return "getitem"
    if isinstance(node.target, torch._ops.OpOverload):
        return f"{node.target.namespace}::{node.target._opname}.{node.target._overloadname}"
    raise TypeError(f"the forward pass called {node.target}, which is not a tensor operation")


@contextlib.contextmanager
def _fixed_batchnorm_momentum(net: nn.Module):
    """A norm layer keeping running statistics with ``momentum=None`` (a cumulative average of them: BatchNorm, or
    InstanceNorm with track_running_stats) reads its batch count as a Python number in training mode, which no
    trace can follow. The momentum only sets how the running statistics move, never what the layer outputs, so it
    is 0.1 while the pass is traced, then None again."""
    cumulative = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._NormBase) and m.momentum is None]
    for module in cumulative:
        module.momentum = 0.1
    try:
        yield
    finally:
        for module in cumulative:
            module.momentum = None


def trace(record: Record, name: str, net: nn.Module, *inputs: torch.Tensor, weights: bool = True,
          tracing_mode: str = "real") -> None:
    """Trace ``net(*inputs)`` in its current mode (train or eval) into ``record`` under ``name``.

    The parameters and buffers are stored too (unless ``weights`` is False: then only their shapes,
    for a judge that draws its own), with their names, so that the judge can set or replace them.
    The network itself is not changed: the pass runs on copies of its parameters and buffers.
    ``tracing_mode="fake"`` follows shapes only: needed where a library function checks its input's
    values in Python (``F.one_hot`` does), at the price of refusing Python branches on values.
    """
    state = {k: v.detach().clone() for k, v in {**dict(net.named_parameters()), **dict(net.named_buffers())}.items()}

    def forward(params, *xs):
        return torch.func.functional_call(net, params, xs)

    with _fixed_batchnorm_momentum(net):
        gm = make_fx(forward, tracing_mode=tracing_mode)({k: v.clone() for k, v in state.items()}, *inputs)
    leaves, _ = _pytree.tree_flatten((dict(state), *inputs))
    labels = [f"param:{k}" for k in state] + [f"input:{i}" for i in range(len(inputs))]
    if len(labels) != len(leaves):
        raise TypeError("the network's inputs must be tensors")
    placeholders, nodes, constants = [], [], {}
    names: set[str] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            placeholders.append(node.name)
        elif node.op == "get_attr":
            value = getattr(gm, node.target)
            constants[node.name] = value
            nodes.append({"name": node.name, "op": "constant"})
        elif node.op == "call_function":
            nodes.append({"name": node.name, "op": _target(node), "args": _encode(list(node.args), names),
                          "kwargs": {k: _encode(v, names) for k, v in node.kwargs.items()}})
        elif node.op == "output":
            nodes.append({"name": node.name, "op": "output", "args": _encode(list(node.args), names)})
        else:
            raise TypeError(f"unexpected graph node {node.op}")
        names.add(node.name)
    record.fact(name, {"placeholders": dict(zip(placeholders, labels)), "nodes": nodes,
                       "shapes": {k: list(v.shape) for k, v in state.items()},
                       "parameters": [k for k, _ in net.named_parameters()],
                       "dtypes": {k: str(v.dtype).replace("torch.", "") for k, v in state.items()},
                       "inputs": [list(x.shape) for x in inputs]})
    if weights:
        for key, value in state.items():
            record.array(f"{name}/{key}", value)
    for key, value in constants.items():
        record.array(f"{name}/const/{key}", value)


def build(record: Record, name: str, cls, **kwargs) -> nn.Module | None:
    """``cls(**kwargs)``, or None with the reason recorded under ``name`` when it raises or is no module."""
    net = record.call(name, cls, **kwargs)
    if net is not None and not isinstance(net, nn.Module):
        record.fact(name, {"error": "TypeError", "message": f"built a {type(net).__name__}, not a torch.nn.Module"})
        return None
    return net


def traced(record: Record, name: str, net: nn.Module, *inputs: torch.Tensor, weights: bool = True,
           tracing_mode: str = "real") -> None:
    """:func:`trace`, with a failure to trace recorded under ``name`` instead of raised."""
    record.call(name, trace, record, name, net, *inputs, weights=weights, tracing_mode=tracing_mode)


def backpropagated(record: Record, name: str, net: nn.Module, inputs: list[torch.Tensor],
                   weighting: torch.Tensor) -> None:
    """The gradients of sum(net(*inputs) * weighting) that autograd gives, for every parameter and the first
    input, under ``name/grad/...``. A trace turns ``.detach()`` into a plain alias and ignores
    ``torch.no_grad()``; the judge compares these with the gradients of the traced graph
    (:func:`autograder.judges.networks.gradients_flow`), which can only cost points."""

    def run() -> None:
        first = inputs[0].clone().requires_grad_(True)
        named = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
        out = net(first, *inputs[1:])
        grads = torch.autograd.grad((out * weighting).sum(), [first] + [p for _, p in named], allow_unused=True)
        for key, grad in zip(["input"] + [k for k, _ in named], grads):
            if grad is not None:
                record.array(f"{name}/grad/{key}", grad)

    record.call(f"{name}/grad", run)
