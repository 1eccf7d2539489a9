"""Probes of assignment 1 (chapter 1): the three GAN losses and one round of the alternating algorithm.

The losses are called on logits the grader chooses, extreme ones included; their values and their
gradients with respect to the logits are recorded. ``alternating_step`` is called on small networks,
optimisers, real batches and a latent source that the grader builds, with the course library's losses
as ``d_loss_fn`` and ``g_loss_fn`` (and the library's versions of parts 1-3 in the answer's namespace),
so that a mistake in a loss costs only that loss's points. For each call the probe records the
parameters afterwards, the returned record, the order and sizes of what the step drew, and the
generator's gradients at each draw; the judge recomputes the step itself from those draws.
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.probes.record import Record, reference, salted_generator, signature, with_references

ASSIGNMENT = "a1_two_networks"
COUNTERPARTS = {
    # The smoothed loss with target 1, and the noisy-label losses with no flips or noise, are the plain loss too
    # (the sandbox also stubs the private helpers a stubbed function uses: sandbox.private_helpers).
    "discriminator_loss": ["gancourse.losses.discriminator_loss", "gancourse.losses.smoothed_discriminator_loss",
                           "gancourse.losses.noisy_label_discriminator_loss",
                           "gancourse.losses.uniform_label_noise_discriminator_loss"],
    "saturating_generator_loss": "gancourse.losses.saturating_generator_loss",
    "non_saturating_generator_loss": "gancourse.losses.non_saturating_generator_loss",
    # The shared-fakes round is the alternating step with k = 1 (and, called k times, with any k); the conditional
    # models' rounds are the step too, played with label-blind networks (an outside gaming pass got 5/5 with cgan_step).
    "alternating_step": ["gancourse.train.alternating_step", "gancourse.train.shared_fakes_step",
                         "gancourse.conditional.cgan_step", "gancourse.conditional.acgan_step",
                         "gancourse.conditional.infogan_step"],
}
# part -> the earlier parts its probe runs the answer with, as the grader's references (lent to that test cell)
REFERENCES = {"alternating_step": ["discriminator_loss", "saturating_generator_loss", "non_saturating_generator_loss"]}
LOSS_PARTS = REFERENCES["alternating_step"]


# --- parts 1-3: the losses -----------------------------------------------------------------------------

def logit_batches() -> list[tuple[str, torch.Tensor]]:
    """Logits of several sizes and scales, with the extreme ones a sure discriminator produces."""
    gen = salted_generator(11)
    extreme = [("logits of +-100 and +-30", torch.tensor([100.0, -100.0, 30.0, -30.0])),
               ("logits of +-1000 and 0", torch.tensor([1000.0, -1000.0, 0.0]))]
    scaled = [(f"{n} random logit{'s' if n > 1 else ''} of scale {scale:g}", torch.randn(n, generator=gen) * scale)
              for n, scale in ((7, 1.0), (5, 3.0), (64, 8.0), (1, 2.0))]
    return extreme + scaled


def loss_cases(two: bool) -> list[tuple[str, str, tuple[torch.Tensor, ...]]]:
    """(key, description, logits) for every call of a loss: (real, fake) pairs, or fake logits alone."""
    batches = logit_batches()
    if not two:
        return [(f"loss/{i}", f"on {where}", (fake,)) for i, (where, fake) in enumerate(batches)]
    pairs = zip(batches, batches[1:] + batches[:1])
    return [(f"loss/{i}", f"with real = {wr} and fake = {wf}", (real, fake))
            for i, ((wr, real), (wf, fake)) in enumerate(pairs)]


def probe_loss(record: Record, fn, two: bool) -> None:
    for key, _, logits in loss_cases(two):
        inputs = [t.clone().requires_grad_(True) for t in logits]
        out = record.call(key, fn, *inputs)
        if record.raised(key):
            continue
        record.output(key, out)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            grads = record.call(f"{key}/grad", torch.autograd.grad, out.sum(), inputs, allow_unused=True)
            for j, (grad, x) in enumerate(zip(grads or (), inputs)):
                record.array(f"{key}/grad/{j}", torch.zeros_like(x) if grad is None else grad)


def probe_discriminator_loss(record: Record, discriminator_loss) -> None:
    probe_loss(record, discriminator_loss, two=True)


def probe_saturating_generator_loss(record: Record, saturating_generator_loss) -> None:
    probe_loss(record, saturating_generator_loss, two=False)


def probe_non_saturating_generator_loss(record: Record, non_saturating_generator_loss) -> None:
    probe_loss(record, non_saturating_generator_loss, two=False)


# --- part 4: one round of the alternating algorithm ----------------------------------------------------

LATENT, DATA_DIM, HIDDEN = 3, 2, 8
ROUNDS = 2  # calls per scenario: the second shows gradients or optimiser state left over from the first
MAX_DRAWS = 64  # draws one call may make before the probe stops it
RECORD_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_fake_g")
# Each scenario: k, the real batch size, plain SGD or SGD with momentum, and the library's losses passed
# as d_loss_fn and g_loss_fn (named by their gancourse.losses names; the judge has its own versions).
SCENARIOS = (
    {"k": 1, "batch": 8, "lr_d": 0.05, "lr_g": 0.1, "momentum": 0.0, "seed": 1,
     "d_loss_fn": "discriminator_loss", "g_loss_fn": "non_saturating_generator_loss"},
    {"k": 3, "batch": 6, "lr_d": 0.04, "lr_g": 0.07, "momentum": 0.5, "seed": 2,
     "d_loss_fn": "smoothed_discriminator_loss", "g_loss_fn": "saturating_generator_loss"},
    {"k": 2, "batch": 5, "lr_d": 0.06, "lr_g": 0.08, "momentum": 0.0, "seed": 3,
     "d_loss_fn": "discriminator_loss", "g_loss_fn": "non_saturating_generator_loss"},
)


def networks(seed: int) -> tuple[nn.Module, nn.Module]:
    """The small G (latent 3 -> 2-D points) and D (2-D point -> one logit, shape (N,)) a scenario starts from."""
    gen = salted_generator(seed)
    G = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, DATA_DIM))
    D = nn.Sequential(nn.Linear(DATA_DIM, HIDDEN), nn.LeakyReLU(0.2), nn.Linear(HIDDEN, 1), nn.Flatten(0))
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.7)
    return G, D


def optimizers(scenario: dict, G: nn.Module, D: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    g_opt = torch.optim.SGD(G.parameters(), lr=scenario["lr_g"], momentum=scenario["momentum"])
    d_opt = torch.optim.SGD(D.parameters(), lr=scenario["lr_d"], momentum=scenario["momentum"])
    return g_opt, d_opt


def real_batch(scenario: dict, index: int) -> torch.Tensor:
    """The scenario's index-th real batch: points around (1.5, -0.5)."""
    gen = salted_generator(1000 * scenario["seed"] + index)
    return torch.randn(scenario["batch"], DATA_DIM, generator=gen) * 0.3 + torch.tensor([1.5, -0.5])


def latent_source(scenario: dict) -> torch.Generator:
    """The generator that sample_z draws from, one scenario's draws after another (the judge replays it)."""
    return salted_generator(500 + scenario["seed"])


def draw_latents(gen: torch.Generator, n: int) -> torch.Tensor:
    return torch.randn(n, LATENT, generator=gen)


def _gradients(record: Record, key: str, net: nn.Module) -> None:
    for j, p in enumerate(net.parameters()):
        if p.grad is not None:
            record.array(f"{key}/{j}", p.grad)


class Sources:
    """next_real and sample_z for one scenario: the grader's batches, each draw logged with G's gradients then."""

    def __init__(self, record: Record, scenario: dict, G: nn.Module) -> None:
        self.record, self.scenario, self.G = record, scenario, G
        self.latents = latent_source(scenario)
        self.reals = 0
        self.prefix, self.log = "", []

    def new_call(self, prefix: str) -> None:
        self.prefix, self.log = prefix, []
        _gradients(self.record, f"{prefix}/start/ggrad", self.G)

    def _drawn(self, kind: str, value: torch.Tensor, n: int | None = None) -> torch.Tensor:
        if len(self.log) >= MAX_DRAWS:
            raise RuntimeError(f"one call drew more than {MAX_DRAWS} batches from next_real and sample_z")
        e = len(self.log)
        self.log.append([kind] if n is None else [kind, n])
        self.record.array(f"{self.prefix}/draw{e}", value)
        _gradients(self.record, f"{self.prefix}/draw{e}/ggrad", self.G)
        return value.clone()

    def next_real(self) -> torch.Tensor:
        self.reals += 1
        return self._drawn("real", real_batch(self.scenario, self.reals - 1))

    def sample_z(self, n) -> torch.Tensor:
        n = int(n)
        if not 0 < n <= 4096:
            raise ValueError(f"sample_z(n) needs a number of latent vectors between 1 and 4096, got {n}")
        return self._drawn("z", draw_latents(self.latents, n), n)


def probe_scenario(record: Record, alternating_step, s: int, scenario: dict) -> None:
    G, D = networks(scenario["seed"])
    g_opt, d_opt = optimizers(scenario, G, D)
    d_loss_fn = reference(f"gancourse.losses.{scenario['d_loss_fn']}")
    g_loss_fn = reference(f"gancourse.losses.{scenario['g_loss_fn']}")
    sources = Sources(record, scenario, G)
    for r in range(ROUNDS):
        prefix = f"s{s}/r{r}"
        sources.new_call(prefix)
        result = record.call(f"{prefix}/call", alternating_step, G, D, g_opt, d_opt, sources.next_real,
                             sources.sample_z, k=scenario["k"], d_loss_fn=d_loss_fn, g_loss_fn=g_loss_fn)
        record.fact(f"{prefix}/log", sources.log)
        for name, net in (("G", G), ("D", D)):
            for j, p in enumerate(net.parameters()):
                record.array(f"{prefix}/{name}/{j}", p)
        if record.raised(f"{prefix}/call"):
            return
        if isinstance(result, dict):
            record.fact(f"{prefix}/result", {"type": "dict", "keys": [str(key) for key in result][:20]})
            for key in RECORD_KEYS:
                if key in result:
                    record.output(f"{prefix}/result/{key}", result[key])
        else:
            record.output(f"{prefix}/result", result)


def probe_alternating_step(record: Record, alternating_step) -> None:
    signature(record, alternating_step)
    with with_references(ASSIGNMENT, alternating_step, LOSS_PARTS):
        for s, scenario in enumerate(SCENARIOS):
            probe_scenario(record, alternating_step, s, scenario)
