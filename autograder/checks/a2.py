"""Hidden checks for assignment 2 (chapter 2): label smoothing, noisy labels, reading loss curves.

Expected values are computed here independently: the smoothed loss in float64 NumPy with the
stable identities -log sigmoid(t) = log(1 + e^-t) and -log(1 - sigmoid(t)) = log(1 + e^t); the
flips by counting, against the binomial spread; the diagnosis by the rule the notebook states,
on synthetic loss histories made here whose verdict does not hinge on the exact tail length.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gancourse import dynamics as lib_dynamics
from gancourse import losses as lib_losses

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

LIBRARY = library_functions(lib_losses.smoothed_discriminator_loss, lib_losses.flipped_labels,
                            lib_losses.noisy_label_discriminator_loss, lib_dynamics.diagnose_history)
LOG2 = math.log(2.0)
VERDICTS = ("healthy", "d-wins", "g-wins")


# --- part 1: one-sided label smoothing ----------------------------------------------------------

def _softplus(t: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, t)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -t))


def _ref_smoothed(real: np.ndarray, fake: np.ndarray, real_target: float, fake_target: float = 0.0):
    """Value and input-gradients of the mean BCE of real logits against real_target plus fakes against fake_target."""
    value = (real_target * _softplus(-real) + (1 - real_target) * _softplus(real)).mean() \
        + (fake_target * _softplus(-fake) + (1 - fake_target) * _softplus(fake)).mean()
    return value, (_sigmoid(real) - real_target) / real.size, (_sigmoid(fake) - fake_target) / fake.size


def _logit_batches(gen: torch.Generator) -> list[torch.Tensor]:
    extreme = [torch.tensor([100.0, -60.0, 30.0, -12.0]), torch.tensor([1000.0, -700.0, 0.5])]
    return extreme + [torch.randn(n, generator=gen) * scale for n, scale in ((7, 1.0), (5, 3.0), (64, 8.0), (1, 2.0))]


def _smoothing_hint(value: float, real: np.ndarray, fake: np.ndarray, smooth: float) -> str:
    """Name the usual slip that the observed value matches, if any."""
    near = lambda other: abs(value - other) <= 1e-4 * abs(other) + 1e-5  # noqa: E731
    if near(_ref_smoothed(fake, real, smooth)[0]) or near(_ref_smoothed(real, fake, 0.0, 1.0)[0]):
        return " (that is the loss with the real and fake labels swapped)"
    if near(_ref_smoothed(real, fake, smooth, 1 - smooth)[0]):
        return " (that smooths the fake targets too; only the real targets are smoothed: one-sided)"
    if near(_ref_smoothed(real, fake, 1 - smooth)[0]):
        return f" (that is real targets {1 - smooth:g}; the real targets should be smooth = {smooth:g})"
    if near(_ref_smoothed(real, fake, 1.0)[0]):
        return " (that is the unsmoothed loss: the real targets should be `smooth`, not 1)"
    total = (smooth * _softplus(-real) + (1 - smooth) * _softplus(real)).sum() + _softplus(fake).sum()
    if near(total):
        return " (that is a sum over the samples; each term should be a mean over its batch)"
    return ""


def check_smoothed_discriminator_loss(smoothed_discriminator_loss) -> None:
    def check():
        refuse_borrowed(smoothed_discriminator_loss, "smoothed_discriminator_loss", LIBRARY)
        batches = _logit_batches(torch.Generator().manual_seed(21))
        smooths = [None, 0.9, 0.8, 1.0, 0.75, 0.95]
        for i, (real, fake) in enumerate(zip(batches, batches[1:] + batches[:1])):
            smooth = smooths[i % len(smooths)]
            inputs = [real.clone().requires_grad_(True), fake.clone().requires_grad_(True)]
            with library_switched_off(LIBRARY):
                out = (smoothed_discriminator_loss(*inputs) if smooth is None
                       else smoothed_discriminator_loss(*inputs, smooth=smooth))
            out = scalar_tensor(out, "smoothed_discriminator_loss")
            if not out.requires_grad:
                fail("the returned loss is not connected to the logits (no gradient flows back); "
                     "compute it with torch operations on the logits.")
            grads = torch.autograd.grad(out, inputs, allow_unused=True)
            g_real, g_fake = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
            s = 0.9 if smooth is None else smooth
            r, f = to_numpy(real), to_numpy(fake)
            value, e_real, e_fake = _ref_smoothed(r, f, s)
            where = (f"with {real.numel()} real and {fake.numel()} fake logits and "
                     + ("the default smooth" if smooth is None else f"smooth={smooth:g}"))
            got = float(to_numpy(out))
            if not np.isfinite(got) or abs(got - value) > 1e-4 * abs(value) + 1e-5:
                hint = (_smoothing_hint(got, r, f, s) if np.isfinite(got)
                        else " (use a numerically stable formulation)")
                fail(f"smoothed_discriminator_loss value {where}: expected {value:.5f}, got {got:.5f}{hint}.")
            assert_close(g_real, e_real, f"gradient w.r.t. the real logits {where}")
            assert_close(g_fake, e_fake, f"gradient w.r.t. the fake logits {where}")
    run_check("smoothed_discriminator_loss", check)


# --- part 2: noisy labels ------------------------------------------------------------------------

def _labels(noisy_labels, n: int, label: float, flip_prob: float, generator) -> np.ndarray:
    with library_switched_off(LIBRARY):
        out = noisy_labels(n, label, flip_prob, generator=generator)
    what = f"noisy_labels({n}, {label}, {flip_prob})"
    if not isinstance(out, torch.Tensor):
        fail(f"{what} must return a torch tensor, got {type(out).__name__}.")
    if tuple(out.shape) != (n,):
        fail(f"{what} must return a 1-D tensor of {n} labels, got shape {tuple(out.shape)}.")
    if not out.is_floating_point():
        fail(f"{what} must return a floating-point tensor (targets for a loss), got {out.dtype}.")
    values = to_numpy(out)
    stray = values[(values != label) & (values != 1 - label)]
    if stray.size:
        fail(f"{what} returned the value {stray[0]:g}; every target must be the label {label:g} "
             f"or its flip {1 - label:g}.")
    return values != label  # True where flipped


def _within(count: float, expected: float, sd: float, k: float) -> bool:
    return abs(count - expected) <= k * sd + 1e-9


def check_noisy_labels(noisy_labels) -> None:
    def check():
        refuse_borrowed(noisy_labels, "noisy_labels", LIBRARY)
        gen = torch.Generator().manual_seed(22)
        for label in (1.0, 0.0):
            for n in (1, 7, 300):
                if _labels(noisy_labels, n, label, 0.0, gen).any():
                    fail(f"with flip_prob=0 no label may flip, but noisy_labels({n}, {label:g}, 0.0) flipped some.")
                if not _labels(noisy_labels, n, label, 1.0, gen).all():
                    fail(f"with flip_prob=1 every label must flip, but noisy_labels({n}, {label:g}, 1.0) kept some.")
        n, blocks = 20_000, 10
        for label, p in ((1.0, 0.1), (0.0, 0.3), (1.0, 0.05), (0.0, 0.5), (1.0, 0.8)):
            flips = _labels(noisy_labels, n, label, p, gen)
            what = f"noisy_labels({n}, {label:g}, {p})"
            share = flips.mean()
            if not _within(share * n, p * n, math.sqrt(n * p * (1 - p)), 5):
                hint = " (that is about 1 - flip_prob)" if abs(share - (1 - p)) < 0.02 else ""
                fail(f"{what} flipped {share:.2%} of the labels; each label should flip with probability "
                     f"{p:.0%}{hint}.")
            size = n // blocks
            for b in range(blocks):
                part = flips[b * size:(b + 1) * size].sum()
                if not _within(part, p * size, math.sqrt(size * p * (1 - p)), 6):
                    fail(f"{what}: labels {b * size}-{(b + 1) * size - 1} had {part / size:.1%} flipped, "
                         f"the whole batch {share:.1%}: the flips are not spread at random over the batch.")
            pairs = (flips[1:] & flips[:-1]).sum()
            if not _within(pairs, p * p * (n - 1), math.sqrt(3 * n * p * p * (1 - p * p)), 6):
                fail(f"{what}: {pairs} neighbouring pairs were both flipped, where independent flips give "
                     f"about {p * p * (n - 1):.0f}: each label must be flipped on its own random draw.")
        first = _labels(noisy_labels, 1000, 1.0, 0.3, gen)
        second = _labels(noisy_labels, 1000, 1.0, 0.3, gen)
        if (first == second).all():
            fail("two calls with the same torch.Generator flipped exactly the same labels; the flips "
                 "must be random draws from `generator`, fresh at every call.")
        again = [_labels(noisy_labels, 500, 0.0, 0.2, torch.Generator().manual_seed(5)) for _ in range(2)]
        if not (again[0] == again[1]).all():
            fail("two generators seeded alike gave different flips; draw every random number from "
                 "`generator` (e.g. torch.rand(n, generator=generator)) so a seed reproduces the labels.")
        torch.manual_seed(7)
        no_gen = _labels(noisy_labels, 2000, 1.0, 0.25, None)
        if not _within(no_gen.sum(), 500, math.sqrt(2000 * 0.25 * 0.75), 6):
            fail(f"with generator=None, noisy_labels(2000, 1, 0.25) flipped {no_gen.mean():.1%} of the labels.")
    run_check("noisy_labels", check)


# --- part 3: reading the loss curves -------------------------------------------------------------

def rule(d_losses, g_losses, tail: float = 0.25) -> str:
    """The rule the notebook states: means over the last floor(tail * steps) steps (at least one)."""
    d, g = np.asarray(d_losses, dtype=np.float64), np.asarray(g_losses, dtype=np.float64)
    n = max(1, int(tail * d.size))
    if d[-n:].mean() < LOG2:
        return "d-wins"
    if g[-n:].mean() < LOG2 / 2:
        return "g-wins"
    return "healthy"


def _regime(kind: str, steps: int, rng: np.random.Generator, noise: float, start=None):
    """Loss curves of one regime: (d, g) arrays of length ``steps``, starting near ``start`` if given."""
    t = np.linspace(0.0, 1.0, steps)
    d0, g0 = start if start is not None else (2 * LOG2, LOG2)
    if kind == "healthy":
        wobble = 0.1 * np.sin(2 * np.pi * t * max(1, steps // 40))
        d, g = 2 * LOG2 + wobble, LOG2 - 0.5 * wobble
    elif kind == "d-wins":  # D's loss decays towards 0, G's climbs
        d = 0.03 + (d0 - 0.03) * np.exp(-8 * t)
        g = g0 + (6.0 - g0) * (1 - np.exp(-5 * t))
    else:  # "g-wins": D fooled, its loss high; G's loss towards 0
        d = d0 + (2.6 - d0) * (1 - np.exp(-6 * t))
        g = 0.06 + (g0 - 0.06) * np.exp(-7 * t)
    d = d * np.exp(noise * rng.standard_normal(steps))  # multiplicative noise keeps losses positive
    g = g * np.exp(noise * rng.standard_normal(steps))
    return d, g


def histories(seed: int = 23) -> list[tuple[str, str, list[float], list[float]]]:
    """(description, expected verdict, d_losses, g_losses): clear cases, noisy ones, and runs that change
    regime 60% of the way through, where only the tail decides."""
    rng = np.random.default_rng(seed)
    cases = []
    for kind in VERDICTS:
        for steps, noise in ((400, 0.05), (1000, 0.25), (160, 0.4), (57, 0.1)):
            d, g = _regime(kind, steps, rng, noise)
            cases.append((f"a {steps}-step '{kind}' run (noise {noise})", kind, d, g))
    for early, late in (("d-wins", "healthy"), ("healthy", "d-wins"), ("g-wins", "healthy"),
                        ("healthy", "g-wins"), ("d-wins", "g-wins"), ("g-wins", "d-wins")):
        steps = 500
        cut = int(0.6 * steps)
        d1, g1 = _regime(early, cut, rng, 0.1)
        d2, g2 = _regime(late, steps - cut, rng, 0.1)
        d2 = np.concatenate([np.linspace(d1[-1], d2[0], 20), d2])[:steps - cut]  # a short transition
        g2 = np.concatenate([np.linspace(g1[-1], g2[0], 20), g2])[:steps - cut]
        cases.append((f"a 500-step run that was '{early}' for 300 steps, then '{late}'", late,
                      np.concatenate([d1, d2]), np.concatenate([g1, g2])))
    for kind, (d_value, g_value) in (("healthy", (1.3, 0.8)), ("d-wins", (0.2, 3.0)), ("g-wins", (2.5, 0.1))):
        for steps in (1, 3):
            cases.append((f"a {steps}-step '{kind}' run", kind, np.full(steps, d_value), np.full(steps, g_value)))
    return [(what, kind, [float(v) for v in d], [float(v) for v in g]) for what, kind, d, g in cases]


def check_diagnose(diagnose) -> None:
    def check():
        refuse_borrowed(diagnose, "diagnose", LIBRARY)
        for what, expected, d, g in histories():
            with library_switched_off(LIBRARY):
                verdict = diagnose(list(d), list(g))
            if not isinstance(verdict, str) or verdict not in VERDICTS:
                fail(f"diagnose must return one of the strings {VERDICTS}, got {verdict!r}.")
            if verdict != expected:
                n = max(1, len(d) // 4)
                fail(f"for {what}, whose last {n} step(s) have mean D loss {np.mean(d[-n:]):.3f} and "
                     f"mean G loss {np.mean(g[-n:]):.3f}, expected '{expected}', got '{verdict}'.")
    run_check("diagnose", check)
