"""Hidden checks for assignment 5 (chapter 5): fixes for mode collapse and the Wasserstein GAN.

Every expected value is computed here, independently of the course library: float64 NumPy for the
minibatch features, the Wasserstein losses and the gradient penalty of critics whose gradients are
known in closed form, plain torch written here for gradients with respect to a critic's parameters,
and scipy's truncated normal for the truncation trick. The replay buffer is judged by what comes
out of it: samples carry their own identity in their values, so every returned sample can be traced
back to the batch it was pushed or passed with.
"""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import scipy.stats
import torch

from gancourse import fixes as lib_fixes
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

LIBRARY = library_functions(lib_fixes.ReplayBuffer, lib_fixes.MinibatchDiscrimination, lib_fixes.MinibatchStdDev,
                            lib_fixes.truncated_latents, lib_fixes.truncate_toward_mean,
                            lib_losses.wasserstein_critic_loss, lib_losses.wasserstein_generator_loss,
                            lib_losses.gradient_penalty)


def _close(a, b, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = to_numpy(a), to_numpy(b)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


# --- part 1: the replay buffer ------------------------------------------------------------------

def _tagged(ids, shape: tuple[int, ...]) -> torch.Tensor:
    """Samples whose values spell out an integer id: id + a fixed pattern, exact in float32."""
    ids = torch.as_tensor(list(ids), dtype=torch.float32)
    pattern = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape) / 8
    return ids.reshape(-1, *([1] * len(shape))) + pattern


def _ids_of(batch, shape: tuple[int, ...], what: str) -> list[int | None]:
    """The id each returned sample carries (None for a sample that is no pushed or current sample)."""
    if not isinstance(batch, torch.Tensor):
        fail(f"{what} must return a tensor, got {type(batch).__name__}.")
    if tuple(batch.shape[1:]) != shape:
        fail(f"{what} returned samples of shape {tuple(batch.shape[1:])}; the samples had shape {shape}.")
    pattern = torch.arange(math.prod(shape), dtype=torch.float64) / 8
    rows = batch.detach().to("cpu", torch.float64).reshape(len(batch), math.prod(shape)) - pattern
    out: list[int | None] = []
    for row in rows:
        first = float(row[0])
        out.append(int(first) if bool((row == first).all()) and first == round(first) else None)
    return out


class _Traced(torch.autograd.Function):
    """Identity whose graph node holds a token: if the token outlives our references, someone kept
    the graph (i.e. stored the fakes without detaching them)."""

    @staticmethod
    def forward(ctx, x, token):
        ctx.token = token
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _Token:
    pass


def _length(buffer) -> int:
    try:
        return int(len(buffer))
    except TypeError:
        fail("len(buffer) must give the number of stored samples (define __len__).")
        raise


def _mix(buffer, current: torch.Tensor, fraction: float | None, pushed: set[int], shape, where: str,
         modified: frozenset[int] = frozenset()):
    """Call mix and split its answer into replayed ids and current ids, checking sizes and origins."""
    n = len(current)
    with library_switched_off(LIBRARY):
        batch = buffer.mix(current) if fraction is None else buffer.mix(current, fraction=fraction)
    what = f"mix({n} current samples, fraction={0.5 if fraction is None else fraction}) {where}"
    ids = _ids_of(batch, shape, what)
    if len(ids) != n:
        fail(f"{what} returned {len(ids)} samples; D's fake batch must keep the size of the current batch ({n}).")
    current_ids = set(_ids_of(current, shape, "the current batch"))
    old = [i for i in ids if i in pushed]
    new = [i for i in ids if i in current_ids]
    strangers = [i for i in ids if i not in pushed and i not in current_ids]
    if set(strangers) & modified:
        fail(f"{what} returned samples whose values changed after they were pushed: push must store copies "
             "(clone), because the caller may reuse or modify its tensor in place.")
    if strangers:
        fail(f"{what} returned samples that are neither in the current batch nor among the samples pushed "
             "earlier (do you modify the samples, or store something other than what push received?).")
    if len(set(new)) != len(new):
        fail(f"{what} repeated samples of the current batch; keep n - n_old distinct current samples.")
    f = 0.5 if fraction is None else fraction
    low, high = math.floor(f * n + 1e-9), math.ceil(f * n - 1e-9)
    if not low <= len(old) <= high:
        fail(f"{what} contained {len(old)} replayed sample(s); expected round({f} * {n}) = "
             f"{round(f * n)} from the buffer and the rest from the current batch.")
    if batch.requires_grad:
        fail(f"{what} returned a batch that requires grad although the current batch does not: the stored "
             "samples must be detached.")
    return old


def check_replay_buffer(ReplayBuffer) -> None:  # noqa: N803 - the student's class
    def check():
        refuse_borrowed(ReplayBuffer, "ReplayBuffer", LIBRARY)
        shape = (2,)
        with library_switched_off(LIBRARY):
            buffer = ReplayBuffer(capacity=64)

        # An empty buffer gives the current batch back, and mix stores nothing.
        current = _tagged(range(-8, 0), shape)
        with library_switched_off(LIBRARY):
            first = buffer.mix(current.clone(), fraction=0.5)
        if not isinstance(first, torch.Tensor) or not _close(first, current, 0, 0):
            fail("with an empty buffer, mix must return the current batch unchanged.")
        if _length(buffer) != 0:
            fail("after mix on an empty buffer, len(buffer) is not 0: mix must not store anything "
                 "(the training loop calls push).")

        # Push two batches; the first one goes through a graph that must not be kept.
        token = _Token()
        alive = weakref.ref(token)
        leaf = _tagged(range(0, 16), shape).requires_grad_(True)
        traced = _Traced.apply(leaf, token)
        with library_switched_off(LIBRARY):
            buffer.push(traced)
        del traced, token, leaf
        gc.collect()
        if alive() is not None:
            fail("after push, the buffer still holds the autograd graph of the pushed fakes: store detached "
                 "copies (fakes.detach().clone()).")
        second = _tagged(range(100, 116), shape)
        with library_switched_off(LIBRARY):
            buffer.push(second)
        second.add_(5000.0)  # the caller reuses its tensor; the buffer must have copied it
        pushed = set(range(0, 16)) | set(range(100, 116))
        if _length(buffer) != 32:
            fail(f"after pushing 16 + 16 samples into a buffer of capacity 64, len(buffer) is "
                 f"{len(buffer)}, expected 32.")

        seen: list[int] = []
        current = _tagged(range(-8, 0), shape)
        modified = frozenset(range(5100, 5116))
        for _ in range(30):
            seen += _mix(buffer, current, 0.5, pushed, shape, "after two pushes", modified)
        if not seen or not set(seen) & set(range(0, 16)) or not set(seen) & set(range(100, 116)):
            fail("after two pushes, mix never replayed samples from both pushes: old fakes must be drawn at "
                 "random from everything stored.")
        if len(set(seen)) < 16:
            fail(f"over 30 calls mix replayed only {len(set(seen))} distinct stored samples out of 32: draw "
                 "the old samples at random.")
        if _length(buffer) != 32:
            fail("mix changed len(buffer): mix must not store anything (the training loop calls push).")
        _mix(buffer, current, None, pushed, shape, "with the default fraction")
        for fraction in (0.25, 1.0, 0.0, 0.375):
            _mix(buffer, current, fraction, pushed, shape, "after two pushes")
        odd = _tagged(range(-7, 0), shape)
        _mix(buffer, odd, 0.5, pushed, shape, "after two pushes")

        # Capacity: at most `capacity` samples are stored and replayed, and new pushes get in.
        with library_switched_off(LIBRARY):
            small = ReplayBuffer(capacity=12)
        pushed, total = set(), 0
        for k in range(5):
            ids = range(200 + 10 * k, 208 + 10 * k)
            with library_switched_off(LIBRARY):
                small.push(_tagged(ids, shape))
            pushed |= set(ids)
            total += 8
            if _length(small) != min(total, 12):
                fail(f"after pushing {total} samples into a buffer of capacity 12, len(buffer) is {len(small)}, "
                     f"expected {min(total, 12)}.")
        replayed: set[int] = set()
        for _ in range(40):
            replayed |= set(_mix(small, current, 1.0, pushed, shape, "after 40 samples in a buffer of capacity 12"))
        if len(replayed) > 12:
            fail(f"a buffer of capacity 12 replayed {len(replayed)} distinct samples: it must keep at most "
                 "`capacity` samples.")
        if not replayed & set(range(240, 248)):
            fail("once the buffer is full, new pushes must replace stored samples; the most recent push was "
                 "never replayed.")

        # Image-shaped samples.
        image = (1, 3, 3)
        with library_switched_off(LIBRARY):
            images = ReplayBuffer(capacity=20)
            images.push(_tagged(range(300, 310), image))
        _mix(images, _tagged(range(-6, 0), image), 0.5, set(range(300, 310)), image, "with image-shaped samples")
    run_check("ReplayBuffer", check)


# --- part 2: minibatch discrimination -----------------------------------------------------------

def _ref_features(x: np.ndarray, T: np.ndarray, distance: str = "l1") -> np.ndarray:
    """o_b(x_i) = sum over j != i of exp(-||M_i,b - M_j,b||), with M_i = x_i T (float64)."""
    m = np.einsum("na,abc->nbc", x, T)
    diff = m[:, None] - m[None, :]
    dist = np.abs(diff).sum(-1) if distance == "l1" else np.sqrt((diff ** 2).sum(-1))
    return np.exp(-dist).sum(1) - 1.0


def _find_T(layer, shape: tuple[int, int, int]) -> torch.Tensor:  # noqa: N802 - the paper's name
    if not isinstance(layer, torch.nn.Module):
        fail(f"MinibatchDiscrimination must be a torch.nn.Module, got {type(layer).__name__}.")
    found = [(name, p) for name, p in layer.named_parameters() if tuple(p.shape) == shape]
    named = [p for name, p in found if name == "T"]
    if named:
        return named[0]
    if len(found) != 1:
        fail(f"MinibatchDiscrimination{shape} should hold one learned parameter T of shape {shape}; "
             f"found {len(found)} parameter(s) of that shape.")
    return found[0][1]


def _torch_features(x: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """The same features in plain float64 torch, written here, for the expected gradients."""
    m = torch.einsum("na,abc->nbc", x, T)
    return torch.exp(-(m[:, None] - m[None, :]).abs().sum(-1)).sum(1)


def check_minibatch_discrimination(MinibatchDiscrimination) -> None:  # noqa: N803 - the student's class
    def check():
        refuse_borrowed(MinibatchDiscrimination, "MinibatchDiscrimination", LIBRARY)
        gen = torch.Generator().manual_seed(51)
        for A, B, C in ((5, 3, 4), (6, 2, 3)):  # noqa: N806 - the paper's names
            with library_switched_off(LIBRARY):
                layer = MinibatchDiscrimination(A, B, C)
            T = _find_T(layer, (A, B, C))  # noqa: N806
            with torch.no_grad():
                T.copy_(torch.randn(A, B, C, generator=gen) / (C * math.sqrt(A)))
            T_np = to_numpy(T)  # noqa: N806
            base = torch.randn(7, A, generator=gen)
            batches = [base, torch.randn(16, A, generator=gen) * 2, base[:2], base[:1],
                       torch.cat([base[:1].repeat(3, 1), base[1:3]])]  # a partly collapsed batch
            for x in batches:
                n = len(x)
                where = f"(in_features={A}, out_features={B}, kernel_dims={C}) on a batch of {n}"
                with library_switched_off(LIBRARY):
                    out = layer(x.clone())
                if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n, A + B):
                    got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
                    fail(f"MinibatchDiscrimination{where} must return shape {(n, A + B)} (x followed by the "
                         f"{B} minibatch features), got {got}.")
                assert_close(out[:, :A], x, f"the first {A} output columns {where} (they must be x itself)")
                o, expected = to_numpy(out[:, A:]), _ref_features(to_numpy(x), T_np)
                if _close(o, expected) or _close(o, expected + 1.0):
                    continue  # j = i left out (the stated convention) or included (adds exactly 1)
                if _close(o, _ref_features(to_numpy(x), T_np, "l2")) or \
                        _close(o, _ref_features(to_numpy(x), T_np, "l2") + 1.0):
                    fail(f"the minibatch features {where} match an L2 distance; the layer uses the L1 distance "
                         "||M_i,b - M_j,b||_1.")
                if n > 2 and np.allclose(o, o[:1]) and not np.allclose(expected, expected[:1]):
                    fail(f"the minibatch features {where} are the same for every sample; each sample needs "
                         "its own features o(x_i), a sum over the other samples j.")
                fail(f"the minibatch features {where}: expected (rows = samples) "
                     f"{np.array2string(expected[:2], precision=4)}, got {np.array2string(o[:2], precision=4)}.")

            # Per sample: permuting the batch permutes the outputs; changing one sample moves the others.
            x = torch.randn(9, A, generator=gen)
            perm = torch.randperm(9, generator=gen)
            with library_switched_off(LIBRARY):
                out, out_perm = layer(x), layer(x[perm])
                moved = x.clone()
                moved[0] += 0.5
                out_moved = layer(moved)
            assert_close(out_perm, out[perm], "the output for a permuted batch (it must be the permuted output)")
            if _close(out_moved[1:, A:], out[1:, A:], 0, 1e-7):
                fail("changing one sample did not change the other samples' minibatch features; each o(x_i) "
                     "must compare x_i with the other samples of the batch.")

            # Gradients reach T and every sample, as those of the formula do.
            x64 = x.double().requires_grad_(True)
            weights = torch.randn(9, B, generator=gen, dtype=torch.float64)
            xs = x.clone().requires_grad_(True)
            with library_switched_off(LIBRARY):
                out = layer(xs)
            if not out.requires_grad:
                fail("the output of MinibatchDiscrimination is not connected to its inputs and T "
                     "(no gradient flows): compute it with torch operations.")
            got_x, got_T = torch.autograd.grad((out[:, A:] * weights.float()).sum(), [xs, T], allow_unused=True)
            T64 = T.detach().double().requires_grad_(True)  # noqa: N806
            want_x, want_T = torch.autograd.grad((_torch_features(x64, T64) * weights).sum(), [x64, T64])
            where = f"(in_features={A}, out_features={B}, kernel_dims={C})"
            if got_T is None or got_x is None:
                fail(f"no gradient reaches {'T' if got_T is None else 'the inputs'} {where}: the features must "
                     "be computed from x T with torch operations.")
            assert_close(got_T, want_T, f"the gradient of the minibatch features w.r.t. T {where}",
                         rtol=1e-3, atol=1e-4)
            assert_close(got_x, want_x, f"the gradient of the minibatch features w.r.t. the inputs {where}",
                         rtol=1e-3, atol=1e-4)
    run_check("MinibatchDiscrimination", check)


# --- part 3: the Wasserstein losses -------------------------------------------------------------

def _score_batches(gen: torch.Generator) -> list[torch.Tensor]:
    """Raw critic scores, including large ones where a sigmoid would saturate."""
    extreme = [torch.tensor([100.0, -100.0, 30.0, -30.0]), torch.tensor([1000.0, -1000.0, 0.0]),
               torch.tensor([2.0e4, 5.0e3, -3.0e3, 12.0, 7.0])]
    return extreme + [torch.randn(n, generator=gen) * s for n, s in ((7, 1.0), (5, 40.0), (64, 8.0), (1, 2.0))]


def _call(fn, name: str, *scores: torch.Tensor):
    inputs = [s.clone().requires_grad_(True) for s in scores]
    with library_switched_off(LIBRARY):
        out = fn(*inputs)
    out = scalar_tensor(out, name)
    if not out.requires_grad:
        fail(f"{name} is not connected to the scores (no gradient flows back); compute it with torch "
             "operations on the scores.")
    grads = torch.autograd.grad(out, inputs, allow_unused=True)
    return out, [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -t))


def check_wasserstein_critic_loss(wasserstein_critic_loss) -> None:
    def check():
        refuse_borrowed(wasserstein_critic_loss, "wasserstein_critic_loss", LIBRARY)
        batches = _score_batches(torch.Generator().manual_seed(52))
        for real, fake in zip(batches, batches[1:] + batches[:1]):
            out, (g_real, g_fake) = _call(wasserstein_critic_loss, "wasserstein_critic_loss", real, fake)
            r, f = to_numpy(real), to_numpy(fake)
            value = f.mean() - r.mean()
            where = f"for real scores {np.array2string(r[:3], precision=1)}... and fake scores " \
                    f"{np.array2string(f[:3], precision=1)}..."
            got = float(to_numpy(out))
            if not _close(got, value):
                if _close(got, -value):
                    fail(f"wasserstein_critic_loss {where}: got {got:.4f}, expected {value:.4f}; the sign is "
                         "swapped: the critic minimizes mean f(fake) - mean f(real).")
                if _close(got, _sigmoid(f).mean() - _sigmoid(r).mean()):
                    fail(f"wasserstein_critic_loss {where}: got {got:.4f}, expected {value:.4f}; the critic's "
                         "scores are raw numbers, do not pass them through a sigmoid.")
                if _close(got, f.sum() - r.sum()):
                    fail(f"wasserstein_critic_loss {where}: got {got:.4f}, expected {value:.4f}; use means over "
                         "each batch, not sums.")
            assert_close(got, value, f"wasserstein_critic_loss {where}")
            assert_close(g_real, np.full(r.shape, -1.0 / r.size), f"its gradient w.r.t. the real scores {where}")
            assert_close(g_fake, np.full(f.shape, 1.0 / f.size), f"its gradient w.r.t. the fake scores {where}")
    run_check("wasserstein_critic_loss", check)


def check_wasserstein_generator_loss(wasserstein_generator_loss) -> None:
    def check():
        refuse_borrowed(wasserstein_generator_loss, "wasserstein_generator_loss", LIBRARY)
        for fake in _score_batches(torch.Generator().manual_seed(53)):
            out, (grad,) = _call(wasserstein_generator_loss, "wasserstein_generator_loss", fake)
            f = to_numpy(fake)
            value, got = -f.mean(), float(to_numpy(out))
            where = f"for fake scores {np.array2string(f[:3], precision=1)}..."
            if not _close(got, value):
                if _close(got, -value):
                    fail(f"wasserstein_generator_loss {where}: got {got:.4f}, expected {value:.4f}; the sign is "
                         "swapped: the generator raises the critic's scores, i.e. minimizes -mean f(fake).")
                if _close(got, -_sigmoid(f).mean()) or _close(got, np.logaddexp(0.0, -f).mean()):
                    fail(f"wasserstein_generator_loss {where}: got {got:.4f}, expected {value:.4f}; the critic's "
                         "scores are raw numbers, do not pass them through a sigmoid.")
            assert_close(got, value, f"wasserstein_generator_loss {where}")
            assert_close(grad, np.full(f.shape, -1.0 / f.size), f"its gradient w.r.t. the fake scores {where}")
    run_check("wasserstein_generator_loss", check)


# --- part 4: the gradient penalty ---------------------------------------------------------------

class _LinearCritic(torch.nn.Module):
    """f(x) = <w, x> + b over a sample's flattened entries: gradient w everywhere."""

    def __init__(self, w: torch.Tensor, keepdim: bool) -> None:
        super().__init__()
        self.w, self.keepdim = torch.nn.Parameter(w), keepdim
        self.b = torch.nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x.reshape(len(x), -1) @ self.w + self.b
        return out[:, None] if self.keepdim else out


class _QuadraticCritic(torch.nn.Module):
    """f(x) = a/2 ||x - c||^2: gradient a (x - c), whose norm depends on where it is taken."""

    def __init__(self, a: float, centre: torch.Tensor) -> None:
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(a))
        self.centre = centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.a * ((x - self.centre) ** 2).reshape(len(x), -1).sum(1)


def _penalty_of_points(points: np.ndarray, a: float, centre: np.ndarray) -> float:
    norms = a * np.sqrt(((points - centre) ** 2).reshape(len(points), -1).sum(1))
    return float(((norms - 1.0) ** 2).mean())


def _eps(seed: int, n: int) -> np.ndarray:
    return to_numpy(torch.rand(n, generator=torch.Generator().manual_seed(seed)))


def _interpolate(eps: np.ndarray, real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    e = eps.reshape(-1, *([1] * (real.ndim - 1)))
    return e * real + (1 - e) * fake


def _penalty(gradient_penalty, critic, real, fake, generator=None) -> torch.Tensor:
    with library_switched_off(LIBRARY):
        out = gradient_penalty(critic, real.clone(), fake.clone(), generator=generator)
    return scalar_tensor(out, "gradient_penalty")


def check_gradient_penalty(gradient_penalty) -> None:
    def check():
        refuse_borrowed(gradient_penalty, "gradient_penalty", LIBRARY)
        gen = torch.Generator().manual_seed(54)

        # A linear critic has gradient w at every point: the penalty is (||w|| - 1)^2 whatever eps is.
        for shape, norm, keepdim in (((16, 2), 3.0, True), ((8, 1, 4, 4), 0.5, False), ((5, 3), 1.0, True),
                                     ((12, 6), 1.7, False)):
            d = math.prod(shape[1:])
            w = torch.randn(d, generator=gen)
            w = w / w.norm() * norm
            critic = _LinearCritic(w, keepdim)
            real, fake = torch.randn(shape, generator=gen) + 2, torch.randn(shape, generator=gen)
            got = float(to_numpy(_penalty(gradient_penalty, critic, real, fake)))
            value = (norm - 1.0) ** 2
            where = f"for a linear critic f(x) = <w, x> with ||w|| = {norm} on samples of shape {shape[1:]}"
            if not _close(got, value):
                n = shape[0]
                hints = [((norm ** 2 - 1.0) ** 2, "this is (||g||^2 - 1)^2: use the norm, not the squared norm"),
                         (-value, "the sign is wrong: the penalty is a mean of squares, never negative"),
                         ((math.sqrt(n) * norm - 1.0) ** 2, "the norm was taken over the whole batch; take it per "
                                                            "sample, over all of that sample's entries"),
                         (10 * value, "this is 10 times the penalty: return it without lambda"),
                         (n * value, "this is a sum over the batch, not a mean")]
                if len(shape) > 2:
                    per_row = np.abs(to_numpy(w).reshape(shape[1:]))  # a norm over dim 1 only (size 1 here)
                    hints.append((float(((per_row - 1.0) ** 2).mean()), "the norm was taken over dim 1 only; take "
                                  "it over all of a sample's entries (flatten each sample first)"))
                for other, why in hints:
                    if _close(got, other):
                        fail(f"gradient_penalty {where}: got {got:.4f}, expected {value:.4f}; {why}.")
                fail(f"gradient_penalty {where}: expected (||w|| - 1)^2 = {value:.4f}, got {got:.4f}.")

        # A quadratic critic tells the interpolates from the real and fake points. eps comes from the
        # seeded generator: x_hat = eps real + (1 - eps) fake (1 - eps for eps is accepted: same law).
        convention = None
        for seed, shape, a in ((7, (12, 3), 0.8), (8, (6, 1, 2, 2), 1.3), (9, (1, 4), 0.6), (10, (20, 2), 2.0)):
            centre = torch.randn(shape[1:], generator=gen)
            critic = _QuadraticCritic(a, centre)
            real, fake = torch.randn(shape, generator=gen) * 2 + 1, torch.randn(shape, generator=gen) - 1
            got = float(to_numpy(_penalty(gradient_penalty, critic, real, fake, torch.Generator().manual_seed(seed))))
            r, f, c, eps = to_numpy(real), to_numpy(fake), to_numpy(centre), _eps(seed, shape[0])
            values = {"eps": _penalty_of_points(_interpolate(eps, r, f), a, c),
                      "1-eps": _penalty_of_points(_interpolate(1 - eps, r, f), a, c)}
            where = f"for the critic f(x) = {a}/2 ||x - c||^2 on {shape[0]} samples of shape {shape[1:]}"
            matches = [k for k, v in values.items() if _close(got, v)]
            if convention in matches or (convention is None and matches):
                convention = convention or matches[0]
                continue
            hints = [(_penalty_of_points(r, a, c), "it was computed at the real points, not at interpolates "
                                                   "between real and fake"),
                     (_penalty_of_points(f, a, c), "it was computed at the fake points, not at interpolates "
                                                   "between real and fake"),
                     (_penalty_of_points(_interpolate(np.full_like(eps, eps[0]), r, f), a, c),
                      "one eps was used for the whole batch; draw one eps per sample")]
            for other, why in hints:
                if shape[0] > 1 and _close(got, other):
                    fail(f"gradient_penalty {where}: got {got:.4f}, expected {values['eps']:.4f}; {why}.")
            again = _penalty(gradient_penalty, critic, real, fake, torch.Generator().manual_seed(seed))
            if not _close(again, got):
                fail(f"gradient_penalty {where}: two calls with equally seeded generators gave {got:.4f} and "
                     f"{float(to_numpy(again)):.4f}; draw eps with torch.rand(N, generator=generator).")
            fail(f"gradient_penalty {where}: expected {values['eps']:.4f} with eps = torch.rand(N, "
                 f"generator=generator), got {got:.4f}.")

        # The penalty trains the critic: its gradient w.r.t. the critic's parameters is that of the formula.
        torch.manual_seed(55)
        critic = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        real, fake = torch.randn(10, 3, generator=gen) + 1, torch.randn(10, 3, generator=gen)
        out = _penalty(gradient_penalty, critic, real, fake, torch.Generator().manual_seed(11))
        params = list(critic.parameters())
        if not out.requires_grad:
            fail("the penalty is not connected to the critic's parameters, so it cannot train the critic: "
                 "take the input gradient with torch.autograd.grad(..., create_graph=True).")
        got = [torch.zeros_like(p) if g is None else g
               for p, g in zip(params, torch.autograd.grad(out, params, allow_unused=True))]
        eps = torch.rand(10, generator=torch.Generator().manual_seed(11))[:, None]
        eps = 1 - eps if convention == "1-eps" else eps
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        mine = ((torch.sqrt((g ** 2).sum(1)) - 1) ** 2).mean()
        assert_close(out, mine, "gradient_penalty for a small tanh MLP critic", rtol=1e-4, atol=1e-6)
        wanted = torch.autograd.grad(mine, params, allow_unused=True)
        for p, gp, want in zip(params, got, wanted):
            want = torch.zeros_like(p) if want is None else want
            assert_close(gp, want, f"the gradient of the penalty w.r.t. the critic's parameter of shape "
                                   f"{tuple(p.shape)}", rtol=1e-3, atol=1e-6)
    run_check("gradient_penalty", check)


# --- part 5: the truncation trick ---------------------------------------------------------------

def _latents(truncated_latents, n: int, dim: int, threshold: float, seed: int | None) -> torch.Tensor:
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    with library_switched_off(LIBRARY):
        z = truncated_latents(n, dim, threshold, generator=generator)
    if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, dim) or not z.is_floating_point():
        got = f"shape {tuple(z.shape)}, {z.dtype}" if isinstance(z, torch.Tensor) else type(z).__name__
        fail(f"truncated_latents({n}, {dim}, {threshold}) must return a float tensor of shape ({n}, {dim}), got {got}.")
    return z


def check_truncated_latents(truncated_latents) -> None:
    def check():
        refuse_borrowed(truncated_latents, "truncated_latents", LIBRARY)

        # Every entry lies inside the threshold, for small and large thresholds and tiny shapes.
        for n, dim, threshold, seed in ((64, 16, 0.5, 1), (1, 1, 1.0, 2), (200, 3, 0.1, 3), (10, 100, 2.5, 4),
                                        (50, 8, 1.0, None)):
            z = _latents(truncated_latents, n, dim, threshold, seed)
            if not bool(torch.isfinite(z).all()) or float(z.abs().max()) > threshold * (1 + 1e-6):
                fail(f"truncated_latents({n}, {dim}, {threshold}) returned entries up to {float(z.abs().max()):.3f} "
                     "in absolute value; every entry must lie in [-threshold, threshold]: redraw those outside "
                     "until they fall inside.")

        # Deterministic for a seeded generator, whatever the global seed; different seeds differ.
        torch.manual_seed(1)
        z1 = _latents(truncated_latents, 30, 5, 1.0, 21)
        torch.manual_seed(2)
        z2 = _latents(truncated_latents, 30, 5, 1.0, 21)
        if not _close(z1, z2, 0, 0):
            fail("two calls with equally seeded generators gave different latents: draw every sample, "
                 "redraws included, with generator=generator.")
        if _close(z1, _latents(truncated_latents, 30, 5, 1.0, 22), 0, 0):
            fail("generators with different seeds gave the same latents.")

        # The law is the standard normal truncated to [-t, t]: redrawn, not clamped or rescaled.
        for threshold, seed in ((1.0, 31), (2.0, 32), (0.5, 33)):
            z = to_numpy(_latents(truncated_latents, 10_000, 5, threshold, seed)).ravel()
            law = scipy.stats.truncnorm(-threshold, threshold)
            where = f"for threshold {threshold} (50,000 entries)"
            edge = float((np.abs(z) >= threshold * (1 - 1e-6)).mean())
            if edge > 0.01:
                fail(f"{edge:.1%} of the entries sit exactly at +-threshold {where}: entries outside must be "
                     "redrawn from N(0, 1), not clamped.")
            if abs(z.mean()) > 0.02:
                fail(f"the entries have mean {z.mean():.3f} {where}; a truncated standard normal has mean 0.")
            if abs(z.std() - law.std()) > 0.01:
                fail(f"the entries have standard deviation {z.std():.4f} {where}; a standard normal truncated by "
                     f"redrawing has {law.std():.4f} (see scipy.stats.truncnorm).")
            p = scipy.stats.kstest(z, law.cdf).pvalue
            if p < 1e-4:
                fail(f"the entries do not follow a truncated standard normal {where} (Kolmogorov-Smirnov "
                     f"p-value {p:.1e}).")
    run_check("truncated_latents", check)
