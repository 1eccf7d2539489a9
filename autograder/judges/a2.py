"""Judges of assignment 2 (chapter 2): one-sided label smoothing, flipped labels, reading loss curves.

The inputs are remade with the probe module's own functions. The smoothed loss and its gradients
are compared with float64 NumPy written here (the stable identities -log sigmoid(t) = softplus(-t)
and -log(1 - sigmoid(t)) = softplus(t)); the usual slips are named when the value matches one. The
flipped labels are judged from the raw labels of every call: their values, the share flipped against
the binomial spread, how the flips spread over a batch, pairs of neighbours, and draws from fresh
generators of the same seed (the judge remakes a fresh generator to see that the answer drew from the
one it was given). The diagnosis is compared with the rule of chapter 2, written out here, on
synthetic histories whose verdict does not hinge on how the tail length is rounded.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.judges import answer, assert_close, fail, to_numpy
from autograder.judges.reference import sigmoid, softplus
from autograder.probes.a2 import asked_order, histories, label_calls, loss_cases, tail_cases
from autograder.probes.record import Record, salted_generator

LOG2 = math.log(2.0)
VERDICTS = ("healthy", "d-wins", "g-wins")
# flipped_labels is judged by counting flips. A correct answer fails a count with a probability set by these
# limits (tests/test_false_failure_rates.py adds them up, for the sizes and rates the probe asks for):
RATE_Z = 5.0  # the flips of a whole call, this many binomial standard deviations from n * flip_prob, fail
SPREAD_Z = 6.0  # so do those of a tenth of a call, the flipped neighbour pairs, and the calls with generator=None
SIGNATURES = {
    "smoothed_discriminator_loss": "smoothed_discriminator_loss(real_logits, fake_logits, real_target=0.9)",
    "flipped_labels": "flipped_labels(n, label, flip_prob, generator=None)",
    "diagnose_history": "diagnose_history(d_losses, g_losses, tail=0.25)",
}


def _raised(record: Record, key: str, what: str, part: str) -> None:
    """Fail with the answer's own error for ``key``; a TypeError is usually a signature that differs."""
    error = record.raised(key)
    if not error:
        return
    note = ""
    if error.startswith("TypeError"):
        note = (f" The function must be {SIGNATURES[part]}, with the names and defaults of the course library's "
                "version.")
    fail(f"{what} raised {error}.{note}")


# --- part 1: one-sided label smoothing -----------------------------------------------------------------

def ref_smoothed(real: np.ndarray, fake: np.ndarray, real_target: float, fake_target: float = 0.0):
    """Value and input gradients of the mean BCE of real logits against real_target plus fakes against fake_target."""
    value = (real_target * softplus(-real) + (1 - real_target) * softplus(real)).mean() \
        + (fake_target * softplus(-fake) + (1 - fake_target) * softplus(fake)).mean()
    return value, (sigmoid(real) - real_target) / real.size, (sigmoid(fake) - fake_target) / fake.size


def _smoothing_hint(value: float, real: np.ndarray, fake: np.ndarray, target: float) -> str:
    """Name the usual slip that the observed value matches, if any."""
    def near(other: float) -> bool:
        return abs(value - other) <= 1e-4 * abs(other) + 1e-5

    if near(ref_smoothed(fake, real, target)[0]) or near(ref_smoothed(real, fake, 0.0, 1.0)[0]):
        return " (that is the loss with the real and fake labels swapped)"
    if target < 1 and near(ref_smoothed(real, fake, target, 1 - target)[0]):
        return " (that smooths the fake targets too; only the real targets are smoothed: one-sided)"
    if target != 0.5 and near(ref_smoothed(real, fake, 1 - target)[0]):
        return f" (that is real targets {1 - target:g}; the real targets should be real_target = {target:g})"
    if target < 1 and near(ref_smoothed(real, fake, 1.0)[0]):
        return " (that is the unsmoothed loss: the real targets should be `real_target`, not 1)"
    if target != 0.9 and near(ref_smoothed(real, fake, 0.9)[0]):
        return " (that is the loss for real_target=0.9: use the `real_target` you are given)"
    total = (target * softplus(-real) + (1 - target) * softplus(real)).sum() + softplus(fake).sum()
    if near(total):
        return " (that is a sum over the samples; each term should be a mean over its batch)"
    both = np.concatenate([target * softplus(-real) + (1 - target) * softplus(real), softplus(fake)])
    if near(both.mean()) or near(2 * both.mean()):
        return (" (that is one mean over the real and fake logits together; the loss is the mean over the real "
                "batch plus the mean over the fake batch, whose sizes may differ)")
    return ""


def judge_smoothed_discriminator_loss(record: Record) -> None:
    for key, where, real, fake, _, target in loss_cases():
        what = f"smoothed_discriminator_loss {where}"
        _raised(record, key, what, "smoothed_discriminator_loss")
        out = answer(record, key, what)
        if out.dim() != 0:
            fail(f"{what} must return a single number, a 0-d tensor (the sum of two means), got shape "
                 f"{tuple(out.shape)}" + (": drop the extra dimension, e.g. with .mean() or .squeeze()."
                                          if out.numel() == 1 else "."))
        if record.arrays[key].dtype.kind != "f":
            fail(f"{what} must return a floating-point tensor, got {record.arrays[key].dtype}.")
        s = 0.9 if target is None else target
        r, f = to_numpy(real), to_numpy(fake)
        value, e_real, e_fake = ref_smoothed(r, f, s)
        got = float(to_numpy(out).reshape(()))
        if not np.isfinite(got) or abs(got - value) > 1e-4 * abs(value) + 1e-5:
            hint = (_smoothing_hint(got, r, f, s) if np.isfinite(got)
                    else " (stay on logits: use a numerically stable formulation such as F.softplus)")
            fail(f"{what}: expected {value:.5f}, got {got:.5f}{hint}.")
        if not (record.has(f"{key}/grad_real") and record.has(f"{key}/grad_fake")):
            fail(f"{what}: the returned loss is not connected to the logits (no gradient flows back to them); "
                 "compute it with torch operations on the logits, without .item(), .detach() or NumPy.")
        assert_close(record.tensor(f"{key}/grad_real"), e_real, f"the gradient w.r.t. the real logits {where}")
        assert_close(record.tensor(f"{key}/grad_fake"), e_fake, f"the gradient w.r.t. the fake logits {where}")


# --- part 2: flipped labels ---------------------------------------------------------------------------

def _flips(record: Record, key: str, n: int, label: float, p: float, how: str) -> np.ndarray:
    """True where the call ``key`` flipped a label, after checking its type, shape and values."""
    what = f"flipped_labels({n}, {label:g}, {p:g}, generator={how})"
    _raised(record, key, what, "flipped_labels")
    answer(record, key, what)
    values = record.arrays[key]
    if values.shape != (n,):
        fail(f"{what} must return a 1-D tensor of {n} labels, shape ({n},), got shape {values.shape}.")
    if values.dtype.kind != "f":
        fail(f"{what} must return a floating-point tensor (targets for a loss such as "
             f"F.binary_cross_entropy_with_logits), got {values.dtype}.")
    values = values.astype(np.float64)
    stray = values[(values != label) & (values != 1 - label)]
    if stray.size:
        fail(f"{what} returned the value {stray[0]:g}; every target must be the label {label:g} or its flip "
             f"{1 - label:g}.")
    return values != label


def _within(count: float, expected: float, sd: float, k: float) -> bool:
    return abs(count - expected) <= k * sd + 1e-9


def _generator_words(source: str) -> str:
    kind, *numbers = source.split(":")
    if kind == "shared":
        return f"a torch.Generator seeded {numbers[0]}"
    if kind == "fresh":
        return f"torch.Generator().manual_seed({numbers[0]})"
    return "None"


def judge_flipped_labels(record: Record) -> None:
    calls = {key: (n, label, p, source) for key, n, label, p, source in label_calls()}
    flips = {key: _flips(record, key, n, label, p, _generator_words(source))
             for key, (n, label, p, source) in calls.items()}

    for key, (n, label, p, _) in calls.items():
        if key.startswith("edge/") and p == 0.0 and flips[key].any():
            fail(f"with flip_prob=0 no label may flip, but flipped_labels({n}, {label:g}, 0) flipped "
                 f"{int(flips[key].sum())} of {n}.")
        if key.startswith("edge/") and p == 1.0 and not flips[key].all():
            fail(f"with flip_prob=1 every label must flip, but flipped_labels({n}, {label:g}, 1) kept "
                 f"{int((~flips[key]).sum())} of {n}.")

    blocks = 10
    for key, (n, label, p, _) in calls.items():
        if not key.startswith("rate/"):
            continue
        flipped, what = flips[key], f"flipped_labels({n}, {label:g}, {p:g})"
        share = flipped.mean()
        if not _within(share * n, p * n, math.sqrt(n * p * (1 - p)), RATE_Z):
            hint = " (that is about 1 - flip_prob: a label must flip when its draw says so)" \
                if abs(share - (1 - p)) < 0.02 else ""
            fail(f"{what} flipped {share:.2%} of the labels; each label should flip with probability {p:.0%}{hint}.")
        size = n // blocks
        for b in range(blocks):
            part = flipped[b * size:(b + 1) * size].sum()
            if not _within(part, p * size, math.sqrt(size * p * (1 - p)), SPREAD_Z):
                fail(f"{what}: labels {b * size}-{(b + 1) * size - 1} had {part / size:.1%} flipped, the whole batch "
                     f"{share:.1%}: the flips are not spread at random over the batch; draw one random number "
                     "per label.")
        pairs = int((flipped[1:] & flipped[:-1]).sum())
        if not _within(pairs, p * p * (n - 1), math.sqrt(3 * n * p * p * (1 - p * p)), SPREAD_Z):
            fail(f"{what}: {pairs} neighbouring pairs were both flipped, where independent flips give about "
                 f"{p * p * (n - 1):.0f}: each label must be flipped on its own random draw.")

    counted = [key for key in calls if key.split("/")[0] in ("rate", "again", "seed", "none")]
    if all(int(flips[key].sum()) == round(calls[key][2] * calls[key][0]) for key in counted):
        fail(f"in all {len(counted)} calls with 0 < flip_prob < 1, exactly round(flip_prob * n) labels flipped: each "
             "label must flip on its own draw, independently of the others, so that the number flipped varies "
             "from call to call (it is binomial), e.g. torch.rand(n, generator=generator) < flip_prob.")

    if (flips["again/0"] == flips["again/1"]).all():
        fail("two calls in a row with the same torch.Generator flipped exactly the same labels; the flips must be "
             "random draws from `generator`, fresh at every call (do not reseed or copy it).")
    if not (flips["seed/0"] == flips["seed/1"]).all():
        fail("two generators seeded alike, torch.Generator().manual_seed(5), gave different flips; draw every "
             "random number from `generator` (e.g. torch.rand(n, generator=generator)), not from PyTorch's global "
             "generator or NumPy, so that a seed reproduces the labels.")
    fresh = salted_generator(5).get_state()  # what the answer was given, before any draw
    if record.has("seed/0/state") and np.array_equal(record.arrays["seed/0/state"], fresh.numpy()):
        fail("the torch.Generator passed as `generator` was left untouched: draw the random numbers from it, "
             "e.g. torch.rand(n, generator=generator).")
    if (flips["seed/0"] == flips["seed/2"]).all():
        fail("generators seeded 5 and 6 gave exactly the same flips: the labels must depend on the random numbers "
             "drawn from `generator`.")

    n, _, p, _ = calls["none/0"]
    if not _within(flips["none/0"].sum(), p * n, math.sqrt(n * p * (1 - p)), SPREAD_Z):
        fail(f"with generator=None, flipped_labels({n}, 1, {p:g}) flipped {flips['none/0'].mean():.1%} of the labels "
             f"instead of about {p:.0%}.")
    if not (flips["none/0"] == flips["none/1"]).all():
        fail("with generator=None, two calls after the same torch.manual_seed(7) gave different flips: when "
             "`generator` is None, draw from PyTorch's global generator (torch.rand(n, generator=None) does).")
    if (flips["none/1"] == flips["none/2"]).all():
        fail("with generator=None, two calls in a row flipped exactly the same labels: draw from PyTorch's global "
             "generator, not from a new torch.Generator() made at each call.")


# --- part 3: reading the loss curves ------------------------------------------------------------------

def tail_length(steps: int, tail: float) -> int:
    """The number of last steps the rule averages over: floor(tail * steps), at least one."""
    return max(1, math.floor(tail * steps + 1e-9))


def rule(d_losses, g_losses, tail: float = 0.25) -> str:
    """Chapter 2's rule: means over the tail; "d-wins" below log 2, else "g-wins" below (log 2) / 2."""
    d, g = np.asarray(d_losses, dtype=np.float64), np.asarray(g_losses, dtype=np.float64)
    n = tail_length(d.size, tail)
    if d[-n:].mean() < LOG2:
        return "d-wins"
    if g[-n:].mean() < LOG2 / 2:
        return "g-wins"
    return "healthy"


def _verdict(record: Record, key: str, what: str) -> str:
    _raised(record, key, what, "diagnose_history")
    fact = record.facts.get(key)
    value = fact.get("value") if isinstance(fact, dict) and fact.get("type") == "str" else None
    if value not in VERDICTS:
        got = fact.get("value") if isinstance(fact, dict) else None
        fail(f"{what} must return one of the strings {', '.join(repr(v) for v in VERDICTS)}, got {got!r}.")
    return value


def judge_diagnose_history(record: Record) -> None:
    cases = histories()
    position = {j: i for i, j in enumerate(asked_order(len(cases), 25))}  # where the probe put each case
    for j, (what, d, g) in enumerate(cases):
        expected = rule(d, g)
        got = _verdict(record, f"history/{position[j]}", f"diagnose_history(d_losses, g_losses) for {what}")
        if got != expected:
            n = tail_length(len(d), 0.25)
            fail(f"for {what}, whose last {n} step(s) (the last quarter) have mean D loss {np.mean(d[-n:]):.3f} and "
                 f"mean G loss {np.mean(g[-n:]):.3f}, diagnose_history(d_losses, g_losses) should say '{expected}', "
                 f"got '{got}'.")
    cases = tail_cases()
    position = {j: i for i, j in enumerate(asked_order(len(cases), 26))}
    for j, (what, d, g, tail, how) in enumerate(cases):
        call = f"diagnose_history(d_losses, g_losses, {'' if how == 'positional' else 'tail='}{tail:g})"
        expected = rule(d, g, tail)
        got = _verdict(record, f"tail/{position[j]}", f"{call} for {what}")
        if got != expected:
            n = tail_length(len(d), tail)
            fail(f"{call} for {what}: the last {n} steps (floor(tail * steps)) have mean D loss {np.mean(d[-n:]):.3f} "
                 f"and mean G loss {np.mean(g[-n:]):.3f}, so the verdict is '{expected}', got '{got}': average over "
                 "the fraction `tail` of the run.")
