"""Hidden checks for assignment 7 (chapter 7): AdaIN, noise injection, and the cycle-consistency loss.

Expected values are computed here independently, in float64 NumPy; expected gradients by a float64
torch computation written here from the formulas, never by the course library. Any correct
formulation (instance_norm, var/mean, einsum, a loop, ...) passes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gancourse import cyclegan as lib_cyclegan
from gancourse import stylegan as lib_stylegan

from . import (
    assert_close,
    fail,
    library_functions,
    library_switched_off,
    refuse_borrowed,
    run_check,
    scalar_tensor,
    to_numpy,
)

LIBRARY = library_functions(lib_stylegan.adain, lib_stylegan.AdaIN, lib_stylegan.NoiseInjection,
                            lib_stylegan.StyleLayer, lib_cyclegan.cycle_consistency_loss,
                            lib_cyclegan.generator_objective)


# --- part 1: AdaIN -------------------------------------------------------------------------------

def _ref_adain(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float, axes=(2, 3), ddof: int = 0):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    return scale[:, :, None, None] * (x - mean) / np.sqrt(var + eps) + bias[:, :, None, None]


def _torch_adain64(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float) -> torch.Tensor:
    """The same formula in float64 torch, for the expected gradients."""
    centred = x - x.mean(dim=(2, 3), keepdim=True)
    var = (centred * centred).mean(dim=(2, 3), keepdim=True)
    return scale[:, :, None, None] * centred / torch.sqrt(var + eps) + bias[:, :, None, None]


def _adain_hint(out: np.ndarray, x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float) -> str:
    """Name the usual slip that the observed output matches, if any."""
    def near(other):
        if other.shape != out.shape:
            return False
        return float(np.max(np.abs(out - other))) <= 1e-3 * (1 + float(np.max(np.abs(other))))
    if near(_ref_adain(x, bias, scale, eps)):
        return " (that is AdaIN with scale and bias swapped)"
    if x.shape[2] * x.shape[3] > 1 and near(_ref_adain(x, scale, bias, eps, ddof=1)):
        return " (that uses the unbiased variance, divided by H*W - 1; use the biased one, divided by H*W)"
    for axes, name in (((0, 2, 3), "batch norm: over N, H and W"), ((1, 2, 3), "layer norm: over C, H and W"),
                       ((0, 1, 2, 3), "over every value of x"), ((1,), "over the channels")):
        if near(_ref_adain(x, scale, bias, eps, axes)):
            return f" (that normalises over the wrong dimensions, {name}; AdaIN uses H and W only)"
    return ""


def _adain_inputs(gen: torch.Generator):
    """x with very different statistics per sample and channel, and styles of both signs."""
    cases = []
    for n, c, h, w, eps in ((2, 3, 5, 4, None), (4, 6, 3, 8, 1e-5), (1, 1, 7, 7, None), (3, 2, 1, 6, 0.5),
                            (5, 4, 4, 4, 1e-3)):
        level = torch.randn(n, c, 1, 1, generator=gen) * 4
        spread = torch.exp(torch.randn(n, c, 1, 1, generator=gen))
        x = torch.randn(n, c, h, w, generator=gen) * spread + level
        scale = torch.randn(n, c, generator=gen) * 2
        bias = torch.randn(n, c, generator=gen) * 3
        cases.append((x, scale, bias, eps))
    return cases


def check_adain(adain) -> None:
    def check():
        refuse_borrowed(adain, "adain", LIBRARY)
        for x, scale, bias, eps in _adain_inputs(torch.Generator().manual_seed(71)):
            inputs = [t.clone().requires_grad_(True) for t in (x, scale, bias)]
            with library_switched_off(LIBRARY):
                out = adain(*inputs) if eps is None else adain(*inputs, eps=eps)
            e = 1e-5 if eps is None else eps
            where = f"for x of shape {tuple(x.shape)}" + ("" if eps is None else f" and eps={eps:g}")
            if not isinstance(out, torch.Tensor):
                fail(f"adain must return a tensor, got {type(out).__name__}.")
            if tuple(out.shape) != tuple(x.shape):
                fail(f"adain {where} must return the shape of x, {tuple(x.shape)}, got {tuple(out.shape)}.")
            if not torch.equal(inputs[0].detach(), x):
                fail("adain changed its input x in place; compute a new tensor instead.")
            xs, ss, bs = to_numpy(x), to_numpy(scale), to_numpy(bias)
            expected = _ref_adain(xs, ss, bs, e)
            got = to_numpy(out)
            finite = bool(np.all(np.isfinite(got)))
            worst = float(np.max(np.abs(got - expected) - 1e-4 * np.abs(expected))) if finite else np.inf
            if worst > 1e-4:
                fail(f"adain {where}: expected {np.array2string(expected.ravel()[:4], precision=4)}, got "
                     f"{np.array2string(got.ravel()[:4], precision=4)}{_adain_hint(got, xs, ss, bs, e)}.")
            if not out.requires_grad:
                fail("the output of adain is not connected to its inputs (no gradient flows back).")
            weights = torch.randn(x.shape, generator=torch.Generator().manual_seed(x.numel()))
            grads = torch.autograd.grad((out * weights).sum(), inputs, allow_unused=True)
            ref_inputs = [t.double().requires_grad_(True) for t in (x, scale, bias)]
            ref_grads = torch.autograd.grad((_torch_adain64(*ref_inputs, e) * weights.double()).sum(), ref_inputs)
            for name, g, r in zip(("x", "scale", "bias"), grads, ref_grads):
                if g is None:
                    fail(f"no gradient reaches `{name}` through adain {where}; the style must be trainable.")
                assert_close(g, r, f"gradient of adain w.r.t. `{name}` {where}", rtol=1e-3, atol=1e-4)
    run_check("adain", check)


# --- part 2: noise injection ---------------------------------------------------------------------

def _noise_weight(module: nn.Module, channels: int) -> nn.Parameter:
    params = [p for p in module.parameters() if p.requires_grad]
    found = [p for p in params if p.numel() == channels]
    if len(found) != 1 or len(params) != 1:
        fail(f"NoiseInjection({channels}) should have exactly one learnable parameter, the weight with one "
             f"value per channel ({channels}); found parameters of shapes {[tuple(p.shape) for p in params]}. "
             "Wrap the weight in nn.Parameter so the optimizer can train it.")
    return found[0]


def check_NoiseInjection(NoiseInjection) -> None:  # noqa: N802 - named after the student's class
    def check():
        refuse_borrowed(NoiseInjection, "NoiseInjection", LIBRARY)
        gen = torch.Generator().manual_seed(72)
        for n, c, h, w in ((3, 4, 5, 6), (64, 2, 8, 8), (1, 5, 3, 3)):
            with library_switched_off(LIBRARY):
                module = NoiseInjection(c)
            if not isinstance(module, nn.Module):
                fail("NoiseInjection must be a torch.nn.Module (subclass nn.Module).")
            weight = _noise_weight(module, c)
            if torch.count_nonzero(weight.detach()) != 0:
                fail(f"the noise weight must start at zero, got {to_numpy(weight).ravel()[:4]}.")
            x = torch.randn(n, c, h, w, generator=gen)
            noise = torch.randn(n, 1, h, w, generator=gen)
            with library_switched_off(LIBRARY):
                out = module(x, noise)
            assert_close(out, x, f"NoiseInjection({c}) with its initial (zero) weight on x of shape {tuple(x.shape)}")
            w_values = torch.randn(c, generator=gen) + 0.5
            with torch.no_grad():
                weight.copy_(w_values.reshape(weight.shape))
            where = f"NoiseInjection({c}) with weight {np.array2string(to_numpy(w_values)[:4], precision=3)}"
            x_in = x.clone().requires_grad_(True)
            with library_switched_off(LIBRARY):
                out = module(x_in, noise)
            expected = to_numpy(x) + to_numpy(w_values)[None, :, None, None] * to_numpy(noise)
            assert_close(out, expected, f"{where}, given noise of shape {tuple(noise.shape)}")
            probe = torch.randn(x.shape, generator=gen)
            g_x, g_w = torch.autograd.grad((out * probe).sum(), [x_in, weight], allow_unused=True)
            if g_w is None:
                fail("no gradient reaches the noise weight; it must take part in the output so that it is learned.")
            assert_close(g_w.reshape(-1), (to_numpy(probe) * to_numpy(noise)).sum(axis=(0, 2, 3)),
                         f"gradient of {where}'s output w.r.t. the weight")
            if g_x is None:
                fail("no gradient reaches x through NoiseInjection.")
            assert_close(g_x, probe, f"gradient of {where}'s output w.r.t. x")
            draws = []
            for _ in range(2):
                with torch.no_grad(), library_switched_off(LIBRARY):
                    out = module(x)
                if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(x.shape):
                    fail(f"{where} without noise must return the shape of x, {tuple(x.shape)}.")
                draws.append(to_numpy(out - x) / to_numpy(w_values)[None, :, None, None])
            raw = draws[0]
            if float(np.max(np.abs(raw - raw[:, :1]))) > 1e-4:
                fail(f"{where}: the noise drawn when none is given differs between channels; draw one map "
                     "per sample of shape (N, 1, H, W) and let every channel add it with its own weight.")
            if n > 1 and float(np.max(np.std(raw[:, 0], axis=0))) < 1e-6:
                fail(f"{where}: every sample in the batch got the same noise; draw a different map per sample, "
                     "shape (N, 1, H, W).")
            if h * w > 1 and float(np.max(np.std(raw[:, 0].reshape(n, -1), axis=1))) < 1e-6:
                fail(f"{where}: the noise is the same at every position; it must vary over H and W.")
            if float(np.max(np.abs(draws[0] - draws[1]))) < 1e-6:
                fail(f"{where}: two calls without noise added the same noise; draw fresh noise at every call.")
            if n * h * w >= 1000:
                values = raw[:, 0].ravel()
                if abs(values.mean()) > 0.15 or not 0.85 < values.std() < 1.15:
                    fail(f"{where}: the noise drawn has mean {values.mean():.2f} and std {values.std():.2f}; "
                         "draw standard Gaussian noise (torch.randn).")
    run_check("NoiseInjection", check)


# --- part 3: the cycle-consistency loss -----------------------------------------------------------

class _ChannelMap(nn.Module):
    """A small generator the check can follow in NumPy: the same affine map of the channels at every pixel."""

    def __init__(self, c_in: int, c_out: int, gen: torch.Generator) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, generator=gen) / c_in ** 0.5)
        self.bias = nn.Parameter(torch.randn(c_out, generator=gen) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("oc,nc...->no...", self.weight, x)
        return out + self.bias.reshape((1, -1) + (1,) * (x.dim() - 2))

    def numpy(self, x: np.ndarray) -> np.ndarray:
        out = np.einsum("oc,nc...->no...", to_numpy(self.weight), x)
        return out + to_numpy(self.bias).reshape((1, -1) + (1,) * (x.ndim - 2))


def _ref_cycle(a: np.ndarray, b: np.ndarray, g_ab: _ChannelMap, g_ba: _ChannelMap, lam: float, power: int = 1,
               backward: bool = True) -> float:
    forward_cycle = (np.abs(g_ba.numpy(g_ab.numpy(a)) - a) ** power).mean()
    backward_cycle = (np.abs(g_ab.numpy(g_ba.numpy(b)) - b) ** power).mean()
    return float(lam * (forward_cycle + (backward_cycle if backward else 0.0)))


def _cycle_hint(value: float, a, b, g_ab, g_ba, lam: float) -> str:
    def near(other):
        return abs(value - other) <= 1e-4 * abs(other) + 1e-5
    if lam != 1 and near(_ref_cycle(a, b, g_ab, g_ba, 1.0)):
        return f" (that is the loss without the factor lam = {lam:g})"
    if near(_ref_cycle(a, b, g_ab, g_ba, lam, backward=False)) or near(
            _ref_cycle(b, a, g_ba, g_ab, lam, backward=False)):
        return " (that is only one of the two cycles; add a -> b -> a and b -> a -> b)"
    if near(_ref_cycle(a, b, g_ab, g_ba, lam, power=2)):
        return " (that is a squared (L2) error; the cycle loss uses the absolute (L1) error)"
    return ""


def check_cycle_consistency_loss(cycle_consistency_loss) -> None:
    def check():
        refuse_borrowed(cycle_consistency_loss, "cycle_consistency_loss", LIBRARY)
        gen = torch.Generator().manual_seed(73)
        # Domain A and B have different channel counts and batch sizes, so only the right wiring runs.
        for (n_a, n_b, c_a, c_b, spatial), lam in (((4, 6, 3, 2, (5, 5)), None), ((8, 3, 2, 2, ()), 1.0),
                                                   ((2, 5, 1, 4, (3, 7)), 2.5), ((5, 5, 3, 3, (4, 4)), 10.0),
                                                   ((3, 2, 2, 3, (2, 2)), 0.0)):
            g_ab, g_ba = _ChannelMap(c_a, c_b, gen), _ChannelMap(c_b, c_a, gen)
            real_a = torch.randn((n_a, c_a) + spatial, generator=gen)
            real_b = torch.randn((n_b, c_b) + spatial, generator=gen) * 2 + 1
            with library_switched_off(LIBRARY):
                out = (cycle_consistency_loss(real_a, real_b, g_ab, g_ba) if lam is None
                       else cycle_consistency_loss(real_a, real_b, g_ab, g_ba, lam=lam))
            out = scalar_tensor(out, "cycle_consistency_loss")
            e_lam = 10.0 if lam is None else lam
            where = (f"with {n_a} images of shape {(c_a, *spatial)} in A, {n_b} of shape {(c_b, *spatial)} in B, "
                     + ("the default lam" if lam is None else f"lam={lam:g}"))
            a, b = to_numpy(real_a), to_numpy(real_b)
            value = _ref_cycle(a, b, g_ab, g_ba, e_lam)
            got = float(to_numpy(out))
            if not np.isfinite(got) or abs(got - value) > 1e-4 * abs(value) + 1e-5:
                fail(f"cycle_consistency_loss {where}: expected {value:.5f}, got {got:.5f}"
                     f"{_cycle_hint(got, a, b, g_ab, g_ba, e_lam)}.")
            params = [*g_ab.parameters(), *g_ba.parameters()]
            if e_lam == 0:
                continue
            if not out.requires_grad:
                fail("the cycle loss is not connected to the generators (no gradient flows back).")
            grads = torch.autograd.grad(out, params, allow_unused=True)
            ref_params = [p.detach().double().requires_grad_(True) for p in params]
            w_ab, b_ab, w_ba, b_ba = ref_params

            def apply(w, bias, x):
                return torch.einsum("oc,nc...->no...", w, x) + bias.reshape((1, -1) + (1,) * (x.dim() - 2))
            a64, b64 = real_a.double(), real_b.double()
            ref = e_lam * ((apply(w_ba, b_ba, apply(w_ab, b_ab, a64)) - a64).abs().mean()
                           + (apply(w_ab, b_ab, apply(w_ba, b_ba, b64)) - b64).abs().mean())
            ref_grads = torch.autograd.grad(ref, ref_params)
            for name, g, r in zip(("G_AB's weight", "G_AB's bias", "G_BA's weight", "G_BA's bias"), grads, ref_grads):
                if g is None:
                    fail(f"no gradient reaches {name}; both generators must be trained by the cycle loss.")
                assert_close(g, r, f"gradient of cycle_consistency_loss w.r.t. {name} {where}", rtol=1e-3, atol=1e-4)
    run_check("cycle_consistency_loss", check)
