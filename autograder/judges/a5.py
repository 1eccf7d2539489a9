"""Judges of assignment 5 (chapter 5): fixes for mode collapse and the Wasserstein GAN.

The replay buffer is judged by replaying the probe's script of calls (:func:`replay_script`) on a
model of what any correct buffer must return: every sample carries its id in its values, so each
returned row is traced back to the call that stored it. The minibatch-discrimination layer is rerun
from its traces with the judge's own inputs and its own T, against float64 references of the
features and their gradients. The losses are compared with float64 formulas written here, the
gradient penalty with the judge's own copy of each critic at the points the critic was called at
(which must be interpolates between the judge's real and fake samples), and the truncated latents
with scipy's truncated normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from autograder.judges import answer, assert_close, fail, signature_is, to_numpy
from autograder.judges.graph import Graph
from autograder.judges.networks import random_state
from autograder.judges.reference import sigmoid, softplus
from autograder.probes.a5 import (
    MBD_BATCHES,
    MBD_CONFIGS,
    REUSED,
    SHAPES,
    critic_loss_cases,
    eager_case,
    generator_loss_cases,
    latent_cases,
    penalty_cases,
    penalty_critic,
    penalty_samples,
    replay_script,
)
from autograder.probes.record import Record, salted_generator

BUFFER_SIGNATURE = {"capacity": None, "fraction": "0.5", "generator": "None"}
# The random parts are judged by statistical tests. A correct answer fails one of them with a probability set
# by these levels (tests/test_false_failure_rates.py adds them up, for the sizes the probes ask for):
KS_LEVEL = 1e-7  # a Kolmogorov-Smirnov p-value below it fails
Z_LIMIT = 6.0  # a mean or a variance this many standard errors from the law's fails
FEW_KEPT = 2  # fewer of the last push's samples than this left in the small buffer fails
SAMPLE_COUNTS = (10, 110)  # in 2,000 draws from 40 stored samples (50 each expected), a count outside fails
MBD_SIGNATURE = {"in_features": None, "num_kernels": "8", "kernel_dim": "8"}


def _close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = to_numpy(a), to_numpy(b)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


# --- part 1: the replay buffer -------------------------------------------------------------------------

@dataclass
class _Model:
    """What any correct buffer built by the script holds, as far as can be known from outside."""

    call: str
    capacity: int
    fraction: float
    count: int = 0  # len(buffer)
    stored: set[int] = field(default_factory=set)  # every id stored so far
    mixed: set[int] = field(default_factory=set)  # ids stored by mix
    replayed: set[int] = field(default_factory=set)  # ids mix returned as old fakes
    sampled: list[int] = field(default_factory=list)
    reused: set[int] = field(default_factory=set)  # ids the caller changed in place after pushing them
    last_push: set[int] = field(default_factory=set)
    first_push: set[int] = field(default_factory=set)
    history: list[str] = field(default_factory=list)

    def after(self) -> str:
        steps: list[list] = []
        for item in self.history:
            if steps and steps[-1][0] == item:
                steps[-1][1] += 1
            else:
                steps.append([item, 1])
        return ", ".join(text if k == 1 else f"{text} x{k}" for text, k in steps[-5:])

    def store(self, ids: list[int]) -> None:
        self.stored |= set(ids)
        self.count = min(self.capacity, self.count + len(ids))


def _decode(record: Record, key: str, shape: tuple[int, ...], what: str) -> list[int | None]:
    """The id each returned sample carries (None for a row that is no sample the buffer was given)."""
    out = answer(record, key, what)
    if out.dim() < 1 or tuple(out.shape[1:]) != shape:
        fail(f"{what} returned a tensor of shape {tuple(out.shape)}; the samples had shape {shape}, so a batch "
             f"of n samples has shape (n, {', '.join(map(str, shape))}).")
    if record.facts.get(key, {}).get("requires_grad"):
        fail(f"{what} returned a batch that requires grad, although the fakes it was given do not: the stored "
             "samples must be detached (push stores fakes.detach()).")
    pattern = torch.arange(math.prod(shape), dtype=torch.float64) / 8
    rows = out.to(torch.float64).reshape(len(out), math.prod(shape)) - pattern
    ids: list[int | None] = []
    for row in rows:
        first = float(row[0])
        ids.append(int(first) if bool((row == first).all()) and first == round(first) else None)
    return ids


def _strangers(ids: list[int | None], known: set[int], model: _Model, what: str) -> None:
    strangers = [i for i in ids if i is None or i not in known]
    if not strangers:
        return
    if any(i is not None and i - int(REUSED) in model.reused for i in strangers):
        fail(f"{what} returned samples whose values changed after they were pushed: push must store copies "
             "(fakes.detach().clone(), or copy into a tensor of its own), because the caller may reuse or "
             "change its tensor in place.")
    fail(f"{what} returned samples that are neither in the current batch nor among the samples stored "
         "earlier (does the buffer change the samples, or store something other than what it was given?).")


def _judge_mix(record: Record, key: str, model: _Model, first: int, n: int, shape: tuple[int, ...]) -> None:
    current = list(range(first, first + n))
    what = f"mix({n} fakes) after {model.after()}"
    error = record.raised(key)
    if error:
        fail(f"{what} raised {error}")
    ids = _decode(record, key, shape, what)
    if len(ids) != n:
        fail(f"{what} returned {len(ids)} samples; D's fake batch must keep the size of the current batch ({n}).")
    if model.count == 0:
        if ids != current:
            fail(f"{what} on an empty buffer must return fakes unchanged (there is nothing to replay yet).")
    else:
        _strangers(ids, model.stored | set(current), model, what)
        old = [i for i in ids if i in model.stored]
        new = [i for i in ids if i in set(current)]
        f = model.fraction
        low, high = math.floor(f * n + 1e-9), math.ceil(f * n - 1e-9)
        if len(set(new)) != len(new):
            fail(f"{what} repeated samples of the current batch: it holds round(fraction * n) replayed fakes, drawn "
                 "from what was stored before this call (draw them before storing fakes), and n - round(fraction "
                 "* n) distinct samples of fakes.")
        if not low <= len(old) <= high:
            hint = ""
            if old and len(new) > n - low:
                hint = (" The replayed fakes come from what was stored before this call: draw them first, then "
                        "store fakes.")
            fail(f"{what} contained {len(old)} replayed sample(s) and {len(new)} of the current batch; with "
                 f"fraction={f} it must hold round({f} * {n}) = {round(f * n)} fakes drawn from the buffer and "
                 f"the rest from the current batch.{hint}")
        model.replayed |= set(old)
    model.history.append(f"mix({n} fakes)")
    model.mixed |= set(current)
    model.store(current)


def _judge_len(record: Record, key: str, model: _Model) -> None:
    what = f"len(buffer) after {model.after()}"
    error = record.raised(key)
    if error:
        fail(f"{what} raised {error} (define __len__ to return the number of stored samples).")
    fact = record.facts.get(key, {})
    if fact.get("type") != "int":
        fail(f"{what} must be an int, got {fact.get('type')}.")
    got = fact["value"]
    if got == model.count:
        return
    last = model.history[-1] if model.history else ""
    if last.startswith("mix") and got < model.count:
        fail(f"{what} is {got}, expected {model.count}: mix must also store fakes, as push does (after choosing "
             "D's batch), so that later calls can replay them; the library's ReplayBuffer.mix does the same.")
    if got > model.capacity:
        fail(f"{what} is {got}: a {model.call} holds at most `capacity` samples.")
    fail(f"{what} is {got}, expected {model.count} (each push or mix stores every sample it is given, up to "
         "`capacity`).")


def _judge_sample(record: Record, key: str, model: _Model, n: int, shape: tuple[int, ...]) -> list[int]:
    what = f"sample({n}) after {model.after()}"
    error = record.raised(key)
    if error:
        fail(f"{what} raised {error}")
    ids = _decode(record, key, shape, what)
    if len(ids) != n:
        fail(f"{what} returned {len(ids)} samples, expected {n}: sample draws with replacement, so n may exceed "
             "len(buffer).")
    _strangers(ids, model.stored, model, what)
    distinct = len(set(ids))
    if distinct > model.count:
        fail(f"{what} returned {distinct} distinct samples, but the buffer should hold only {model.count}: "
             f"a {model.call} keeps at most `capacity` samples.")
    model.sampled += ids
    return ids


def _judge_buffer_script(record: Record) -> dict[str, _Model]:
    models: dict[str, _Model] = {}
    for key, name, op, arg in replay_script():
        if op == "global_seed":
            continue
        if op == "new":
            kwargs = dict(arg)
            seed = kwargs.pop("seed", None)
            text = ", ".join([f"{k}={v}" for k, v in kwargs.items()] +
                             ([f"generator=torch.Generator().manual_seed({seed})"] if seed is not None else []))
            call = f"ReplayBuffer({text})"
            error = record.raised(key)
            if error:
                fail(f"{call} raised {error}")
            models[name] = _Model(call, kwargs["capacity"], kwargs.get("fraction", 0.5), history=[call])
            continue
        model = models[name]
        if op in ("push", "push_graph", "push_reused"):
            first, n, shape = arg
            ids = list(range(first, first + n))
            error = record.raised(key)
            if error:
                fail(f"push({n} fakes) after {model.after()} raised {error}")
            if op == "push_graph" and record.facts.get(f"{key}/graph_kept", False):
                fail("after push, the buffer still holds the autograd graph of the pushed fakes: store detached "
                     "copies (fakes.detach().clone()), or the generator's graphs of every step stay in memory.")
            if op == "push_reused":
                model.reused |= set(ids)
            model.history.append(f"push({n} fakes)")
            model.first_push = model.first_push or set(ids)
            model.last_push = set(ids)
            model.store(ids)
        elif op == "mix":
            first, n, shape = arg
            _judge_mix(record, key, model, first, n, SHAPES[shape])
        elif op == "sample":
            shape = SHAPES["image"] if name == "images" else SHAPES["point"]
            ids = _judge_sample(record, key, model, arg, shape)
            _judge_sampled(name, model, ids, arg)
            model.history.append(f"sample({arg})")
        elif op == "len":
            _judge_len(record, key, model)
    return models


def _judge_sampled(name: str, model: _Model, ids: list[int], n: int) -> None:
    """What a uniform draw from the stored samples shows, in the script's larger draws."""
    what = f"sample({n}) after {model.after()}"
    if name == "main" and n == 2000:
        missing = model.stored - set(ids)
        if missing:
            fail(f"{what} never returned {len(missing)} of the {len(model.stored)} stored samples: draw uniformly "
                 "(with replacement) from everything stored.")
        counts = np.bincount([sorted(model.stored).index(i) for i in ids])
        if counts.min() < SAMPLE_COUNTS[0] or counts.max() > SAMPLE_COUNTS[1]:
            fail(f"{what}: the stored samples came back between {counts.min()} and {counts.max()} times each "
                 f"(about {n // len(model.stored)} expected): draw uniformly from everything stored.")
    if name == "small" and len(set(ids) & model.last_push) < FEW_KEPT:
        # replacing the oldest keeps all 8 of the last push; replacing 8 slots drawn at random (with repeats) keeps
        # about 6, and 1 only if all 8 draws hit one slot (probability 12 / 12^8); always overwriting one slot keeps 1
        fail(f"{what} returned only {len(set(ids) & model.last_push)} of the {len(model.last_push)} samples of the "
             "last push: once the buffer is full, each new sample must replace a stored one (the oldest, or one "
             "drawn at random), not always the same slot.")


def judge_ReplayBuffer(record: Record) -> None:  # noqa: N802 - the part's name
    signature_is(record, BUFFER_SIGNATURE, "ReplayBuffer")
    models = _judge_buffer_script(record)
    wide = models["wide"]
    if len(wide.replayed) < 40 or not wide.replayed & wide.first_push:
        fail(f"30 calls of mix(8 fakes) with fraction=1.0 replayed only {len(wide.replayed)} distinct stored "
             "samples: draw the old fakes at random (uniformly, with replacement) from everything stored.")
    if not (wide.replayed | set(wide.sampled)) & wide.mixed:
        fail("the fakes given to mix were never replayed nor sampled later: mix must store fakes, the current "
             "batch it was given (not the batch it returns).")
    calls = {name: [key for key, buffer, op, _ in replay_script() if buffer == name and op in ("mix", "sample")]
             for name in ("repeat_a", "repeat_b")}
    for key, other in zip(calls["repeat_a"], calls["repeat_b"]):
        if not record.has(key) or not record.has(other) or not _close(record.tensor(key), record.tensor(other), 0, 0):
            fail("two buffers built with equally seeded generators (ReplayBuffer(..., generator=torch.Generator()"
                 ".manual_seed(9))) and given the same calls returned different batches: draw every random "
                 "choice with the buffer's generator (e.g. torch.randint(..., generator=self.generator)).")


# --- part 2: minibatch discrimination ------------------------------------------------------------------

def ref_features(x: np.ndarray, T: np.ndarray, distance: str = "l1") -> np.ndarray:  # noqa: N803 - the paper's T
    """o_b(x_i) = sum over j != i of exp(-||M_i,b - M_j,b||_1), with M_i = x_i T (float64)."""
    m = np.einsum("na,abc->nbc", x, T)
    diff = m[:, None] - m[None, :]
    dist = np.abs(diff).sum(-1) if distance == "l1" else np.sqrt((diff ** 2).sum(-1))
    return np.exp(-dist).sum(1) - 1.0


def _torch_features(x: torch.Tensor, T: torch.Tensor) -> torch.Tensor:  # noqa: N803
    """The same features in float64 torch, for the expected gradients."""
    m = torch.einsum("na,abc->nbc", x, T)
    return torch.exp(-(m[:, None] - m[None, :]).abs().sum(-1)).sum(1)


def _find_T(graph: Graph, shape: tuple[int, int, int]) -> str:  # noqa: N802 - the paper's name
    found = [k for k in graph.parameter_names if tuple(graph.shapes[k]) == shape]
    if "T" in found:
        return "T"
    if len(found) != 1:
        fail(f"MinibatchDiscrimination(in_features={shape[0]}, num_kernels={shape[1]}, kernel_dim={shape[2]}) "
             f"should hold one learned parameter self.T of shape {shape}; found {len(found)} parameter(s) of that "
             "shape.")
    return found[0]


def judge_MinibatchDiscrimination(record: Record) -> None:  # noqa: N802
    signature_is(record, MBD_SIGNATURE, "MinibatchDiscrimination")
    gen = salted_generator(51)
    for i, (a, b, c) in enumerate(MBD_CONFIGS):
        where = f"(in_features={a}, num_kernels={b}, kernel_dim={c})"
        error = record.raised(f"build{i}")
        if error:
            fail(f"MinibatchDiscrimination{where} raised {error}")
        graphs = {n: Graph(record, f"layer{i}/{n}") for n in MBD_BATCHES}
        name = _find_T(graphs[MBD_BATCHES[0]], (a, b, c))
        T = torch.randn(a, b, c, generator=gen) / (c * math.sqrt(a))  # noqa: N806 - distances of order 1
        T_np = to_numpy(T)  # noqa: N806

        def layer(x: torch.Tensor, T: torch.Tensor = T, graphs=graphs, name=name) -> torch.Tensor:  # noqa: N803
            """The student's layer as traced, with the judge's T."""
            graph = graphs[len(x)]
            state = graph.parameters()
            state[name] = T
            return graph(x, state=state)

        base = torch.randn(7, a, generator=gen)
        batches = [base, torch.randn(16, a, generator=gen) * 2, base[:2], base[:1],
                   torch.cat([base[:1].repeat(3, 1), base[1:3]])]  # a partly collapsed batch
        for x in batches:
            n = len(x)
            at = f"MinibatchDiscrimination{where} on a batch of {n}"
            with torch.no_grad():
                out = layer(x.clone())
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n, a + b):
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                fail(f"{at} must return shape {(n, a + b)} (x followed by the {b} minibatch features), got {got}.")
            assert_close(out[:, :a], x, f"the first {a} output columns of {at} (they must be x itself)")
            o, expected = to_numpy(out[:, a:]), ref_features(to_numpy(x), T_np)
            if _close(o, expected) or _close(o, expected + 1.0):
                continue  # j = i left out (the stated convention) or included (adds exactly 1)
            l2 = ref_features(to_numpy(x), T_np, "l2")
            if _close(o, l2) or _close(o, l2 + 1.0):
                fail(f"the minibatch features of {at} match an L2 distance; the layer uses the L1 distance "
                     "||M_i,b - M_j,b||_1 (a sum of absolute differences).")
            if n > 2 and np.allclose(o, o[:1]) and not np.allclose(expected, expected[:1]):
                fail(f"the minibatch features of {at} are the same for every sample; each sample needs its own "
                     "features o(x_i), a sum over the other samples j.")
            fail(f"the minibatch features of {at} (with the grader's T): expected (rows = samples) "
                 f"{np.array2string(expected[:2], precision=4)}, got {np.array2string(o[:2], precision=4)}.")

        # Per sample: permuting the batch permutes the outputs; changing one sample moves the others.
        x = torch.randn(7, a, generator=gen)
        perm = torch.randperm(7, generator=gen)
        moved = x.clone()
        moved[0] += 0.5
        with torch.no_grad():
            out, out_perm, out_moved = layer(x), layer(x[perm]), layer(moved)
        assert_close(out_perm, out[perm], f"MinibatchDiscrimination{where} on a permuted batch (it must give the "
                                          "permuted output)")
        if _close(out_moved[1:, a:], out[1:, a:], 0, 1e-7):
            fail("changing one sample did not change the other samples' minibatch features; each o(x_i) must "
                 "compare x_i with the other samples of the batch.")

        # Gradients reach T and every sample, as those of the formula do.
        weights = torch.randn(7, b, generator=gen, dtype=torch.float64)
        xs, Ts = x.clone().requires_grad_(True), T.clone().requires_grad_(True)  # noqa: N806
        out = layer(xs, Ts)
        got = torch.autograd.grad((out[:, a:] * weights.float()).sum(), [xs, Ts], allow_unused=True)
        x64, T64 = x.double().requires_grad_(True), T.double().requires_grad_(True)  # noqa: N806
        want = torch.autograd.grad((_torch_features(x64, T64) * weights).sum(), [x64, T64])
        for g, w, what in zip(got, want, ("the inputs", "T")):
            if g is None or float(g.abs().max()) == 0.0:
                fail(f"no gradient of the minibatch features of MinibatchDiscrimination{where} reaches {what}: "
                     "compute them from x T with torch operations.")
            assert_close(g, w, f"the gradient of the minibatch features w.r.t. {what} {where}", rtol=1e-3, atol=1e-4)

    _judge_eager(record)
    error = record.raised("build_default")
    if error:
        fail(f"MinibatchDiscrimination(4) raised {error}")
    default = Graph(record, "default")
    with torch.no_grad():
        shape = tuple(default(torch.randn(3, 4, generator=gen), state=random_state(default, gen)).shape)
    if shape != (3, 12):
        fail(f"MinibatchDiscrimination(4) with its defaults (num_kernels=8, kernel_dim=8) on a batch of 3 must "
             f"return shape (3, 12), got {shape}.")


def _judge_eager(record: Record) -> None:
    """The layer run directly (not traced) sends the formula's gradients to x and T: no detach, no no_grad."""
    a, b, c = MBD_CONFIGS[0]
    where = f"MinibatchDiscrimination(in_features={a}, num_kernels={b}, kernel_dim={c})"
    error = record.raised("eager") or record.raised("eager/grad")
    if error:
        fail(f"backpropagating through {where} raised {error}: compute the features from x and T with torch "
             "operations that autograd follows (no detach, no torch.no_grad()).")
    if not record.has("eager/grad/T") or not record.has("eager/grad/x"):
        fail(f"the grader could not backpropagate through {where}.")
    T, x, weights = eager_case()  # noqa: N806
    x64, T64 = x.double().requires_grad_(True), T.double().requires_grad_(True)  # noqa: N806
    want = torch.autograd.grad((_torch_features(x64, T64) * weights.double()).sum(), [x64, T64])
    for key, w in zip(("x", "T"), want):
        got = record.tensor(f"eager/grad/{key}")
        if float(got.abs().max()) == 0.0:
            fail(f"no gradient of the minibatch features of {where} reaches {'the inputs' if key == 'x' else 'T'} "
                 "when the layer runs: do not detach the features or compute them under torch.no_grad(), or D "
                 "cannot learn T.")
        assert_close(got, w, f"the gradient of the minibatch features of {where} w.r.t. {key}", rtol=1e-3, atol=1e-4)


# --- parts 3 and 4: the Wasserstein losses -------------------------------------------------------------

def _loss(record: Record, key: str, what: str, name: str) -> float:
    out = answer(record, key, what)
    if out.numel() != 1:
        fail(f"{what} must return a single number (a mean over the batch), got shape {tuple(out.shape)}.")
    if not out.is_floating_point():
        fail(f"{what} must return a floating-point tensor, got {out.dtype}.")
    if not record.facts.get(key, {}).get("requires_grad"):
        fail(f"{what}: the loss is not connected to the scores (no gradient flows back): compute it with torch "
             f"operations on the scores, as {name} is used to train the networks.")
    return float(to_numpy(out).reshape(()))


def _grad(record: Record, key: str, j: int, what: str) -> torch.Tensor:
    error = record.raised(f"{key}/grad")
    if error:
        fail(f"{what}: backpropagating the loss raised {error}")
    if not record.has(f"{key}/grad/{j}"):
        fail(f"{what}: the grader received no gradient.")
    return record.tensor(f"{key}/grad/{j}")


def _judge_grad(got: torch.Tensor, expected: np.ndarray, what: str, sign: str) -> None:
    """Compare a loss's gradient with the formula's, naming the usual reasons for a difference."""
    g = to_numpy(got)
    if g.shape == expected.shape and not _close(g, expected):
        if _close(g, -expected):
            fail(f"{what}: expected {expected.ravel()[0]:.4f} for every score, got {g.ravel()[0]:.4f}; the sign is "
                 f"swapped: {sign}.")
        if _close(g, expected * expected.size):
            fail(f"{what}: expected {expected.ravel()[0]:.4f} for every score, got {g.ravel()[0]:.4f}; use means "
                 "over each batch, not sums.")
        if np.abs(g).max() < 1e-3 * np.abs(expected).max():
            fail(f"{what}: expected {expected.ravel()[0]:.4f} for every score, got (almost) 0 at these large "
                 "scores: the critic's scores are raw numbers, not logits, so no sigmoid saturates them.")
    assert_close(g, expected, what)


def _scores(s: np.ndarray) -> str:
    return np.array2string(s[:3], precision=1) + ("..." if len(s) > 3 else "")


def judge_wasserstein_critic_loss(record: Record) -> None:
    for key, real, fake in critic_loss_cases():
        r, f = to_numpy(real), to_numpy(fake)
        what = f"wasserstein_critic_loss for real scores {_scores(r)} and fake scores {_scores(f)}"
        got = _loss(record, key, what, "wasserstein_critic_loss")
        value = f.mean() - r.mean()
        if not _close(got, value):
            if _close(got, -value):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; the sign is swapped: the critic minimizes "
                     "mean f(fake) - mean f(real).")
            if _close(got, sigmoid(f).mean() - sigmoid(r).mean()) or \
                    _close(got, softplus(-r).mean() + softplus(f).mean()):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; the critic's scores are raw numbers, not "
                     "logits: no sigmoid and no cross-entropy.")
            if _close(got, f.sum() - r.sum()):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; use means over each batch, not sums.")
        assert_close(got, value, what)
    for key, real, fake in critic_loss_cases():
        r, f = to_numpy(real), to_numpy(fake)
        what = f"wasserstein_critic_loss for real scores {_scores(r)} and fake scores {_scores(f)}"
        _judge_grad(_grad(record, key, 0, what), np.full(r.shape, -1.0 / r.size), f"{what}: the gradient w.r.t. "
                    "the real scores", "the critic minimizes mean f(fake) - mean f(real)")
        _judge_grad(_grad(record, key, 1, what), np.full(f.shape, 1.0 / f.size), f"{what}: the gradient w.r.t. "
                    "the fake scores", "the critic minimizes mean f(fake) - mean f(real)")


def judge_wasserstein_generator_loss(record: Record) -> None:
    for key, fake in generator_loss_cases():
        f = to_numpy(fake)
        what = f"wasserstein_generator_loss for fake scores {_scores(f)}"
        got = _loss(record, key, what, "wasserstein_generator_loss")
        value = -f.mean()
        if not _close(got, value):
            if _close(got, -value):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; the sign is swapped: the generator raises "
                     "the critic's scores, i.e. minimizes -mean f(fake).")
            if _close(got, -sigmoid(f).mean()) or _close(got, softplus(-f).mean()):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; the critic's scores are raw numbers, not "
                     "logits: no sigmoid and no cross-entropy.")
            if _close(got, -f.sum()):
                fail(f"{what}: got {got:.4f}, expected {value:.4f}; use the mean over the batch, not the sum.")
        assert_close(got, value, what)
    for key, fake in generator_loss_cases():
        f = to_numpy(fake)
        what = f"wasserstein_generator_loss for fake scores {_scores(f)}"
        _judge_grad(_grad(record, key, 0, what), np.full(f.shape, -1.0 / f.size),
                    f"{what}: the gradient w.r.t. the fake scores", "the generator minimizes -mean f(fake)")


# --- part 5: the gradient penalty ----------------------------------------------------------------------

def _interpolation(x: np.ndarray, real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, bool]:
    """The eps of each row of x = eps real + (1 - eps) fake, and whether every row is such a point."""
    n = len(real)
    d, y = (real - fake).reshape(n, -1), (x - fake).reshape(n, -1)
    eps = (y * d).sum(1) / (d * d).sum(1)
    residual = np.abs(y - eps[:, None] * d).max()
    return eps, bool(residual <= 1e-5 * (1 + np.abs(real).max() + np.abs(fake).max()))


def _inputs(record: Record, key: str) -> list[np.ndarray]:
    count = record.facts.get(f"{key}/inputs", 0)
    return [to_numpy(record.tensor(f"{key}/input/{i}")) for i in range(int(count)) if record.has(f"{key}/input/{i}")]


def _points(record: Record, key: str, real: np.ndarray, fake: np.ndarray,
            what: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The batches of interpolates the critic was called at, with their eps, those strictly between real and
    fake first (the critic may also have been called at the real or fake points); fails when there are none."""
    seen = _inputs(record, key)
    if not seen:
        fail(f"{what}: the critic was never called; the penalty is taken on the critic's gradient at the "
             "interpolates, critic(x_hat).")
    found = []
    for x in seen:
        if x.shape == real.shape:
            eps, ok = _interpolation(x, real, fake)
            if ok:
                found.append((x, eps))
    if found:
        ends = [len(real) > 1 and bool(np.all(np.abs(e - 1) < 1e-6) or np.all(np.abs(e) < 1e-6)) for _, e in found]
        return [c for c, end in zip(found, ends) if not end] + [c for c, end in zip(found, ends) if end]
    x = seen[0]
    if x.shape != real.shape:
        fail(f"{what}: the critic was called on a batch of shape {x.shape}; call it on the interpolates, of the "
             f"shape of real and fake {real.shape}.")
    fail(f"{what}: the critic was called at points that are not on the segments between the real and fake "
         "samples: x_hat = eps real + (1 - eps) fake, with one eps per sample, the same for all of that sample's "
         "entries (draw torch.rand(N) and reshape it to (N, 1) or (N, 1, 1, 1)).")
    raise AssertionError  # unreachable


def _penalty_and_grads(case: dict, x: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """The penalty at x with the judge's own float64 copy of the critic, its parameter gradients, and the
    per-sample input gradients."""
    critic = penalty_critic(case).double()
    points = torch.from_numpy(x).double().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    penalty = ((g.reshape(len(g), -1).norm(dim=1) - 1) ** 2).mean()
    params = list(critic.parameters())
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    return penalty.detach(), [torch.zeros_like(p) if w is None else w for p, w in zip(params, grads)], g.detach()


def _penalty_hint(got: float, value: float, g: torch.Tensor) -> str | None:
    n = len(g)
    norms = g.reshape(n, -1).norm(dim=1)
    hints = [(((norms ** 2 - 1) ** 2).mean(), "this is (||g||^2 - 1)^2: use the norm, not the squared norm"),
             (-value, "the sign is wrong: the penalty is a mean of squares, never negative"),
             ((g.norm() - 1) ** 2, "the norm was taken over the whole batch; take it per sample, over all of that "
                                   "sample's entries"),
             (10 * value, "this is 10 times the penalty: return it without lambda"),
             (n * value, "this is a sum over the batch, not a mean"),
             (((norms / n - 1) ** 2).mean(), "the gradient of the mean of the scores is 1/N of each sample's "
                                             "gradient: differentiate the sum of the scores (or pass "
                                             "grad_outputs=torch.ones_like(scores))")]
    if g.dim() > 2:
        hints.append((((g.norm(dim=1) - 1) ** 2).mean(), "the norm was taken over dim 1 only; take it over all of "
                                                         "a sample's entries (flatten each sample first)"))
    matches = [why for other, why in hints if not _close(other, value) and _close(got, float(other))]
    return " (or: ".join(matches) + ")" * (len(matches) - 1) if matches else None


def judge_gradient_penalty(record: Record) -> None:
    all_eps: list[np.ndarray] = []
    chosen: dict[str, np.ndarray] = {}
    for case in penalty_cases():
        real_t, fake_t = penalty_samples(case)
        real, fake = to_numpy(real_t), to_numpy(fake_t)
        n, shape = case["shape"][0], tuple(case["shape"][1:])
        kind = {"linear": "a linear critic", "quadratic": "a quadratic critic", "mlp": "a small tanh MLP critic",
                "conv": "a small convolutional critic"}[case["kind"]]
        what = f"gradient_penalty with {kind} on {n} samples of shape {shape}"
        for key in (case["key"], f"{case['key']}/again") if case["again"] else (case["key"],):
            out = answer(record, key, what)
            if out.numel() != 1:
                fail(f"{what} must return a single number (a mean over the batch), got shape {tuple(out.shape)}.")
            got = float(to_numpy(out).reshape(()))
            candidates = _points(record, key, real, fake, what)
            x, eps = next(((x, e) for x, e in candidates if _close(got, float(_penalty_and_grads(case, x)[0]))),
                          candidates[0])
            chosen[key] = x
            if n > 1 and np.all(np.abs(eps - 1) < 1e-6):
                fail(f"{what}: the critic's gradient was taken at the real points, not at interpolates between real "
                     "and fake.")
            if n > 1 and np.all(np.abs(eps) < 1e-6):
                fail(f"{what}: the critic's gradient was taken at the fake points, not at interpolates between real "
                     "and fake.")
            if eps.min() < -1e-6 or eps.max() > 1 + 1e-6:
                fail(f"{what}: the critic was called at points beyond the segments between real and fake (eps from "
                     f"{eps.min():.3f} to {eps.max():.3f}): draw eps ~ U[0, 1] with torch.rand.")
            if n >= 5 and float(eps.max() - eps.min()) < 1e-6:
                fail(f"{what}: every sample was interpolated with the same eps ({eps[0]:.3f}); draw one eps per "
                     "sample, torch.rand(N, generator=generator).")
            if key == case["key"]:
                all_eps.append(eps)
            value_t, want, g = _penalty_and_grads(case, x)
            value = float(value_t)
            if not _close(got, value):
                hint = _penalty_hint(got, value, g)
                if hint:
                    fail(f"{what}: got {got:.4f}, expected {value:.4f} at the interpolates the critic was given; "
                         f"{hint}.")
            assert_close(got, value, f"{what} (at the interpolates the critic was given)", rtol=1e-4, atol=1e-5)
            if not record.facts.get(key, {}).get("requires_grad"):
                fail(f"{what}: the penalty is not connected to the critic's parameters, so it cannot train the "
                     "critic: take the input gradient with torch.autograd.grad(..., create_graph=True).")
            for j, w in enumerate(want):
                if record.raised(f"{key}/grad"):
                    fail(f"{what}: backpropagating the penalty into the critic raised {record.raised(key + '/grad')}")
                if not record.has(f"{key}/grad/{j}"):
                    fail(f"{what}: the grader received no gradient for the critic's parameters.")
                assert_close(record.tensor(f"{key}/grad/{j}"), w, f"{what}: the gradient of the penalty w.r.t. the "
                             f"critic's parameter of shape {tuple(w.shape)} (is create_graph=True set?)",
                             rtol=1e-3, atol=1e-5)
        if case["again"] and not _close(chosen[case["key"]], chosen[f"{case['key']}/again"], 0, 1e-7):
            fail(f"{what}: two calls with equally seeded generators interpolated at different points; draw eps "
                 "with torch.rand(N, generator=generator), so that a seeded generator fixes it.")
    eps = np.concatenate(all_eps)
    from scipy import stats  # only this part needs scipy

    p = stats.kstest(eps, "uniform").pvalue
    if p < KS_LEVEL:
        fail(f"the {len(eps)} values of eps behind the interpolates do not look uniform on [0, 1] (mean "
             f"{eps.mean():.3f}, Kolmogorov-Smirnov p-value {p:.1e}): draw eps with torch.rand.")


# --- part 6: the truncation trick ----------------------------------------------------------------------

def _latents(record: Record, key: str, n: int, dim: int, threshold: float) -> np.ndarray:
    what = f"truncated_latents({n}, {dim}, {threshold})"
    z = answer(record, key, what)
    if tuple(z.shape) != (n, dim) or not z.is_floating_point():
        fail(f"{what} must return a float tensor of shape ({n}, {dim}), got shape {tuple(z.shape)}, {z.dtype}.")
    return to_numpy(z)


def judge_truncated_latents(record: Record) -> None:
    from scipy import stats  # only this part needs scipy

    cases = {key: case for key, *case in latent_cases()}
    z = {key: _latents(record, key, n, dim, t) for key, (n, dim, t, _, _) in cases.items()}
    for key, (n, dim, t, _, _) in cases.items():
        if not np.all(np.isfinite(z[key])) or float(np.abs(z[key]).max()) > t * (1 + 1e-6):
            fail(f"truncated_latents({n}, {dim}, {t}) returned entries up to {float(np.abs(z[key]).max()):.3f} in "
                 "absolute value; every entry must lie in [-threshold, threshold]: redraw those outside until they "
                 "fall inside.")
    if not np.array_equal(z["seeded_a"], z["seeded_b"]):
        fail("two calls with equally seeded generators (and different global random states) gave different "
             "latents: draw every sample, redraws included, with generator=generator.")
    if np.array_equal(z["seeded_a"], z["other_seed"]):
        fail("generators with different seeds gave the same latents: draw them with generator=generator.")
    for key, (_, _, t, _, _) in cases.items():
        if not key.startswith("law"):
            continue
        values = z[key].ravel()
        law = stats.truncnorm(-t, t)
        where = f"for threshold {t} ({values.size:,} entries)"
        edge = int((np.abs(values) >= np.float32(t)).sum())
        if edge > 5:  # a truncated normal puts (almost) no entry exactly on the edges
            fail(f"{edge:,} of the entries sit exactly at +-threshold {where}: entries outside must be redrawn "
                 "from N(0, 1) until they fall inside, not clamped.")
        if abs(values.mean()) > Z_LIMIT * law.std() / math.sqrt(values.size):
            fail(f"the entries have mean {values.mean():.4f} {where}; a truncated standard normal has mean 0.")
        squares = values.astype(np.float64) ** 2  # the mean is 0: the mean square estimates the variance
        if abs(squares.mean() - law.var()) > Z_LIMIT * math.sqrt((law.moment(4) - law.var() ** 2) / values.size):
            fail(f"the entries have standard deviation {math.sqrt(squares.mean()):.4f} {where}; a standard normal "
                 f"truncated by redrawing has {law.std():.4f} (see scipy.stats.truncnorm).")
        p = stats.kstest(values, law.cdf).pvalue
        if p < KS_LEVEL:
            fail(f"the entries do not follow a truncated standard normal {where} (Kolmogorov-Smirnov p-value "
                 f"{p:.1e}; see scipy.stats.truncnorm).")

