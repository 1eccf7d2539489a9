"""Judges of assignment 7 (chapter 7): AdaIN, noise injection, and CycleGAN's cycle-consistency loss.

AdaIN's values and gradients are compared with float64 references written here, on the probe's
inputs made again here. The noise layer is rerun from its traces with the judge's own inputs and
weights: with a given noise map against x + w * noise in float64 (values and gradients), and
without one, where the judge's reruns draw the noise afresh, on what that noise is (one standard
Gaussian map per sample, shared by the channels, fresh at every call); the gradients the layer
itself sent back on the probe's inputs are checked too, since a traced graph cannot show a detach.
The cycle loss is recomputed on the judge's own copies of the grader's generators, values and the
gradients both receive.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from autograder.judges import answer, assert_close, fail, to_numpy, worst_element
from autograder.judges.graph import Graph
from autograder.probes.a7 import (
    CYCLE_CASES,
    GENERATOR_PARAMETERS,
    NOISE_SHAPES,
    adain_cases,
    cycle_inputs,
    noise_run_inputs,
)
from autograder.probes.record import Record, salted_generator


def _default(record: Record, key: str, name: str, value: float, call: str) -> None:
    """The answer's ``name`` parameter must exist with the library's default ``value``."""
    got = record.facts.get(key)
    if not isinstance(got, dict):
        return
    try:
        ok = name in got and got[name] is not None and float(got[name]) == value
    except (TypeError, ValueError):
        ok = False
    if not ok:
        fail(f"the signature must be {call}: the argument `{name}` with default {value:g} is missing "
             "(the course library's version has the same signature).")


# --- part 1: AdaIN -------------------------------------------------------------------------------------

def ref_adain(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float, axes=(2, 3), ddof: int = 0,
              eps_outside: bool = False) -> np.ndarray:
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
    return scale[:, :, None, None] * (x - mean) / std + bias[:, :, None, None]


def _adain64(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """The same formula in float64 torch, for the expected gradients."""
    centred = x - x.mean(dim=(2, 3), keepdim=True)
    var = (centred * centred).mean(dim=(2, 3), keepdim=True)
    return scale[:, :, None, None] * centred / torch.sqrt(var + eps) + bias[:, :, None, None]


def _adain_hint(out: np.ndarray, x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float) -> str:
    """Name the usual slip that the observed output matches, if any."""
    def near(other: np.ndarray) -> bool:
        if other.shape != out.shape or not np.all(np.isfinite(other)):
            return False
        return float(np.max(np.abs(out - other))) <= 1e-3 * (1 + float(np.max(np.abs(other))))
    if near(ref_adain(x, bias, scale, eps)):
        return " (that is AdaIN with scale and bias swapped)"
    if x.shape[2] * x.shape[3] > 1 and near(ref_adain(x, scale, bias, eps, ddof=1)):
        return " (that uses the unbiased variance, divided by H*W - 1; use the biased one, divided by H*W)"
    if near(ref_adain(x, scale, bias, eps, eps_outside=True)):
        return " (that adds eps to the standard deviation; add it to the variance, inside the square root)"
    with np.errstate(all="ignore"):
        for axes, name in (((0, 2, 3), "batch norm: over N, H and W"), ((1, 2, 3), "layer norm: over C, H and W"),
                           ((0, 1, 2, 3), "over every value of x"), ((1,), "over the channels")):
            if near(ref_adain(x, scale, bias, eps, axes)):
                return f" (that normalises over the wrong dimensions, {name}; AdaIN uses H and W only)"
    if near(np.broadcast_to(ref_adain(x, np.ones_like(scale), np.zeros_like(bias), eps), out.shape)):
        return " (that is instance normalisation without the style: multiply by scale and add bias)"
    return ""


def judge_adain(record: Record) -> None:
    _default(record, "signature", "eps", 1e-5, "adain(x, scale, bias, eps=1e-5)")
    for i, (where, x, scale, bias, eps, weights) in enumerate(adain_cases()):
        what = f"adain {where}"
        out = answer(record, f"out/{i}", what)
        if tuple(out.shape) != tuple(x.shape):
            fail(f"{what} must return the shape of x, {tuple(x.shape)}, got {tuple(out.shape)}.")
        if record.has(f"x_after/{i}") and not torch.equal(record.tensor(f"x_after/{i}"), x):
            fail(f"{what}: adain changed its input x in place; compute a new tensor instead.")
        e = 1e-5 if eps is None else eps
        xs, ss, bs = to_numpy(x), to_numpy(scale), to_numpy(bias)
        expected, got = ref_adain(xs, ss, bs, e), to_numpy(out)
        finite = bool(np.all(np.isfinite(got)))
        # float32 instance norm (F.instance_norm) is off by up to about 1e-4 on a channel whose variance is near
        # eps; every slip the hint names is off by far more there
        worst = float(np.max(np.abs(got - expected) - 1e-4 * np.abs(expected))) if finite else math.inf
        if worst > 1e-3:
            fail(f"{what}: expected {np.array2string(expected.ravel()[:4], precision=4)}, got "
                 f"{np.array2string(got.ravel()[:4], precision=4)}{worst_element(got, expected, 1e-4)}"
                 f"{_adain_hint(got, xs, ss, bs, e)}.")
        if not record.facts.get(f"out/{i}", {}).get("requires_grad"):
            fail(f"{what}: the output is not connected to the inputs (no gradient flows back); compute it with "
                 "torch operations on x, scale and bias, without .detach(), .item() or NumPy.")
        error = record.raised(f"grad/{i}")
        if error:
            fail(f"{what}: the gradient of the output could not be computed ({error}).")
        inputs = [t.double().requires_grad_(True) for t in (x, scale, bias)]
        expected_grads = torch.autograd.grad((_adain64(*inputs, e) * weights.double()).sum(), inputs)
        for name, ref in zip(("x", "scale", "bias"), expected_grads):
            if not record.has(f"grad/{i}/{name}"):
                fail(f"{what}: no gradient reaches `{name}`. Compute the output with torch operations on x, scale "
                     "and bias (no .detach(), .numpy() or .item()): in StyleGAN the style is computed from w and "
                     "trained, so gradients must flow to all three.")
            # the outputs are already checked; here only a path that is cut or bent matters, and a sum over H*W
            # of float32 round-off (up to about 6e-4 with F.instance_norm) must not
            assert_close(record.tensor(f"grad/{i}/{name}"), ref, f"the gradient of {what} with respect to `{name}`",
                         rtol=1e-2, atol=5e-3)


# --- part 2: noise injection ---------------------------------------------------------------------------

RANDOM_OPS = ("randn", "rand", "random", "normal", "uniform", "bernoulli", "multinomial", "randint", "randperm",
              "exponential", "geometric", "cauchy", "log_normal")


def _draws(graph: Graph) -> bool:
    return any(op.rstrip("_").startswith(RANDOM_OPS) for op in graph.operations)


def _noise_weight(record: Record, graph: Graph, i: int, channels: int) -> str:
    """The name of the layer's one parameter, the weight with one value per channel, or fail."""
    shapes = {k: tuple(graph.shapes[k]) for k in graph.parameter_names}
    learnable = record.facts.get(f"learnable/{i}", {})
    frozen = [k for k in shapes if isinstance(learnable, dict) and learnable.get(k) is False]
    if frozen:
        fail(f"NoiseInjection(channels={channels})'s parameter `{frozen[0]}` does not require gradients: the weight "
             "must be learned (nn.Parameter, with requires_grad left on).")
    found = [k for k, shape in shapes.items() if math.prod(shape) == channels]
    if len(shapes) != 1 or len(found) != 1:
        fail(f"NoiseInjection(channels={channels}) should have exactly one learnable parameter, the weight with one "
             f"value per channel ({channels}); found parameters of shapes {list(shapes.values())}. Wrap the weight "
             "in nn.Parameter (a plain tensor or a buffer is not trained by the optimizer).")
    return found[0]


def _state(graph: Graph, name: str, weight: torch.Tensor, requires_grad: bool = False) -> dict[str, torch.Tensor]:
    """The graph's recorded state in float64, with the noise weight replaced by ``weight`` (one per channel)."""
    state = {k: v.double() if v.is_floating_point() else v for k, v in graph.parameters().items()}
    state[name] = weight.double().reshape(graph.shapes[name]).clone().requires_grad_(requires_grad)
    return state


def _channel_weights(channels: int, gen: torch.Generator) -> torch.Tensor:
    """Per-channel weights, all different, none near zero, of both signs."""
    magnitude = torch.linspace(0.5, 2.0, channels, dtype=torch.float64)
    signs = torch.where(torch.rand(channels, generator=gen) < 0.3, -1.0, 1.0).double()
    return magnitude[torch.randperm(channels, generator=gen)] * signs


def _judge_given(record: Record, i: int, shape: tuple[int, ...], gen: torch.Generator) -> None:
    n, c, h, w = shape
    call = f"NoiseInjection(channels={c})"
    given = Graph(record, f"given/{i}")
    name = _noise_weight(record, given, i, c)
    initial = given.state.get(name)
    if initial is None or bool(torch.count_nonzero(initial)):
        values = "nothing" if initial is None else np.array2string(to_numpy(initial).ravel()[:4], precision=3)
        fail(f"{call}'s weight must start at zero (so that a new layer changes nothing until training asks for "
             f"noise), got {values}.")
    x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 3 + 2
    noise = torch.randn(n, 1, h, w, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        unchanged = given(x, noise, state={k: v.double() if v.is_floating_point() else v
                                           for k, v in given.parameters().items()})
    assert_close(unchanged, x, f"{call} with its initial (zero) weight on x of shape {tuple(x.shape)} and noise given",
                 rtol=1e-7, atol=1e-7)
    weight = _channel_weights(c, gen)
    where = (f"{call} with weight {np.array2string(to_numpy(weight)[:4], precision=3)}, given noise of shape "
             f"{(n, 1, h, w)}")
    state = _state(given, name, weight, requires_grad=True)
    x_in = x.clone().requires_grad_(True)
    out = given(x_in, noise, state=state)
    expected = to_numpy(x) + to_numpy(weight)[None, :, None, None] * to_numpy(noise)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"{where}: expected the shape of x, {tuple(x.shape)}, got {got}.")
    if _draws(given) and np.abs(to_numpy(out) - expected).max() > 1e-6:
        fail(f"{where}: the output is not x + weight * noise, and the layer draws random numbers although `noise` "
             "was given: use the given map, and draw one only when `noise` is None.")
    assert_close(out, expected, where, rtol=1e-6, atol=1e-6)
    probe = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    g_x, g_w = torch.autograd.grad((out * probe).sum(), [x_in, state[name]], allow_unused=True)
    if g_w is None or float(g_w.abs().max()) == 0.0:
        fail("no gradient reaches the noise weight; it must take part in the output so that it is learned.")
    assert_close(g_w.reshape(-1), (to_numpy(probe) * to_numpy(noise)).sum(axis=(0, 2, 3)),
                 f"the gradient of {where}'s output with respect to the weight", rtol=1e-6, atol=1e-6)
    if g_x is None:
        fail(f"no gradient reaches x through {call}.")
    assert_close(g_x, probe, f"the gradient of {where}'s output with respect to x", rtol=1e-6, atol=1e-6)


def _judge_run(record: Record, i: int, shape: tuple[int, ...]) -> None:
    """The layer itself, run by the probe with a given noise map: values and the gradients it sends back."""
    c = shape[1]
    x, noise, weight, out_weights = noise_run_inputs(i)
    where = (f"NoiseInjection(channels={c}) with weight {np.array2string(to_numpy(weight)[:4], precision=3)}, "
             f"given noise of shape {tuple(noise.shape)}")
    out = answer(record, f"run/{i}", where)
    expected = to_numpy(x) + to_numpy(weight)[None, :, None, None] * to_numpy(noise)
    assert_close(out, expected, where, rtol=1e-5, atol=1e-5)
    if not record.facts.get(f"run/{i}", {}).get("requires_grad"):
        fail(f"{where}: the output is not connected to x and the weight (no gradient flows back).")
    error = record.raised(f"run_grad/{i}")
    if error:
        fail(f"{where}: the gradient of the output could not be computed ({error}).")
    grad_w = record.tensor(f"run_grad/{i}/weight") if record.has(f"run_grad/{i}/weight") else None
    if grad_w is None or float(grad_w.abs().max()) == 0.0:
        fail("no gradient reaches the noise weight; it must take part in the output, not detached, so that it is "
             "learned.")
    assert_close(grad_w.reshape(-1), (to_numpy(out_weights) * to_numpy(noise)).sum(axis=(0, 2, 3)),
                 f"the gradient of {where}'s output with respect to the weight", rtol=1e-4, atol=1e-4)
    if not record.has(f"run_grad/{i}/x"):
        fail(f"no gradient reaches x through NoiseInjection(channels={c}).")
    assert_close(record.tensor(f"run_grad/{i}/x"), out_weights, f"the gradient of {where}'s output with respect to x",
                 rtol=1e-5, atol=1e-5)


def _judge_drawn(record: Record, name: str, shape: tuple[int, ...], gen: torch.Generator, pooled: list) -> None:
    """A traced call without noise, rerun by the judge: what the noise it draws looks like."""
    n, c, h, w = shape
    i = int(name.rpartition("/")[2])
    drawn = Graph(record, name)
    key = _noise_weight(record, drawn, i, c)
    weight = _channel_weights(c, gen)
    where = f"NoiseInjection(channels={c}) with weight {np.array2string(to_numpy(weight)[:4], precision=3)}"
    if name.startswith("again"):
        where += ", called a second time,"
    x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 3 + 2
    draws = []
    for _ in range(2 if n * h * w >= 1000 else 4):
        with torch.no_grad():
            out = drawn(x, state=_state(drawn, key, weight))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
            fail(f"{where} without noise must return the shape of x, {tuple(x.shape)}.")
        draws.append(to_numpy(out - x) / to_numpy(weight)[None, :, None, None])  # the noise each channel got
    raw = draws[0]
    if not np.all(np.isfinite(raw)):
        fail(f"{where}: the output without noise holds inf or nan.")
    if float(np.max(np.abs(raw - raw[:, :1]))) > 1e-4:
        fail(f"{where}: the noise drawn when none is given differs between channels; draw one map per sample of "
             "shape (N, 1, H, W) and let every channel add it with its own weight.")
    if n > 1 and float(np.max(np.std(raw[:, 0], axis=0))) < 1e-6:
        fail(f"{where}: every sample in the batch got the same noise; draw a different map per sample, shape "
             "(N, 1, H, W).")
    if h * w > 1 and float(np.max(np.std(raw[:, 0].reshape(n, -1), axis=1))) < 1e-6:
        fail(f"{where}: the noise is the same at every position; it must vary over H and W.")
    if float(np.max(np.abs(draws[0] - draws[1]))) < 1e-6:
        fail(f"{where}: two calls without noise added the same noise; draw fresh noise at every call.")
    pooled.extend(d[:, 0].ravel() for d in draws)


def judge_NoiseInjection(record: Record) -> None:  # noqa: N802 - the part's name
    if isinstance(record.facts.get("signature"), dict) and "channels" not in record.facts["signature"]:
        fail("the constructor must be NoiseInjection(channels), with that argument name (the course library's "
             "layer has the same signature).")
    forward = record.facts.get("forward")
    if isinstance(forward, dict) and forward.get("noise") != "None":
        fail("forward must be forward(x, noise=None): the noise map is an optional second argument named `noise` "
             "(the course library's layer has the same signature).")
    gen = salted_generator(72)
    pooled: list[np.ndarray] = []
    for i, shape in enumerate(NOISE_SHAPES):
        error = record.raised(f"build/{i}")
        if error:
            fail(f"NoiseInjection(channels={shape[1]}) raised {error}")
        _judge_given(record, i, shape, gen)
        _judge_run(record, i, shape)
        for name in (f"drawn/{i}", f"again/{i}"):
            _judge_drawn(record, name, shape, gen, pooled)
    values = np.concatenate(pooled)
    mean, std = float(values.mean()), float(values.std())
    kurtosis = float(((values - mean) ** 4).mean() / std ** 4 - 3) if std > 0 else math.nan
    if abs(mean) > 0.1 or not 0.9 < std < 1.1:
        fail(f"the noise a NoiseInjection layer draws has mean {mean:.2f} and standard deviation {std:.2f} (over "
             f"{values.size} values); draw standard Gaussian noise (torch.randn): mean 0, standard deviation 1.")
    if not abs(kurtosis) < 0.5:
        fail(f"the noise a NoiseInjection layer draws is not Gaussian (excess kurtosis {kurtosis:.2f}, a Gaussian has "
             "0); draw standard Gaussian noise (torch.randn).")


# --- part 3: the cycle-consistency loss ----------------------------------------------------------------

def _affine(g, x: np.ndarray) -> np.ndarray:
    """What the grader's ChannelMap computes, in float64 NumPy."""
    out = np.einsum("oc,nc...->no...", to_numpy(g.weight), x)
    return out + to_numpy(g.bias).reshape((1, -1) + (1,) * (x.ndim - 2))


def ref_cycle(a: np.ndarray, b: np.ndarray, g_ab, g_ba, lam: float, power: int = 1, backward: bool = True) -> float:
    forward_cycle = (np.abs(_affine(g_ba, _affine(g_ab, a)) - a) ** power).mean()
    backward_cycle = (np.abs(_affine(g_ab, _affine(g_ba, b)) - b) ** power).mean()
    return float(lam * (forward_cycle + (backward_cycle if backward else 0.0)))


def _cycle_hint(value: float, a, b, g_ab, g_ba, lam: float) -> str:
    def near(other: float) -> bool:
        return abs(value - other) <= 1e-4 * abs(other) + 1e-5
    if lam != 1 and near(ref_cycle(a, b, g_ab, g_ba, 1.0)):
        return f" (that is the loss without the factor lam = {lam:g})"
    if near(ref_cycle(a, b, g_ab, g_ba, lam, backward=False)) or near(ref_cycle(b, a, g_ba, g_ab, lam, backward=False)):
        return " (that is only one of the two cycles; add a -> b -> a and b -> a -> b)"
    if near(ref_cycle(a, b, g_ab, g_ba, lam) / 2):
        return " (that is the average of the two cycles; the loss adds them)"
    if near(ref_cycle(a, b, g_ab, g_ba, lam, power=2)):
        return " (that is a squared (L2) error; the cycle loss uses the absolute (L1) error)"
    errors = np.concatenate([np.abs(_affine(g_ba, _affine(g_ab, a)) - a).ravel(),
                             np.abs(_affine(g_ab, _affine(g_ba, b)) - b).ravel()])
    if near(lam * errors.sum()) or near(lam * (np.abs(_affine(g_ba, _affine(g_ab, a)) - a).sum()
                                              + np.abs(_affine(g_ab, _affine(g_ba, b)) - b).sum())):
        return " (that is a sum; take the mean of each cycle's absolute error)"
    if near(lam * errors.mean()):
        return " (that is one mean over both cycles' errors together; take each cycle's mean, then add them)"
    return ""


def judge_cycle_consistency_loss(record: Record) -> None:
    _default(record, "signature", "lam", 10.0, "cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=10.0)")
    for i in range(len(CYCLE_CASES)):
        where, real_a, real_b, g_ab, g_ba, lam = cycle_inputs(i)
        what = f"cycle_consistency_loss {where}"
        loss = answer(record, f"loss/{i}", what)
        if loss.numel() != 1:
            fail(f"{what} must return a single number (a 0-dimensional tensor), got shape {tuple(loss.shape)}.")
        if not loss.is_floating_point():
            fail(f"{what} must return a floating-point tensor, got {loss.dtype}.")
        e_lam = 10.0 if lam is None else lam
        a, b = to_numpy(real_a), to_numpy(real_b)
        value, got = ref_cycle(a, b, g_ab, g_ba, e_lam), float(to_numpy(loss).reshape(()))
        if not math.isfinite(got) or abs(got - value) > 1e-4 * abs(value) + 1e-5:
            fail(f"{what}: expected {value:.5f}, got {got:.5f}{_cycle_hint(got, a, b, g_ab, g_ba, e_lam)}.")
        if e_lam == 0:
            continue
        if not record.facts.get(f"loss/{i}", {}).get("requires_grad"):
            fail("the cycle loss is not connected to the generators (no gradient flows back); compute it with "
                 "torch operations, without .detach(), .item() or torch.no_grad().")
        error = record.raised(f"grad/{i}")
        if error:
            fail(f"{what}: the gradient of the loss could not be computed ({error}).")
        params = [p.detach().double().requires_grad_(True) for p in (*g_ab.parameters(), *g_ba.parameters())]
        w_ab, b_ab, w_ba, b_ba = params

        def apply(weight, bias, x):
            return torch.einsum("oc,nc...->no...", weight, x) + bias.reshape((1, -1) + (1,) * (x.dim() - 2))
        a64, b64 = real_a.double(), real_b.double()
        ref = e_lam * ((apply(w_ba, b_ba, apply(w_ab, b_ab, a64)) - a64).abs().mean()
                       + (apply(w_ab, b_ab, apply(w_ba, b_ba, b64)) - b64).abs().mean())
        for key, expected in zip(GENERATOR_PARAMETERS, torch.autograd.grad(ref, params)):
            generator, _, kind = key.partition(".")
            name = f"{'G_AB' if generator == 'g_ab' else 'G_BA'}'s {kind}"
            if not record.has(f"grad/{i}/{key}"):
                fail(f"{what}: no gradient reaches {name}; both generators must be trained by the cycle loss "
                     "(detach nothing).")
            assert_close(record.tensor(f"grad/{i}/{key}"), expected,
                         f"the gradient of {what} with respect to {name}", rtol=1e-3, atol=1e-4)
