"""Judges of assignment 1 (chapter 1): the three GAN losses and one round of the alternating algorithm.

The losses are compared, values and gradients, with float64 formulas written here on the judges'
stable softplus and sigmoid. ``alternating_step`` is judged by the parameters it leaves: from the
draws the step made (replayed from the probe's own sources), the judge plays the round itself in
float64 with the same networks, optimisers and losses, and the parameters after each call must be
those of one correct round: k discriminator updates on fresh real and detached fake batches, then one
generator update, on fresh latent vectors (the lecture's algorithm) or on the fakes of a discriminator
update (the PyTorch DCGAN tutorial). When they are not, the judge replays the usual mistakes to name
the one the parameters match.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from autograder.judges import assert_close, fail, recorded_dtype, to_numpy
from autograder.judges.reference import sigmoid, softplus
from autograder.probes.a1 import (
    RECORD_KEYS,
    ROUNDS,
    SCENARIOS,
    draw_latents,
    latent_source,
    loss_cases,
    networks,
    real_batch,
)
from autograder.probes.record import Record

# --- parts 1-3: the losses -----------------------------------------------------------------------------


def ref_discriminator_loss(real: np.ndarray, fake: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """mean -log s(real) + mean -log(1 - s(fake)), and its gradients with respect to both logits."""
    value = softplus(-real).mean() + softplus(fake).mean()
    return value, [-(1 - sigmoid(real)) / real.size, sigmoid(fake) / fake.size]


def ref_saturating(fake: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """mean log(1 - s(fake)) = -mean softplus(fake), and its gradient."""
    return -softplus(fake).mean(), [-sigmoid(fake) / fake.size]


def ref_non_saturating(fake: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """-mean log s(fake) = mean softplus(-fake), and its gradient."""
    return softplus(-fake).mean(), [-(1 - sigmoid(fake)) / fake.size]


def _on_probabilities(reference, inputs: list[np.ndarray]) -> float:
    """The loss computed the way ``nn.BCELoss`` computes it: on float32 probabilities (a sigmoid first), each log
    clamped at -100. Where a sure logit makes a probability exactly 0 or 1, that is far from the loss."""
    def log(p):
        return torch.clamp(torch.log(p), min=-100.0)

    p = [torch.sigmoid(torch.as_tensor(x, dtype=torch.float32)) for x in inputs]
    if reference is ref_discriminator_loss:
        value = -log(p[0]).mean() - log(1 - p[1]).mean()
    elif reference is ref_saturating:
        value = log(1 - p[0]).mean()
    else:
        value = -log(p[0]).mean()
    return float(value)


def _judge_loss(record: Record, name: str, reference, other=None, other_name: str = "") -> None:
    two = reference is ref_discriminator_loss
    which = ("real", "fake") if two else ("fake",)
    for key, where, logits in loss_cases(two):
        what = f"{name} {where}"
        error = record.raised(key)
        if error:
            fail(f"{what} raised {error}")
        fact = record.facts.get(key)
        kind = fact.get("type") if isinstance(fact, dict) else "nothing"
        if kind != "tensor" or not record.has(key):
            fail(f"{what} must return a torch tensor (a 0-dimensional one, the mean loss), got {kind}.")
        value = record.tensor(key)
        if value.numel() != 1:
            fail(f"{what} must return a single number (a mean over the batch), got shape {tuple(value.shape)}.")
        if "float" not in recorded_dtype(record, key):
            fail(f"{what} must return a floating-point tensor, got {recorded_dtype(record, key)}.")
        if not fact.get("requires_grad"):
            fail(f"{what}: the returned loss is not connected to the logits (no gradient flows back); compute it "
                 "with torch operations on the logits, without .detach(), .item() or NumPy.")
        error = record.raised(f"{key}/grad")
        if error:
            fail(f"{what}: the gradient of the returned loss with respect to the logits could not be computed "
                 f"({error}).")
        inputs = [to_numpy(t) for t in logits]
        expected, grads = reference(*inputs)
        got = float(to_numpy(value).reshape(()))
        if other is not None and abs(got - expected) > 1e-4 * abs(expected) + 1e-5:
            opposite = other(*inputs)[0]
            if abs(got - opposite) <= 1e-4 * abs(opposite) + 1e-5:
                fail(f"{name} value {where}: expected {expected:.5f}, got {got:.5f} (that is the {other_name} "
                     "loss).")
        if abs(got - expected) > 1e-4 * abs(expected) + 1e-5:
            saturated = _on_probabilities(reference, inputs)
            apart = abs(saturated - expected) > 1e-3 * abs(expected) + 1e-4  # these logits do saturate it
            if apart and abs(got - saturated) <= 1e-3 * abs(saturated) + 1e-4:
                fail(f"{name} value {where}: expected {expected:.5f}, got {got:.5f}: that is the loss computed on "
                     "probabilities (a sigmoid, then BCELoss or a log), which are exactly 0 or 1 at such sure logits. "
                     "Stay on logits: F.binary_cross_entropy_with_logits, F.softplus or F.logsigmoid.")
        assert_close(to_numpy(value).reshape(()), expected, f"{name} value {where}")
        for j, (side, grad) in enumerate(zip(which, grads)):
            if not record.has(f"{key}/grad/{j}"):
                fail(f"{what}: the grader received no gradient with respect to the {side} logits.")
            assert_close(record.tensor(f"{key}/grad/{j}"), grad,
                         f"gradient of {name} with respect to the {side} logits {where}")


def judge_discriminator_loss(record: Record) -> None:
    _judge_loss(record, "discriminator_loss", ref_discriminator_loss)


def judge_saturating_generator_loss(record: Record) -> None:
    _judge_loss(record, "saturating_generator_loss", ref_saturating, ref_non_saturating, "non-saturating")


def judge_non_saturating_generator_loss(record: Record) -> None:
    _judge_loss(record, "non_saturating_generator_loss", ref_non_saturating, ref_saturating, "saturating")


# --- part 4: one round of the alternating algorithm ----------------------------------------------------

# The losses the probe passes as d_loss_fn and g_loss_fn, written again here (float64, on logits).
D_LOSSES = {
    "discriminator_loss": lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
    "smoothed_discriminator_loss": lambda r, f: (0.9 * F.softplus(-r) + 0.1 * F.softplus(r)).mean()
    + F.softplus(f).mean(),
}
G_LOSSES = {
    "non_saturating_generator_loss": lambda f: F.softplus(-f).mean(),
    "saturating_generator_loss": lambda f: -F.softplus(f).mean(),
}
SIGNATURE = ("generator", "discriminator", "g_opt", "d_opt", "next_real", "sample_z", "k", "d_loss_fn", "g_loss_fn")
CALL = ("alternating_step(generator, discriminator, g_opt, d_opt, next_real, sample_z, k=1, "
        "d_loss_fn=discriminator_loss, g_loss_fn=non_saturating_generator_loss)")
MEANING = {
    "d_loss": "the discriminator's loss at its last update",
    "g_loss": "the generator's loss",
    "d_real": "mean D(x): the mean of sigmoid(logits) on the real batch of the last discriminator update",
    "d_fake": "mean D(G(z)) as D saw it: the mean of sigmoid(logits) on the fakes of the last discriminator update",
    "d_fake_g": "mean D(G(z)) as G saw it: the mean of sigmoid(logits) in Phase II, after D's updates",
}


@dataclass(frozen=True)
class Way:
    """How a round is played: which draws feed which update, and (for the usual mistakes) what goes wrong."""

    d_latents: tuple[int, ...]  # for each discriminator update, the index of its latent draw
    g_latent: int  # the latent draw of the generator update (one of d_latents: the tutorial's reuse)
    detach: bool = True
    zero_d: bool = True
    zero_g: bool = True
    swap: bool = False
    d_again: bool = False  # d_opt.step() once more after Phase II
    g_first: bool = False
    d_loss: str | None = None  # a loss other than d_loss_fn
    g_loss: str | None = None


@dataclass
class Game:
    """The judge's float64 copy of one scenario's networks, gradients and SGD state."""

    scenario: dict
    theta: dict[str, torch.Tensor]
    phi: dict[str, torch.Tensor]
    grad_g: dict[str, torch.Tensor | None] = field(default_factory=dict)
    grad_d: dict[str, torch.Tensor | None] = field(default_factory=dict)
    buf_g: dict[str, torch.Tensor] = field(default_factory=dict)
    buf_d: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def start(cls, scenario: dict) -> Game:
        G, D = networks(scenario["seed"])
        return cls(scenario, {n: p.detach().double() for n, p in G.named_parameters()},
                   {n: p.detach().double() for n, p in D.named_parameters()})

    def copy(self) -> Game:
        return copy.deepcopy(self)


_MODULES: dict[int, tuple[torch.nn.Module, torch.nn.Module]] = {}


def _nets(scenario: dict) -> tuple[torch.nn.Module, torch.nn.Module]:
    seed = scenario["seed"]
    if seed not in _MODULES:
        G, D = networks(seed)
        _MODULES[seed] = (G.double(), D.double())
    return _MODULES[seed]


def _accumulate(grads: dict, names, new) -> None:
    for name, g in zip(names, new):
        if g is not None:
            grads[name] = g.detach() if grads.get(name) is None else grads[name] + g.detach()


def _sgd(params: dict, grads: dict, buffers: dict, lr: float, momentum: float) -> None:
    """torch.optim.SGD's step (no dampening, no weight decay, no Nesterov); parameters without a gradient stay."""
    for name in params:
        g = grads.get(name)
        if g is None:
            continue
        if momentum:
            buffers[name] = g.clone() if name not in buffers else momentum * buffers[name] + g
            g = buffers[name]
        params[name] = params[name] - lr * g


def _discriminator_update(game: Game, real: torch.Tensor, z: torch.Tensor, way: Way, d_loss: str) -> dict:
    G, D = _nets(game.scenario)
    theta = {n: t.clone().requires_grad_(True) for n, t in game.theta.items()}
    phi = {n: t.clone().requires_grad_(True) for n, t in game.phi.items()}
    fake = functional_call(G, theta, (z,))
    if way.detach:
        fake = fake.detach()
    real_logits, fake_logits = functional_call(D, phi, (real,)), functional_call(D, phi, (fake,))
    loss = D_LOSSES[d_loss](*((fake_logits, real_logits) if way.swap else (real_logits, fake_logits)))
    grads = torch.autograd.grad(loss, [*phi.values(), *theta.values()], allow_unused=True)
    if way.zero_d:
        game.grad_d = {}
    _accumulate(game.grad_d, phi, grads[:len(phi)])
    _accumulate(game.grad_g, theta, grads[len(phi):])
    _sgd(game.phi, game.grad_d, game.buf_d, game.scenario["lr_d"], game.scenario["momentum"])
    return {"d_loss": loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item(), "d_real_logit": real_logits.mean().item(),
            "d_fake_logit": fake_logits.mean().item()}


def _generator_update(game: Game, z: torch.Tensor, way: Way, g_loss: str) -> dict:
    G, D = _nets(game.scenario)
    theta = {n: t.clone().requires_grad_(True) for n, t in game.theta.items()}
    phi = {n: t.clone().requires_grad_(True) for n, t in game.phi.items()}
    logits = functional_call(D, phi, (functional_call(G, theta, (z,)),))
    loss = G_LOSSES[g_loss](logits)
    grads = torch.autograd.grad(loss, [*theta.values(), *phi.values()])
    if way.zero_g:
        game.grad_g = {}
    _accumulate(game.grad_g, theta, grads[:len(theta)])
    _accumulate(game.grad_d, phi, grads[len(theta):])  # backward through D leaves gradients on D
    _sgd(game.theta, game.grad_g, game.buf_g, game.scenario["lr_g"], game.scenario["momentum"])
    if way.d_again:
        _sgd(game.phi, game.grad_d, game.buf_d, game.scenario["lr_d"], game.scenario["momentum"])
    return {"g_loss": loss.item(), "d_fake_g": torch.sigmoid(logits).mean().item(),
            "d_fake_g_logit": logits.mean().item()}


def play(game: Game, reals: list[torch.Tensor], zs: list[torch.Tensor], way: Way) -> dict:
    """One round played ``way`` on ``game`` (changed in place); returns what the round measured."""
    d_loss = way.d_loss or game.scenario["d_loss_fn"]
    g_loss = way.g_loss or game.scenario["g_loss_fn"]
    measured: dict = {}
    if way.g_first:
        measured.update(_generator_update(game, zs[way.g_latent], way, g_loss))
    for real, index in zip(reals, way.d_latents):
        measured.update(_discriminator_update(game, real, zs[index], way, d_loss))
    if not way.g_first:
        measured.update(_generator_update(game, zs[way.g_latent], way, g_loss))
    return measured


def correct_ways(k: int, draws: int) -> list[Way]:
    """Every correct way of using ``draws`` latent draws in a round with k discriminator updates."""
    if draws == k + 1:  # fresh latent vectors for G: any one of the draws (usually the last), the rest for D
        return [Way(tuple(i for i in range(draws) if i != j), j) for j in reversed(range(draws))]
    return [Way(tuple(range(k)), j) for j in reversed(range(k))]  # G trains on fakes D was updated on


MISTAKES = [
    ({"swap": True}, "the discriminator's parameters are those of d_loss_fn(D(fake), D(real)): the first "
                     "argument is D's logits on the real batch, the second D's logits on the fakes."),
    ({"zero_d": False}, "the discriminator's gradients pile up from one update to the next: call d_opt.zero_grad() "
                        "(or discriminator.zero_grad()) before each d_loss.backward()."),
    ({"zero_g": False}, "the generator's gradients pile up from one call to the next: call g_opt.zero_grad() "
                        "(or generator.zero_grad()) before g_loss.backward()."),
    ({"zero_d": False, "zero_g": False}, "no gradients are ever zeroed, so they pile up from one update to the "
                                         "next: call d_opt.zero_grad() before d_loss.backward() and "
                                         "g_opt.zero_grad() before g_loss.backward()."),
    ({"detach": False, "zero_g": False}, "the discriminator's loss reached the generator: in Phase I make the "
                                         "fakes under torch.no_grad() or pass fake.detach() to D, and zero G's "
                                         "gradients before g_loss.backward()."),
    ({"detach": False, "zero_d": False, "zero_g": False},
     "the discriminator's loss reached the generator and no gradients are zeroed: detach the fakes in Phase I, "
     "and zero each optimiser's gradients before its backward."),
    ({"d_again": True}, "the discriminator was updated again in Phase II: only g_opt steps there (the generator "
                        "loss's backward leaves gradients on D's parameters; they must not be applied)."),
    ({"g_first": True}, "the generator was updated before the discriminator: Phase I (the k discriminator "
                        "updates) comes first, then Phase II (one generator update)."),
    ({"d_loss": "discriminator_loss"}, "the discriminator was updated with discriminator_loss instead of the "
                                       "d_loss_fn passed in: use the loss functions alternating_step is given."),
    ({"g_loss": "non_saturating_generator_loss"}, "the generator was updated with the non-saturating loss "
                                                  "instead of the g_loss_fn passed in: use the loss functions "
                                                  "alternating_step is given."),
    ({"d_loss": "discriminator_loss", "g_loss": "non_saturating_generator_loss"},
     "the losses used are discriminator_loss and non_saturating_generator_loss, not the d_loss_fn and g_loss_fn "
     "passed in: use the loss functions alternating_step is given."),
]


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def _matches(game: Game, params: dict[str, list[np.ndarray]]) -> tuple[bool, bool]:
    """Whether G's and D's recorded parameters are those of ``game``."""
    return (all(_close(p, to_numpy(t)) for p, t in zip(params["G"], game.theta.values())),
            all(_close(p, to_numpy(t)) for p, t in zip(params["D"], game.phi.values())))


def _describe(scenario: dict) -> str:
    momentum = f", momentum={scenario['momentum']:g}" if scenario["momentum"] else ""
    return (f"k={scenario['k']}, real batches of {scenario['batch']}, SGD (D: lr={scenario['lr_d']:g}, G: "
            f"lr={scenario['lr_g']:g}{momentum}), d_loss_fn={scenario['d_loss_fn']}, "
            f"g_loss_fn={scenario['g_loss_fn']}")


@dataclass
class Call:
    """What one call of the step drew and left, read from the record and checked against the probe's sources."""

    reals: list[torch.Tensor]
    zs: list[torch.Tensor]
    order: list[str]
    params: dict[str, list[np.ndarray]]


def _read_call(record: Record, prefix: str, scenario: dict, sources: dict, where: str, counts: dict) -> Call:
    log = record.facts.get(f"{prefix}/log")
    if not isinstance(log, list):
        fail(f"{where}: the grader received no record of what the step drew.")
    reals, zs, order = [], [], []
    for e, event in enumerate(log):
        kind = event[0] if isinstance(event, list) and event else None
        if kind == "real":
            value = real_batch(scenario, counts["real"])
            counts["real"] += 1
            reals.append(value.double())
        elif kind == "z" and len(event) == 2 and isinstance(event[1], int) and 0 < event[1] <= 4096:
            value = draw_latents(sources["latents"], event[1])
            zs.append(value.double())
        else:
            fail(f"{where}: the grader could not read what the step drew.")
        if not record.has(f"{prefix}/draw{e}") or not _close(record.arrays[f"{prefix}/draw{e}"], value.numpy(), 0, 0):
            fail(f"{where}: the batches the step drew differ from those the grader handed out.")
        order.append(kind)
    params = {}
    for name, reference in (("G", Game.start(scenario).theta), ("D", Game.start(scenario).phi)):
        params[name] = []
        for j, start in enumerate(reference.values()):
            key = f"{prefix}/{name}/{j}"
            if not record.has(key) or record.arrays[key].shape != tuple(start.shape):
                fail(f"{where}: the grader received no parameters of {'G' if name == 'G' else 'D'} after the call.")
            params[name].append(record.arrays[key].astype(np.float64))
    return Call(reals, zs, order, params)


def _check_draws(call: Call, k: int, where: str) -> None:
    n_real, n_z = call.order.count("real"), call.order.count("z")
    if n_real != k:
        fail(f"{where}: next_real() was called {n_real} time(s): each of the k={k} discriminator updates takes a "
             "fresh real batch, so exactly k calls (is k ignored, or one real batch reused for every update?).")
    if n_z not in (k, k + 1):
        fail(f"{where}: sample_z was called {n_z} time(s): each of the k={k} discriminator updates needs fresh "
             "latent vectors (k calls), and the generator update either fresh ones (one more call, the lecture's "
             "algorithm) or the fakes of a discriminator update (the PyTorch tutorial).")


def _check_detached(record: Record, prefix: str, call: Call, where: str) -> None:
    """G's gradients may not change before the step's last draw: in a round whose parameters are right, G's
    own backward comes after every draw, so a change seen earlier came from the discriminator's loss."""
    start = {j: record.arrays.get(f"{prefix}/start/ggrad/{j}") for j in range(len(call.params["G"]))}
    for e in range(len(call.order)):
        for j, before in start.items():
            now = record.arrays.get(f"{prefix}/draw{e}/ggrad/{j}")
            if now is None or not np.any(now):
                continue
            if before is not None and _close(now.astype(np.float64), before.astype(np.float64), 1e-6, 1e-9):
                continue
            fail(f"{where}: the generator's gradients changed while the discriminator was being updated (seen at "
                 "the step's next draw): in Phase I the discriminator's loss must not reach G. Make the fakes "
                 "under torch.no_grad() or pass fake.detach() to D.")


def _diagnose(history: list[Call], scenario: dict, where: str, state: Game, call: Call) -> None:
    """Fail with the mistake whose replay gives the recorded parameters, or say which network differs."""
    g_same = all(_close(p, to_numpy(t), 1e-6, 1e-6) for p, t in zip(call.params["G"], state.theta.values()))
    d_same = all(_close(p, to_numpy(t), 1e-6, 1e-6) for p, t in zip(call.params["D"], state.phi.values()))
    if d_same:
        fail(f"{where}: the discriminator's parameters did not change: each of the k updates calls d_opt.step() "
             "after d_loss.backward().")
    if g_same:
        fail(f"{where}: the generator's parameters did not change: Phase II computes g_loss_fn(D(G(z))) with "
             "G(z) not detached, calls g_loss.backward() and g_opt.step().")
    k = scenario["k"]
    for changes, message in MISTAKES:
        if changes.get("d_loss") and changes["d_loss"] == scenario["d_loss_fn"]:
            continue
        if changes.get("g_loss") and changes["g_loss"] == scenario["g_loss_fn"]:
            continue
        game = Game.start(scenario)
        for past in history:
            z_draws = len(past.zs)
            natural = Way(tuple(range(k)), k if z_draws == k + 1 else k - 1)
            if changes.get("g_first") and z_draws == k + 1:
                natural = Way(tuple(range(1, k + 1)), 0)
            play(game, past.reals, past.zs, replace(natural, **changes))
            if _matches(game, past.params) != (True, True):
                break
        else:
            fail(f"{where}: {message}")
    g_ok, d_ok = _matches(state, call.params)
    wrong = "the generator's and the discriminator's" if not (g_ok or d_ok) else \
        "the generator's" if not g_ok else "the discriminator's"
    fail(f"{where}: {wrong} parameters after the call are not those of one alternating round (k discriminator "
         "updates with d_loss_fn(D(real), D(fake)) on a fresh real batch and detached fakes of fresh latent vectors "
         "each, zeroing gradients before each backward, then one generator update with g_loss_fn(D(G(z)))). "
         "Check the order of the phases, which optimiser steps when, and which loss each phase uses.")


def _check_result(record: Record, prefix: str, measured: dict, where: str) -> None:
    fact = record.facts.get(f"{prefix}/result")
    kind = fact.get("type") if isinstance(fact, dict) else "nothing"
    wanted = ", ".join(RECORD_KEYS)
    if kind != "dict":
        fail(f"{where}: alternating_step returned {kind}; it must return the round record, a dict with the "
             f"keys {wanted} (as the library's alternating_step does).")
    missing = [key for key in RECORD_KEYS if key not in fact.get("keys", [])]
    if missing:
        fail(f"{where}: the returned record has no key {', '.join(repr(m) for m in missing)}: it must hold "
             f"{wanted}.")
    for key in RECORD_KEYS:
        item = record.facts.get(f"{prefix}/result/{key}")
        kind = item.get("type") if isinstance(item, dict) else "nothing"
        if kind == "tensor":
            fail(f"{where}: result['{key}'] is a tensor: the record holds Python floats (use .item()).")
        if kind not in ("float", "float64") or not isinstance(item.get("value"), (int, float)):
            fail(f"{where}: result['{key}'] must be a Python float, got {kind}.")
        got, expected = float(item["value"]), measured[key]
        if abs(got - expected) > 1e-5 + 1e-4 * abs(expected):
            logit = measured.get(f"{key}_logit")
            hint = " (that is the mean logit: take the sigmoid of the logits first)" if logit is not None and \
                abs(got - logit) <= 1e-5 + 1e-4 * abs(logit) else ""
            fail(f"{where}: result['{key}'] should be {MEANING[key]}: expected {expected:.5f}, got {got:.5f}{hint}.")


def _judge_scenario(record: Record, s: int, scenario: dict) -> None:
    k = scenario["k"]
    state = Game.start(scenario)
    sources = {"latents": latent_source(scenario)}
    counts = {"real": 0}
    history: list[Call] = []
    for r in range(ROUNDS):
        prefix = f"s{s}/r{r}"
        where = f"in call {r + 1} of a run with {_describe(scenario)}"
        error = record.raised(f"{prefix}/call")
        if error:
            fail(f"alternating_step {where} raised {error}")
        call = _read_call(record, prefix, scenario, sources, where, counts)
        _check_draws(call, k, where)
        history.append(call)
        for way in correct_ways(k, len(call.zs)):
            game = state.copy()
            measured = play(game, call.reals, call.zs, way)
            if _matches(game, call.params) == (True, True):
                break
        else:
            _diagnose(history, scenario, where, state, call)
        _check_detached(record, prefix, call, where)
        _check_result(record, prefix, measured, where)
        state = game


def judge_alternating_step(record: Record) -> None:
    signature = record.facts.get("signature")
    if isinstance(signature, dict) and "*" not in signature.values():
        if tuple(signature)[6:9] != SIGNATURE[6:9]:
            fail(f"the signature must be the library's: {CALL}.")
        if signature.get("k") != "1":
            fail(f"the default of `k` must be 1, as in the library's {CALL}.")
    for s, scenario in enumerate(SCENARIOS):
        _judge_scenario(record, s, scenario)
