"""Probes of assignment 7 (chapter 7): AdaIN, noise injection, and CycleGAN's cycle-consistency loss.

``adain`` and ``cycle_consistency_loss`` are called on inputs made here (the judge makes them again
with the same functions); their values and the gradients they send back are recorded. The noise
layer is a module that draws random numbers in ``forward``: it is traced
(:func:`autograder.probes.graph.trace`) with a given noise map and without one (twice: a second call
must draw afresh), for each size the judge uses, and the judge reruns the traces with its own inputs
and weights, redrawing the noise. The layer is also run itself with a given map, for its gradients:
a traced graph records ``.detach()`` as an alias, which passes gradients on.
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.probes.graph import trace
from autograder.probes.record import Record, salted_generator, signature

ASSIGNMENT = "a7_beyond"
COUNTERPARTS = {
    "adain": "gancourse.stylegan.adain",
    "NoiseInjection": "gancourse.stylegan.NoiseInjection",
    "cycle_consistency_loss": "gancourse.cyclegan.cycle_consistency_loss",
}


# --- part 1: AdaIN -------------------------------------------------------------------------------------

def adain_cases() -> list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, float | None, torch.Tensor]]:
    """(description, x, scale, bias, eps or None for the default, weights of the outputs for a gradient).

    x has very different statistics per sample and channel (one channel is constant), the styles
    have both signs; one channel's variance is close to eps, another's is 0.
    """
    gen = salted_generator(71)
    cases = []
    for n, c, h, w, eps in ((2, 3, 5, 4, None), (4, 6, 3, 8, 1e-5), (1, 1, 7, 7, None), (3, 2, 1, 6, 0.5),
                            (5, 4, 4, 4, 1e-3), (2, 3, 6, 6, None)):
        level = torch.randn(n, c, 1, 1, generator=gen) * 4
        spread = torch.exp(torch.randn(n, c, 1, 1, generator=gen))
        x = torch.randn(n, c, h, w, generator=gen) * spread + level
        if (n, c, h, w) == (2, 3, 6, 6):
            x[0, 1] = 3e-3 * torch.randn(h, w, generator=gen)  # variance about eps: where eps goes matters
            x[1, 2] = 3.0  # a constant channel: its variance is 0 and eps alone keeps the division finite
        scale = torch.randn(n, c, generator=gen) * 2
        bias = torch.randn(n, c, generator=gen) * 3
        weights = torch.randn(n, c, h, w, generator=gen)
        where = f"for x of shape {(n, c, h, w)}" + ("" if eps is None else f" and eps={eps:g}")
        cases.append((where, x, scale, bias, eps, weights))
    return cases


def probe_adain(record: Record, adain) -> None:
    signature(record, adain)
    for i, (_, x, scale, bias, eps, weights) in enumerate(adain_cases()):
        inputs = [t.clone().requires_grad_(True) for t in (x, scale, bias)]
        key = f"out/{i}"
        out = record.call(key, adain, *inputs) if eps is None else record.call(key, adain, *inputs, eps=eps)
        if record.raised(key):
            continue
        record.output(key, out)
        record.array(f"x_after/{i}", inputs[0])
        if isinstance(out, torch.Tensor) and out.requires_grad and out.shape == weights.shape:
            grads = record.call(f"grad/{i}", torch.autograd.grad, (out * weights).sum(), inputs, allow_unused=True)
            for name, grad in zip(("x", "scale", "bias"), grads or ()):
                if grad is not None:
                    record.array(f"grad/{i}/{name}", grad)


# --- part 2: noise injection ---------------------------------------------------------------------------

NOISE_SHAPES = ((3, 4, 5, 6), (64, 2, 8, 8), (1, 5, 3, 3))  # (N, C, H, W) the layer is traced at


def noise_run_inputs(i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, noise, weight per channel, weights of the outputs) for running the layer itself at size ``i``."""
    n, c, h, w = NOISE_SHAPES[i]
    gen = salted_generator(720 + i)
    x = torch.randn(n, c, h, w, generator=gen) * 3 + 2
    noise = torch.randn(n, 1, h, w, generator=gen)
    weight = torch.randn(c, generator=gen) + 0.5
    return x, noise, weight, torch.randn(n, c, h, w, generator=gen)


def probe_NoiseInjection(record: Record, NoiseInjection) -> None:  # noqa: N802, N803 - the part's name
    signature(record, NoiseInjection)
    signature(record, getattr(NoiseInjection, "forward", None), key="forward")
    for i, (n, c, h, w) in enumerate(NOISE_SHAPES):
        layer = record.call(f"build/{i}", NoiseInjection, channels=c)
        if layer is None:
            continue
        if not isinstance(layer, nn.Module):
            record.fact(f"build/{i}", {"error": "TypeError",
                                       "message": f"built a {type(layer).__name__}, not a torch.nn.Module"})
            continue
        record.fact(f"learnable/{i}", {name: bool(p.requires_grad) for name, p in layer.named_parameters()})
        x, noise = torch.randn(n, c, h, w), torch.randn(n, 1, h, w)
        record.call(f"given/{i}", trace, record, f"given/{i}", layer, x, noise)  # forward(x, noise)
        record.call(f"drawn/{i}", trace, record, f"drawn/{i}", layer, x)  # forward(x): the layer draws
        record.call(f"again/{i}", trace, record, f"again/{i}", layer, x)  # a second call draws afresh
        # The layer itself with a given noise map, for the gradients (a traced graph loses .detach()).
        params = list(layer.parameters())
        if len(params) == 1 and params[0].numel() == c:
            x, noise, weight, out_weights = noise_run_inputs(i)
            with torch.no_grad():
                params[0].copy_(weight.reshape(params[0].shape))
            x_in = x.clone().requires_grad_(True)
            out = record.call(f"run/{i}", layer, x_in, noise)
            if record.raised(f"run/{i}"):
                continue
            record.output(f"run/{i}", out)
            if isinstance(out, torch.Tensor) and out.requires_grad and out.shape == out_weights.shape:
                grads = record.call(f"run_grad/{i}", torch.autograd.grad, (out * out_weights).sum(), [x_in, params[0]],
                                    allow_unused=True)
                for name, grad in zip(("x", "weight"), grads or ()):
                    if grad is not None:
                        record.array(f"run_grad/{i}/{name}", grad)


# --- part 3: the cycle-consistency loss ----------------------------------------------------------------

class ChannelMap(nn.Module):
    """The grader's small generator: the same affine map of the channels at every pixel."""

    def __init__(self, c_in: int, c_out: int, gen: torch.Generator) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, generator=gen) / c_in ** 0.5)
        self.bias = nn.Parameter(torch.randn(c_out, generator=gen) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("oc,nc...->no...", self.weight, x)
        return out + self.bias.reshape((1, -1) + (1,) * (x.dim() - 2))


# (N_A, N_B, C_A, C_B, spatial shape, lam or None for the default): the domains differ in batch size and
# channels, so that only the right wiring runs.
CYCLE_CASES = (((4, 5, 3, 2, (5, 5)), None), ((8, 3, 2, 2, ()), 1.0), ((2, 5, 1, 4, (3, 7)), 2.5),
               ((5, 5, 3, 3, (4, 4)), 10.0), ((3, 2, 2, 3, (2, 2)), 0.0))
GENERATOR_PARAMETERS = ("g_ab.weight", "g_ab.bias", "g_ba.weight", "g_ba.bias")


def cycle_inputs(i: int) -> tuple[str, torch.Tensor, torch.Tensor, ChannelMap, ChannelMap, float | None]:
    """(description, real_a, real_b, g_ab, g_ba, lam) of case ``i``, the same every time it is called."""
    (n_a, n_b, c_a, c_b, spatial), lam = CYCLE_CASES[i]
    gen = salted_generator(730 + i)
    g_ab, g_ba = ChannelMap(c_a, c_b, gen), ChannelMap(c_b, c_a, gen)
    real_a = torch.randn((n_a, c_a) + spatial, generator=gen)
    real_b = torch.randn((n_b, c_b) + spatial, generator=gen) * 2 + 1
    where = (f"with {n_a} images of shape {(c_a, *spatial)} in A, {n_b} of shape {(c_b, *spatial)} in B, "
             + ("the default lam" if lam is None else f"lam={lam:g}"))
    return where, real_a, real_b, g_ab, g_ba, lam


def probe_cycle_consistency_loss(record: Record, cycle_consistency_loss) -> None:
    signature(record, cycle_consistency_loss)
    for i in range(len(CYCLE_CASES)):
        _, real_a, real_b, g_ab, g_ba, lam = cycle_inputs(i)
        key = f"loss/{i}"
        args = (real_a, real_b, g_ab, g_ba)
        loss = (record.call(key, cycle_consistency_loss, *args) if lam is None
                else record.call(key, cycle_consistency_loss, *args, lam=lam))
        if record.raised(key):
            continue
        record.output(key, loss)
        if isinstance(loss, torch.Tensor) and loss.requires_grad and loss.numel() == 1:
            params = [*g_ab.parameters(), *g_ba.parameters()]
            grads = record.call(f"grad/{i}", torch.autograd.grad, loss.reshape(()), params, allow_unused=True)
            for name, grad in zip(GENERATOR_PARAMETERS, grads or ()):
                if grad is not None:
                    record.array(f"grad/{i}/{name}", grad)
