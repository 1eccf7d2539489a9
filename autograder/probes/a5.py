"""Probes of assignment 5 (chapter 5): the fixes for mode collapse and the Wasserstein GAN's pieces.

The replay buffer is driven through a fixed script of calls with samples whose values spell out an
id, and every return is recorded; the judge replays the script from its own copy of the inputs. The
minibatch-discrimination layer is traced (:func:`autograder.probes.graph.trace`) at each batch size
the judge needs, and rerun there with the judge's own inputs and its own T. The losses and the
truncated latents are called on fixed inputs; the gradient penalty is called with critics built here
(the judge builds its own copies with :func:`penalty_critic`), which record the points they are
called at.
"""

from __future__ import annotations

import gc
import math
import weakref

import torch
from torch import nn

from autograder.probes import salted
from autograder.probes.graph import trace
from autograder.probes.record import Record, salted_generator, signature, with_references

ASSIGNMENT = "a5_mode_collapse"
COUNTERPARTS = {
    "ReplayBuffer": "gancourse.fixes.ReplayBuffer",
    "MinibatchDiscrimination": "gancourse.fixes.MinibatchDiscrimination",
    "wasserstein_critic_loss": "gancourse.losses.wasserstein_critic_loss",
    "wasserstein_generator_loss": "gancourse.losses.wasserstein_generator_loss",
    # The R1 penalty of one sample is half its squared input gradient: a loop over samples gives the norms the
    # gradient penalty needs, so both library forms of it are stubs while the part is.
    "gradient_penalty": ["gancourse.losses.gradient_penalty", "gancourse.losses.r1_from_logits",
                         "gancourse.stylegan.r1_penalty"],
    "truncated_latents": "gancourse.fixes.truncated_latents",
}
# the earlier parts a part's probe runs the answer with: autograder.probes.references_for
REFERENCES = {"wasserstein_generator_loss": ["wasserstein_critic_loss"]}


# --- part 1: the replay buffer -------------------------------------------------------------------------

SHAPES = {"point": (2,), "image": (1, 3, 3)}
REUSED = 5000.0  # what the probe adds in place to a tensor after pushing it (the buffer must have copied it)


def tagged(ids, shape: tuple[int, ...]) -> torch.Tensor:
    """Samples whose values spell out an integer id: id + a fixed pattern, exact in float32."""
    ids = torch.as_tensor(list(ids), dtype=torch.float32)
    pattern = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape) / 8
    return ids.reshape(-1, *([1] * len(shape))) + pattern


def replay_script() -> list[tuple[str, str, str, object]]:
    """(key, buffer, operation, argument) for every call the probe makes, in order (the judge reads it too).

    Operations: ``new`` (constructor keywords; ``seed`` becomes ``generator=torch.Generator().manual_seed``),
    ``global_seed`` (torch.manual_seed, to show that a seeded buffer does not use the global random
    state), ``push``, ``push_graph`` (pushed through an autograd graph that must not be kept),
    ``push_reused`` (the caller changes its tensor in place after the push), ``mix`` (ids, shape name),
    ``sample`` (n) and ``len``.
    """
    steps: list[tuple[str, object]] = []

    def buffer(name: str, *ops: tuple[str, object]) -> None:
        steps.extend((f"{name}:{op}", arg) for op, arg in ops)

    # ids first..first+n-1, all shifted by a number that depends on the salt: samples a buffer returned before
    # grading carry other ids (below 2^19 + a few thousand, ids and their 1/8 steps stay exact in float32)
    base = int(torch.randint(0, 2**19, (1,), generator=salted_generator(58)))
    batch = lambda first, n, shape="point": (base + first, n, shape)  # noqa: E731
    buffer("main", ("new", {"capacity": 64, "fraction": 0.5, "seed": 5}),
           ("mix", batch(-8, 8)), ("len", None),
           ("push_graph", batch(0, 16)), ("push_reused", batch(100, 16)), ("len", None),
           ("sample", 2000),
           *[("mix", batch(1000 + 10 * k, 8)) for k in range(6)], ("len", None), ("sample", 20))
    buffer("wide", ("new", {"capacity": 4096, "fraction": 1.0, "seed": 6}),
           ("push", batch(2000, 64)),
           *[("mix", batch(3000 + 10 * k, 8)) for k in range(30)], ("len", None), ("sample", 1000))
    buffer("small", ("new", {"capacity": 12, "fraction": 0.5, "seed": 7}),
           *[op for k in range(5) for op in (("push", batch(200 + 10 * k, 8)), ("len", None))],
           ("sample", 400), ("mix", batch(300, 8)), ("len", None))
    for i, (fraction, seed) in enumerate(((0.25, 11), (1.0, 12), (0.0, 13), (0.375, 14), (None, None))):
        kwargs = {"capacity": 64}
        if fraction is not None:
            kwargs.update(fraction=fraction, seed=seed)
        buffer(f"fraction{i}", ("new", kwargs), ("push", batch(400, 16)), ("mix", batch(500, 8)),
               ("mix", batch(600, 7)), ("len", None))
    buffer("images", ("new", {"capacity": 20, "fraction": 0.5, "seed": 15}),
           ("push", batch(700, 10, "image")), ("mix", batch(800, 6, "image")), ("sample", 5), ("len", None))
    for name, global_seed in (("repeat_a", 100), ("repeat_b", 200)):
        buffer(name, ("global_seed", global_seed), ("new", {"capacity": 20, "fraction": 0.5, "seed": 9}),
               ("push", batch(900, 16)), *[("mix", batch(950 + 10 * k, 8)) for k in range(5)], ("sample", 10))
    return [(f"{i:02d}/{key}", key.split(":")[0], key.split(":")[1], arg) for i, (key, arg) in enumerate(steps)]


class _Traced(torch.autograd.Function):
    """Identity whose graph node holds a token: if the token outlives the probe's references, the buffer
    kept the graph (it stored the fakes without detaching them)."""

    @staticmethod
    def forward(ctx, x, token):
        ctx.token = token
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _Token:
    pass


def _push_graph(record: Record, key: str, buffer, samples: torch.Tensor) -> None:
    token = _Token()
    alive = weakref.ref(token)
    leaf = samples.clone().requires_grad_(True)
    fakes = _Traced.apply(leaf, token)
    del token
    record.call(key, buffer.push, fakes)
    del fakes, leaf
    gc.collect()
    record.fact(f"{key}/graph_kept", alive() is not None)


def probe_ReplayBuffer(record: Record, ReplayBuffer) -> None:  # noqa: N802, N803 - the part's name
    signature(record, ReplayBuffer)
    buffers: dict[str, object] = {}
    for key, name, op, arg in replay_script():
        if op == "global_seed":
            torch.manual_seed(salted(arg))
            continue
        if op == "new":
            kwargs = dict(arg)
            seed = kwargs.pop("seed", None)
            if seed is not None:
                kwargs["generator"] = salted_generator(seed)
            buffers[name] = record.call(key, ReplayBuffer, **kwargs)
            continue
        buffer = buffers.get(name)
        if buffer is None:
            continue
        if op in ("push", "push_graph", "push_reused", "mix"):
            first, n, shape = arg
            samples = tagged(range(first, first + n), SHAPES[shape])
            if op == "push":
                record.call(key, buffer.push, samples)
            elif op == "push_graph":
                _push_graph(record, key, buffer, samples)
            elif op == "push_reused":
                record.call(key, buffer.push, samples)
                samples.add_(REUSED)  # the caller reuses its tensor
            else:
                out = record.call(key, buffer.mix, samples)
                if not record.raised(key):
                    record.output(key, out)
        elif op == "sample":
            out = record.call(key, buffer.sample, arg)
            if not record.raised(key):
                record.output(key, out)
        elif op == "len":
            out = record.call(key, len, buffer)
            if not record.raised(key):
                record.output(key, out)


# --- part 2: minibatch discrimination ------------------------------------------------------------------

MBD_CONFIGS = ((5, 3, 4), (6, 2, 3))  # (in_features, num_kernels, kernel_dim)
MBD_BATCHES = (7, 16, 2, 1, 5)  # the batch sizes the judge runs the layer at


def probe_MinibatchDiscrimination(record: Record, MinibatchDiscrimination) -> None:  # noqa: N802, N803
    signature(record, MinibatchDiscrimination)
    for i, (a, b, c) in enumerate(MBD_CONFIGS):
        layer = record.call(f"build{i}", MinibatchDiscrimination, in_features=a, num_kernels=b, kernel_dim=c)
        if layer is None:
            continue
        if not isinstance(layer, nn.Module):
            record.fact(f"build{i}", {"error": "TypeError", "message": f"built a {type(layer).__name__}, "
                                      "not a torch.nn.Module"})
            continue
        for n in MBD_BATCHES:
            record.call(f"layer{i}/{n}", trace, record, f"layer{i}/{n}", layer, torch.randn(n, a))
    default = record.call("build_default", MinibatchDiscrimination, 4)
    if isinstance(default, nn.Module):
        record.call("default", trace, record, "default", default, torch.randn(3, 4), weights=False)
    _probe_eager(record, MinibatchDiscrimination)


def eager_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(T, x, weights) of the direct call: a traced graph does not show autograd's detach or no_grad, so the
    layer is also run as it is and backpropagated once, with this T and a weighting of its features."""
    a, b, c = MBD_CONFIGS[0]
    gen = salted_generator(57)
    return (torch.randn(a, b, c, generator=gen) / (c * math.sqrt(a)), torch.randn(7, a, generator=gen),
            torch.randn(7, b, generator=gen))


def _probe_eager(record: Record, MinibatchDiscrimination) -> None:  # noqa: N803
    a, b, c = MBD_CONFIGS[0]
    layer = record.call("build_eager", MinibatchDiscrimination, in_features=a, num_kernels=b, kernel_dim=c)
    if not isinstance(layer, nn.Module):
        return
    params = dict(layer.named_parameters())
    shaped = [k for k, p in params.items() if tuple(p.shape) == (a, b, c)]
    name = "T" if "T" in shaped else (shaped[0] if len(shaped) == 1 else None)
    if name is None:
        return
    T, x, weights = eager_case()  # noqa: N806
    with torch.no_grad():
        params[name].copy_(T)
    x = x.clone().requires_grad_(True)
    out = record.call("eager", layer, x)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (7, a + b):
        return
    record.output("eager", out)
    grads = record.call("eager/grad", torch.autograd.grad, (out[:, a:] * weights).sum(), [x, params[name]],
                        allow_unused=True)
    for what, grad, like in zip(("x", "T"), grads or (), (x, params[name])):
        record.array(f"eager/grad/{what}", torch.zeros_like(like) if grad is None else grad)


# --- parts 3 and 4: the Wasserstein losses -------------------------------------------------------------

def score_batches() -> list[torch.Tensor]:
    """Raw critic scores, including large ones where a sigmoid would saturate."""
    gen = salted_generator(52)
    extreme = [torch.tensor([100.0, -100.0, 30.0, -30.0]), torch.tensor([1000.0, -1000.0, 0.0]),
               torch.tensor([2.0e4, 5.0e3, -3.0e3, 12.0, 7.0])]
    return extreme + [torch.randn(n, generator=gen) * s for n, s in ((7, 1.0), (5, 40.0), (64, 8.0), (1, 2.0))]


def critic_loss_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(key, real scores, fake scores): batches of different lengths paired up."""
    batches = score_batches()
    return [(f"loss/{i}", real, fake) for i, (real, fake) in enumerate(zip(batches, batches[1:] + batches[:1]))]


def generator_loss_cases() -> list[tuple[str, torch.Tensor]]:
    return [(f"loss/{i}", fake) for i, fake in enumerate(score_batches())]


def _probe_loss(record: Record, fn, key: str, *scores: torch.Tensor) -> None:
    inputs = [s.clone().requires_grad_(True) for s in scores]
    out = record.call(key, fn, *inputs)
    if record.raised(key):
        return
    record.output(key, out)
    if isinstance(out, torch.Tensor) and out.requires_grad and out.numel() == 1:
        grads = record.call(f"{key}/grad", torch.autograd.grad, out.sum(), inputs, allow_unused=True)
        for j, (grad, x) in enumerate(zip(grads or (), inputs)):
            record.array(f"{key}/grad/{j}", torch.zeros_like(x) if grad is None else grad)


def probe_wasserstein_critic_loss(record: Record, wasserstein_critic_loss) -> None:
    for key, real, fake in critic_loss_cases():
        _probe_loss(record, wasserstein_critic_loss, key, real, fake)


def probe_wasserstein_generator_loss(record: Record, wasserstein_generator_loss) -> None:
    with with_references(ASSIGNMENT, wasserstein_generator_loss, REFERENCES["wasserstein_generator_loss"]):
        for key, fake in generator_loss_cases():
            _probe_loss(record, wasserstein_generator_loss, key, fake)


# --- part 5: the gradient penalty ----------------------------------------------------------------------

class LinearCritic(nn.Module):
    """f(x) = <w, x> + b over a sample's flattened entries: gradient w at every point."""

    def __init__(self, w: torch.Tensor, keepdim: bool) -> None:
        super().__init__()
        self.w, self.keepdim = nn.Parameter(w), keepdim
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x.reshape(len(x), -1) @ self.w + self.b
        return out[:, None] if self.keepdim else out


class QuadraticCritic(nn.Module):
    """f(x) = a/2 ||x - c||^2: gradient a (x - c), whose norm depends on where it is taken."""

    def __init__(self, a: float, centre: torch.Tensor) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))
        self.register_buffer("centre", centre)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.a * ((x - self.centre) ** 2).reshape(len(x), -1).sum(1)


def penalty_cases() -> list[dict]:
    """The calls the penalty is probed with: the critic's kind and parameters, the samples' shape, and the
    seed of the generator passed in (None: no generator); ``again`` cases are called twice."""
    cases = []
    for i, (shape, norm, keepdim) in enumerate((((16, 2), 3.0, True), ((8, 1, 4, 4), 0.5, False),
                                                ((5, 3), 1.0, True), ((12, 6), 1.7, False))):
        cases.append({"key": f"linear{i}", "kind": "linear", "shape": shape, "norm": norm, "keepdim": keepdim,
                      "seed": None if i == 3 else 20 + i, "again": False})
    for i, (seed, shape, a) in enumerate(((7, (12, 3), 0.8), (8, (6, 1, 2, 2), 1.3), (9, (1, 4), 0.6),
                                          (10, (20, 2), 2.0))):
        cases.append({"key": f"quadratic{i}", "kind": "quadratic", "shape": shape, "a": a, "seed": seed,
                      "again": True})
    # many samples, so that the law of eps shows (it must be U[0, 1])
    cases.append({"key": "linear_many", "kind": "linear", "shape": (2000, 2), "norm": 1.0, "keepdim": True,
                  "seed": 24, "again": False})
    cases.append({"key": "mlp", "kind": "mlp", "shape": (10, 3), "seed": 11, "again": True})
    cases.append({"key": "conv", "kind": "conv", "shape": (6, 1, 5, 5), "seed": 12, "again": True})
    return cases


def penalty_critic(case: dict) -> nn.Module:
    """The critic of a case, with fixed weights (the judge builds its own copy with this function)."""
    gen = salted_generator(sum(map(ord, case["key"])))
    shape = case["shape"]
    if case["kind"] == "linear":
        w = torch.randn(math.prod(shape[1:]), generator=gen)
        return LinearCritic(w / w.norm() * case["norm"], case["keepdim"])
    if case["kind"] == "quadratic":
        return QuadraticCritic(case["a"], torch.randn(shape[1:], generator=gen))
    if case["kind"] == "mlp":
        net = nn.Sequential(nn.Linear(shape[1], 16), nn.Tanh(), nn.Linear(16, 1))
    else:
        net = nn.Sequential(nn.Conv2d(shape[1], 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 3 * 3, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.7)
    return net


def penalty_samples(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(real, fake) of a case."""
    gen = salted_generator(100 + sum(map(ord, case["key"])))
    shape = case["shape"]
    return torch.randn(shape, generator=gen) * 2 + 1, torch.randn(shape, generator=gen) - 1


class RecordingCritic(nn.Module):
    """The grader's critic, which remembers the first inputs it is called with (the points x_hat)."""

    def __init__(self, inner: nn.Module, limit: int = 4) -> None:
        super().__init__()
        self.inner, self.limit = inner, limit
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.seen) < self.limit and isinstance(x, torch.Tensor):
            self.seen.append(x.detach().clone())
        return self.inner(x)


def _probe_penalty(record: Record, gradient_penalty, case: dict, key: str) -> None:
    critic = RecordingCritic(penalty_critic(case))
    real, fake = penalty_samples(case)
    kwargs = {} if case["seed"] is None else {"generator": salted_generator(case["seed"])}
    out = record.call(key, gradient_penalty, critic, real.clone(), fake.clone(), **kwargs)
    for i, x in enumerate(critic.seen):
        record.array(f"{key}/input/{i}", x)
    record.fact(f"{key}/inputs", len(critic.seen))
    if record.raised(key):
        return
    record.output(key, out)
    params = list(critic.inner.parameters())
    if isinstance(out, torch.Tensor) and out.requires_grad and out.numel() == 1:
        grads = record.call(f"{key}/grad", torch.autograd.grad, out.sum(), params, allow_unused=True)
        for j, (grad, p) in enumerate(zip(grads or (), params)):
            record.array(f"{key}/grad/{j}", torch.zeros_like(p) if grad is None else grad)


def probe_gradient_penalty(record: Record, gradient_penalty) -> None:
    for k, case in enumerate(penalty_cases()):
        _probe_penalty(record, gradient_penalty, case, case["key"])
        if case["again"]:  # the same seed, another global random state: the same interpolates
            torch.manual_seed(salted(1000 + k))
            _probe_penalty(record, gradient_penalty, case, f"{case['key']}/again")


# --- part 6: the truncation trick ----------------------------------------------------------------------

def latent_cases() -> list[tuple[str, int, int, float, int | None, int | None]]:
    """(key, n, dim, threshold, generator seed or None, global seed set before the call or None).

    The thresholds are scaled by a factor between 0.85 and 1.15 that depends on the salt, so that latents
    drawn before grading (for thresholds 1, 2, 0.5...) cannot stand in for the answer's."""
    scale = 0.85 + torch.randint(0, 301, (1,), generator=salted_generator(39)).item() / 1000

    def t(value: float) -> float:
        return round(value * scale, 4)

    cases = [(f"range{i}", n, dim, t(v), seed, None) for i, (n, dim, v, seed) in enumerate(
        ((64, 16, 0.5, 1), (1, 1, 1.0, 2), (200, 3, 0.1, 3), (10, 100, 2.5, 4), (50, 8, 1.0, None)))]
    cases += [("seeded_a", 30, 5, t(1.0), 21, 1), ("seeded_b", 30, 5, t(1.0), 21, 2),
              ("other_seed", 30, 5, t(1.0), 22, 3)]
    cases += [(f"law{i}", n, 5, t(v), seed, None)
              for i, (n, v, seed) in enumerate(((10_000, 1.0, 31), (10_000, 2.0, 32), (10_000, 0.5, 33),
                                                (200_000, 1.0, 34)))]  # a million entries show small deviations
    return cases


def probe_truncated_latents(record: Record, truncated_latents) -> None:
    for key, n, dim, threshold, seed, global_seed in latent_cases():
        if global_seed is not None:
            torch.manual_seed(salted(global_seed))
        generator = None if seed is None else salted_generator(seed)
        out = record.call(key, truncated_latents, n, dim, threshold, generator=generator)
        if not record.raised(key):
            record.output(key, out)
