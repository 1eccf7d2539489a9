"""What the judges check on any traced network: gradients, layer order, per-sample behaviour, weights.

Every function takes a :class:`~autograder.judges.graph.Graph` (a network a probe traced) and runs it
with inputs the judge draws, so that the network is judged by what it does, however it is written:
``nn.Sequential`` or functional calls, a linear projection or a 1x1 transposed convolution.
"""

from __future__ import annotations

import math

import torch

from autograder.judges import assert_close, fail
from autograder.judges.graph import Graph, untraceable
from autograder.probes.record import Record

# Operations that multiply by learned weights: the "layers" of a network, in ATen's names.
WEIGHTED = {"convolution", "mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "_convolution", "einsum"}
POOLING = ("pool",)


def is_batch_norm(operation: str) -> bool:
    return "batch_norm" in operation


def batch_norm_after_last_layer(graph: Graph) -> bool:
    ops = graph.operations
    last = max((i for i, op in enumerate(ops) if op in WEIGHTED), default=-1)
    return any(is_batch_norm(op) for op in ops[last + 1:])


def first_layer_is_batch_norm(graph: Graph) -> bool:
    first = next((op for op in graph.operations if op in WEIGHTED or is_batch_norm(op)), None)
    return first is not None and is_batch_norm(first)


def pooling(graph: Graph) -> list[str]:
    return sorted({op for op in graph.operations if any(word in op for word in POOLING)})


def conv_strides(graph: Graph, transposed: bool = False) -> list[int]:
    """The largest stride of every convolution (or, with ``transposed``, every transposed convolution), in order."""
    strides = []
    for node in graph.calls("convolution"):
        stride, is_transposed = graph.argument(node, 3), graph.argument(node, 6)
        if bool(is_transposed) == transposed and stride is not None:
            strides.append(max(stride) if isinstance(stride, list) else int(stride))
    return strides


DENSE = ("mm", "addmm", "bmm", "baddbmm", "matmul", "linear", "einsum", "mv", "addmv", "dot")


def dense_layers(graph: Graph) -> int:
    """How many matrix products (linear layers) the forward pass runs on its input: products of the weights alone
    (spectral norm's power iteration) are not layers."""
    data = graph.on_the_input()
    return sum(node["name"] in data for op in DENSE for node in graph.calls(op))


def upsamples_with_transposed_convolutions(graph: Graph, what: str) -> None:
    """The DCGAN generator's guideline: at least two transposed convolutions of stride 2 (7 -> 14 -> 28)."""
    strided = [s for s in conv_strides(graph, transposed=True) if s >= 2]
    if len(strided) < 2:
        fail(f"{what} runs {len(strided)} transposed convolution(s) of stride 2; it must upsample with them, "
             "7 -> 14 -> 28 (two of them), not with dense layers, pooling or resizing.")


def downsamples_with_strided_convolutions(graph: Graph, what: str) -> None:
    """The DCGAN discriminator's guideline: at least two strided convolutions (28 -> 14 -> 7), no pooling."""
    pools = pooling(graph)
    if pools:
        fail(f"{what} pools its feature maps ({', '.join(pools)}); DCGAN downsamples with strided convolutions "
             "instead (guideline 1).")
    strided = [s for s in conv_strides(graph) if s >= 2]
    if len(strided) < 2:
        fail(f"{what} runs {len(strided)} convolution(s) of stride 2; it must downsample with them, 28 -> 14 -> 7 "
             "(two of them): that is how DCGAN downsamples.")


def leaky_slopes(graph: Graph) -> list[float]:
    slopes = []
    for node in graph.calls("leaky_relu") + graph.calls("leaky_relu_"):
        slope = graph.argument(node, 1)
        slopes.append(0.01 if slope is None else float(slope))
    return slopes


def parameter_count(graph: Graph) -> int:
    return sum(math.prod(graph.shapes[k]) for k in graph.parameter_names)


def every_parameter_learns(graph: Graph, inputs: list[torch.Tensor], what: str, gen: torch.Generator) -> None:
    """A random weighting of the outputs sends a finite, non-zero gradient to every parameter."""
    state = graph.parameters(requires_grad=True)
    params = [(k, state[k]) for k in graph.parameter_names if state[k].requires_grad]
    if not params:
        fail(f"{what} has no trainable parameters (register its layers as attributes of the module).")
    out = graph(*inputs, state=state)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()
    grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
    for (name, _), grad in zip(params, grads):
        if grad is None or not bool(torch.isfinite(grad).all()) or float(grad.abs().max()) == 0.0:
            fail(f"no gradient reaches {what}'s parameter `{name}`: every layer must be used in forward().")


def depends_on_input(graph: Graph, inputs: list[torch.Tensor], index: int, what: str) -> None:
    x = inputs[index].clone().requires_grad_(True)
    args = list(inputs)
    args[index] = x
    (grad,) = torch.autograd.grad(graph(*args).sum(), x, allow_unused=True)
    if grad is None or float(grad.abs().max()) == 0.0:
        fail(f"{what}'s output does not depend on its input.")


def large_weights(graph: Graph, gen: torch.Generator, std: float = 1.0) -> dict[str, torch.Tensor]:
    """The graph's state with every parameter redrawn from N(0, std^2): the last layer then sees huge inputs."""
    state = graph.parameters()
    for name in graph.parameter_names:
        if state[name].is_floating_point():
            state[name] = torch.randn(state[name].shape, generator=gen) * std
    return state


def random_state(graph: Graph, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Parameters of the recorded shapes for a graph traced without its weights (buffers at their defaults)."""
    state = {}
    for name, shape in graph.shapes.items():
        dtype = getattr(torch, graph.dtypes.get(name, "float32"))
        if name in graph.parameter_names:
            state[name] = torch.randn(shape, generator=gen).to(dtype) * 0.05
        elif "var" in name:
            state[name] = torch.ones(shape, dtype=dtype)
        elif name.endswith(("_u", "_v")):  # spectral norm's vectors: zeros would make its sigma 0 and D's output nan
            state[name] = torch.nn.functional.normalize(torch.randn(shape, generator=gen), dim=0).to(dtype)
        else:
            state[name] = torch.zeros(shape, dtype=dtype)
    return state


def batch_independent(batch: Graph, single: Graph, inputs: list[torch.Tensor], what: str, atol: float = 1e-4) -> None:
    """In eval mode each sample's output depends on that sample only: one at a time equals the batch."""
    with torch.no_grad():
        together = batch(*inputs)
        alone = torch.cat([single(*[x[i:i + 1] for x in inputs], state=batch.parameters())
                           for i in range(len(inputs[0]))])
    assert_close(alone.reshape(together.shape) if alone.numel() == together.numel() else alone, together,
                 f"{what} in eval mode, samples one at a time vs. in a batch", atol=atol)


def traced_graph(record: Record, name: str, call: str) -> Graph:
    """The graph traced under ``name``, or a failure saying why ``call`` could not be traced."""
    error = record.raised(name)
    if error:
        fail(untraceable(call, error, "a label") + ", use tensor operations on the labels instead.")
    return Graph(record, name)


def gradients_flow(record: Record, graph: Graph, inputs: list[torch.Tensor], weighting: torch.Tensor,
                   what: str, first: str) -> None:
    """The gradients autograd gave in the sandbox (probe) equal those of the traced graph: no ``.detach()`` or
    ``torch.no_grad()`` inside forward cuts a path (a trace cannot show them)."""
    error = record.raised(f"{graph.name}/grad")
    if error:
        fail(f"backpropagating through {what} in eval mode raised {error}")
    state = graph.parameters(requires_grad=True)
    params = [k for k in graph.parameter_names if state[k].requires_grad]
    x = inputs[0].clone().requires_grad_(True)
    out = graph(x, *inputs[1:], state=state)
    grads = torch.autograd.grad((out * weighting).sum(), [state[k] for k in params] + [x], allow_unused=True)
    cut, bent = [], []
    for key, expected in zip(params + ["input"], grads):
        got = record.tensor(f"{graph.name}/grad/{key}") if record.has(f"{graph.name}/grad/{key}") else None
        expected = torch.zeros_like(x if key == "input" else state[key]) if expected is None else expected
        scale = float(expected.abs().max())
        if got is None:
            got = torch.zeros_like(expected)
        if tuple(got.shape) != tuple(expected.shape) or float((got - expected).abs().max()) > 1e-3 * scale + 1e-12:
            where = first if key == "input" else f"the parameter `{key}`"
            (cut if float(got.abs().max()) == 0.0 else bent).append(where)
    if cut or bent:
        fail(f"backpropagation through {what} does not reach {(cut + bent)[0]} as its forward pass says it should: a "
             ".detach() or torch.no_grad() inside forward cuts the path (every parameter, and the input, must get "
             "its gradient).")
