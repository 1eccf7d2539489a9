"""Probes of assignment 2 (chapter 2): one-sided label smoothing, flipped labels, reading loss curves.

Each part is called on inputs made here (the judge calls the same functions to remake them): the
smoothed loss on logit batches with extreme values, with its input gradients; the flipped labels
many thousands of times from ``torch.Generator`` objects seeded here, including fresh generators of
the same seed; the diagnosis on synthetic loss histories. Only what the answers return is recorded;
nothing here knows the right answers.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from autograder.probes import salted
from autograder.probes.record import Record, salted_generator

ASSIGNMENT = "a2_troubles"
COUNTERPARTS = {
    # The library's loss against any targets is the smoothed loss given a target of alpha (and so are the
    # noisy-label losses built on it, which a stubbed helper stubs too: sandbox.private_helpers).
    "smoothed_discriminator_loss": ["gancourse.losses.smoothed_discriminator_loss",
                                    "gancourse.losses._bce_against_targets"],
    "flipped_labels": "gancourse.losses.flipped_labels",
    "diagnose_history": "gancourse.dynamics.diagnose_history",
}


# --- part 1: one-sided label smoothing -----------------------------------------------------------------

def logit_batches() -> list[torch.Tensor]:
    """Logit batches of different lengths: extreme ones (float32 overflows naive formulas; a logit of exactly 0,
    where a formula built from relu or abs has the wrong gradient) and random ones."""
    gen = salted_generator(21)
    extreme = [torch.tensor([100.0, -60.0, 30.0, -12.0]), torch.tensor([1000.0, -700.0, 0.5, 0.0])]
    return extreme + [torch.randn(n, generator=gen) * scale for n, scale in ((7, 1.0), (5, 3.0), (64, 8.0), (1, 2.0))]


# How the real target is passed: left at its default, by keyword, or as the third positional argument.
TARGETS = [("default", None), ("keyword", 0.9), ("keyword", 0.8), ("positional", 1.0), ("keyword", 0.75),
           ("positional", 0.95)]


def loss_cases() -> list[tuple[str, str, torch.Tensor, torch.Tensor, str, float | None]]:
    """(key, description, real logits, fake logits, how the target is passed, real_target) of every call."""
    batches = logit_batches()
    cases = []
    for i, (real, fake) in enumerate(zip(batches, batches[1:] + batches[:1])):
        for j, (how, target) in enumerate(TARGETS if i == 0 else [TARGETS[(i - 1) % len(TARGETS)]]):
            call = "the default real_target" if target is None else f"real_target={target:g}" + (
                " passed as the third argument" if how == "positional" else "")
            cases.append((f"loss/{i}/{j}", f"with {real.numel()} real and {fake.numel()} fake logits and {call}",
                          real, fake, how, target))
    return cases


def probe_smoothed_discriminator_loss(record: Record, smoothed_discriminator_loss) -> None:
    for key, _, real, fake, how, target in loss_cases():
        inputs = [real.clone().requires_grad_(True), fake.clone().requires_grad_(True)]
        args, kwargs = (inputs, {}) if how == "default" else \
            (inputs + [target], {}) if how == "positional" else (inputs, {"real_target": target})
        out = record.call(key, smoothed_discriminator_loss, *args, **kwargs)
        if record.raised(key):
            continue
        record.output(key, out)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            grads = record.call(f"{key}/grad", torch.autograd.grad, out.sum(), inputs, allow_unused=True)
            for side, grad, x in zip(("real", "fake"), grads or (), inputs):
                record.array(f"{key}/grad_{side}", torch.zeros_like(x) if grad is None else grad)


# --- part 2: flipped labels ---------------------------------------------------------------------------

def label_calls() -> list[tuple[str, int, float, float, str]]:
    """(key, n, label, flip_prob, source) of every call, in the order the probe makes them.

    ``source`` says where the random numbers come from: ``shared:S`` is one generator seeded S and
    used for call after call, ``fresh:S:G`` a new generator seeded S (after the global seed is set to
    G, so that an answer using the global generator is caught), ``global:G`` generator=None after
    ``torch.manual_seed(G)``, and ``global`` generator=None with no reseeding.

    The sizes (up to a fifth more) and the flip probabilities (15 % either way) depend on the salt, so that
    labels drawn before grading have the wrong length or rate.
    """
    gen = salted_generator(27)

    def size(n: int) -> int:
        return n + int(torch.randint(0, n // 5 + 1, (1,), generator=gen))

    def prob(p: float) -> float:
        return round(p * (0.85 + 0.3 * float(torch.rand(1, generator=gen))), 3)

    calls = []
    for label in (1.0, 0.0):
        for n in (1, 7, size(300)):
            for p in (0.0, 1.0):
                calls.append((f"edge/{label:g}/{n}/{p:g}", n, label, p, "shared:22"))
    for i, (label, p) in enumerate(((1.0, 0.1), (0.0, 0.3), (1.0, 0.05), (0.0, 0.5), (1.0, 0.8))):
        calls.append((f"rate/{i}", size(20_000), label, prob(p), "shared:22"))
    n, p = size(1000), prob(0.3)
    calls += [("again/0", n, 1.0, p, "shared:22"), ("again/1", n, 1.0, p, "shared:22")]
    n, p = size(500), prob(0.2)
    calls += [("seed/0", n, 0.0, p, "fresh:5:100"), ("seed/1", n, 0.0, p, "fresh:5:101"),
              ("seed/2", n, 0.0, p, "fresh:6:100")]
    n, p = size(2000), prob(0.25)
    calls += [("none/0", n, 1.0, p, "global:7"), ("none/1", n, 1.0, p, "global:7"), ("none/2", n, 1.0, p, "global")]
    return calls


def probe_flipped_labels(record: Record, flipped_labels) -> None:
    shared: dict[int, torch.Generator] = {}
    for key, n, label, p, source in label_calls():
        kind, *numbers = source.split(":")
        if kind == "shared":
            generator = shared.setdefault(int(numbers[0]), salted_generator(int(numbers[0])))
        elif kind == "fresh":
            torch.manual_seed(salted(int(numbers[1])))
            generator = salted_generator(int(numbers[0]))
        else:
            generator = None
            if numbers:
                torch.manual_seed(salted(int(numbers[0])))
        out = record.call(key, flipped_labels, n, label, p, generator=generator)
        if not record.raised(key):
            record.output(key, out)
        if kind == "fresh":  # the judge compares it with a fresh generator's: was it drawn from?
            record.array(f"{key}/state", generator.get_state())


# --- part 3: reading the loss curves ------------------------------------------------------------------

LOG2 = math.log(2.0)


def _regime(kind: str, steps: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Loss curves of one regime, starting near the equilibrium values (2 log 2 for D, log 2 for G)."""
    t = np.linspace(0.0, 1.0, steps)
    d0, g0 = 2 * LOG2, LOG2
    if kind == "level":
        wobble = 0.1 * np.sin(2 * np.pi * t * max(1, steps // 40))
        d, g = d0 + wobble, g0 - 0.5 * wobble
    elif kind == "d-falls":  # D's loss decays towards 0, G's climbs
        d = 0.03 + (d0 - 0.03) * np.exp(-8 * t)
        g = g0 + (6.0 - g0) * (1 - np.exp(-5 * t))
    else:  # "g-falls": D fooled, its loss high; G's loss towards 0
        d = d0 + (2.6 - d0) * (1 - np.exp(-6 * t))
        g = 0.06 + (g0 - 0.06) * np.exp(-7 * t)
    return d * np.exp(noise * rng.standard_normal(steps)), g * np.exp(noise * rng.standard_normal(steps))


SHAPES = {"level": "both losses wobbling around 2 log 2 (D) and log 2 (G)",
          "d-falls": "D's loss falling towards 0.03 while G's climbs to 6",
          "g-falls": "G's loss falling towards 0.06 while D's climbs to 2.6"}


def histories(seed: int = 23) -> list[tuple[str, list[float], list[float]]]:
    """(description, d_losses, g_losses): clear runs of each shape with noise, runs that change shape 60%
    of the way through (only the end decides), both losses low at once, runs of one to four steps, spiky
    tails, and runs at levels drawn for each salt (:func:`_random_runs`)."""
    rng = np.random.default_rng(salted(seed))
    cases = []
    for kind in ("level", "d-falls", "g-falls"):
        for steps, noise in ((400, 0.05), (1000, 0.25), (160, 0.4), (57, 0.1)):
            d, g = _regime(kind, steps, rng, noise)
            cases.append((f"a {steps}-step run with {SHAPES[kind]} (noise {noise})", d, g))
    for early, late in (("d-falls", "level"), ("level", "d-falls"), ("g-falls", "level"),
                        ("level", "g-falls"), ("d-falls", "g-falls"), ("g-falls", "d-falls")):
        steps, cut = 500, 300
        d1, g1 = _regime(early, cut, rng, 0.1)
        d2, g2 = _regime(late, steps - cut, rng, 0.1)
        d2 = np.concatenate([np.linspace(d1[-1], d2[0], 20), d2])[:steps - cut]  # a short transition
        g2 = np.concatenate([np.linspace(g1[-1], g2[0], 20), g2])[:steps - cut]
        cases.append((f"a 500-step run with {SHAPES[early]} for 300 steps, then {SHAPES[late]}",
                      np.concatenate([d1, d2]), np.concatenate([g1, g2])))
    both = np.exp(0.1 * rng.standard_normal((2, 200)))
    cases.append(("a 200-step run where both losses are low (D loss about 0.4, G loss about 0.2)",
                  0.4 * both[0], 0.2 * both[1]))
    for d_value, g_value in ((1.3, 0.8), (0.2, 3.0), (2.5, 0.1), (0.3, 0.1)):
        for steps in (1, 3):
            cases.append((f"a {steps}-step run with D loss {d_value} and G loss {g_value} at every step",
                          np.full(steps, d_value), np.full(steps, g_value)))
    cases += [("the 3-step run D losses [1.4, 1.4, 0.05], G losses [0.7, 0.7, 6.0]", [1.4, 1.4, 0.05],
               [0.7, 0.7, 6.0]),
              ("the 4-step run D losses [1.4, 1.4, 2.6, 2.5], G losses [0.7, 0.7, 0.7, 0.05]", [1.4, 1.4, 2.6, 2.5],
               [0.7, 0.7, 0.7, 0.05])]
    # spiky tails, where the mean and the median of the tail give different verdicts (the rule takes the mean)
    spikes = np.arange(400) % 10 == 9
    cases += [("a 400-step run with D loss 0.6 and a spike to 1.9 every tenth step, G loss 1.0",
               np.where(spikes, 1.9, 0.6), np.full(400, 1.0)),
              ("a 400-step run with D loss 1.4, G loss 0.3 and a spike to 1.2 every tenth step",
               np.full(400, 1.4), np.where(spikes, 1.2, 0.3))]
    cases += _random_runs(12, 28)
    return [(what, [float(v) for v in d], [float(v) for v in g]) for what, d, g in cases]


def _random_runs(count: int, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Runs whose last 40 % sit at levels drawn afresh for every salt, clear of the rule's thresholds (D loss below
    0.59 or above 0.8, G loss below 0.25 or above 0.45): the only way to their verdicts is the rule itself, so
    no list of verdicts written out before grading matches them."""
    rng = np.random.default_rng(salted(seed))

    def level(low: tuple[float, float], high: tuple[float, float]) -> float:
        return float(rng.uniform(*(low if rng.integers(2) else high)))

    runs = []
    for _ in range(count):
        steps = int(rng.integers(40, 600))
        late = steps - int(0.6 * steps)
        d_end, g_end = level((0.05, 0.59), (0.8, 2.5)), level((0.02, 0.25), (0.45, 3.0))
        d_start, g_start = rng.uniform(0.05, 2.5), rng.uniform(0.02, 3.0)
        d = np.concatenate([np.full(steps - late, d_start), np.full(late, d_end)])
        g = np.concatenate([np.full(steps - late, g_start), np.full(late, g_end)])
        d, g = d * np.exp(0.03 * rng.standard_normal(steps)), g * np.exp(0.03 * rng.standard_normal(steps))
        runs.append((f"a {steps}-step run with D loss about {d_start:.2f} and G loss about {g_start:.2f}, then, "
                     f"over its last {late} steps, D loss about {d_end:.2f} and G loss about {g_end:.2f}", d, g))
    return runs


def tail_cases() -> list[tuple[str, list[float], list[float], float, str]]:
    """(description, d_losses, g_losses, tail, how tail is passed): runs whose verdict depends on the tail."""
    rng = np.random.default_rng(salted(24))
    runs = [  # (steps, D loss, G loss) of each stretch, and the tails to ask about
        (((300, 0.05, 5.0), (100, 0.95, 0.8)), (0.1, 0.25, 0.5, 1.0)),  # D won, then the game recovered
        (((300, 1.4, 1.0), (100, 2.5, 0.05)), (0.1, 0.5, 1.0)),  # healthy, then G's loss fell to 0
        (((145, 1.4, 1.0), (40, 0.02, 6.0), (15, 1.4, 1.0)), (0.1, 0.25, 1.0)),  # a short win of D near the end
    ]
    cases = []
    for parts, tails in runs:
        steps = sum(n for n, _, _ in parts)
        d = np.concatenate([np.full(n, dv) for n, dv, _ in parts]) * np.exp(0.05 * rng.standard_normal(steps))
        g = np.concatenate([np.full(n, gv) for n, _, gv in parts]) * np.exp(0.05 * rng.standard_normal(steps))
        what = f"a {steps}-step run of " + ", then ".join(f"{n} steps with D loss about {dv:g} and G loss about {gv:g}"
                                                         for n, dv, gv in parts)
        for tail in tails:
            cases.append((what, [float(v) for v in d], [float(v) for v in g], tail, "keyword"))
    first = cases[0]
    cases.append((first[0], first[1], first[2], 0.5, "positional"))
    return cases


def asked_order(n: int, seed: int) -> list[int]:
    """The order in which the probe asks about ``n`` cases: position i of the record holds case ``order[i]``.
    It depends on the salt: the verdicts are a handful of words, and a list of them written out before grading
    must not line up with the cases."""
    return [int(i) for i in np.random.default_rng(salted(seed)).permutation(n)]


def probe_diagnose_history(record: Record, diagnose_history) -> None:
    cases = histories()
    for i, j in enumerate(asked_order(len(cases), 25)):
        _, d, g = cases[j]
        key = f"history/{i}"
        verdict = record.call(key, diagnose_history, list(d), list(g))
        if not record.raised(key):
            record.output(key, verdict)
    cases = tail_cases()
    for i, j in enumerate(asked_order(len(cases), 26)):
        _, d, g, tail, how = cases[j]
        key = f"tail/{i}"
        verdict = record.call(key, diagnose_history, list(d), list(g), tail) if how == "positional" else \
            record.call(key, diagnose_history, list(d), list(g), tail=tail)
        if not record.raised(key):
            record.output(key, verdict)
