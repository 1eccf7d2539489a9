"""Probes of assignment 3 (chapter 3): the DCGAN's two networks, its initialisation, two latent paths.

The networks are traced (:func:`autograder.probes.graph.trace`) in each mode and batch size the judge
needs; the judge reruns the traces with inputs and weights of its own. The initialisation is applied
to a network the grader builds, and the paths are called on fixed vectors.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from autograder.probes.graph import backpropagated, build, traced
from autograder.probes.record import Record, salted_generator, signature, with_references

ASSIGNMENT = "a3_dcgan"
COUNTERPARTS = {
    "DCGANGenerator": "gancourse.nets.DCGANGenerator",
    "DCGANDiscriminator": "gancourse.nets.DCGANDiscriminator",
    "dcgan_weights_init": "gancourse.nets.dcgan_weights_init",
    "lerp": "gancourse.latent.lerp",
    "slerp": "gancourse.latent.slerp",
}
# the earlier parts a part's probe runs the answer with: autograder.probes.references_for
REFERENCES = {"slerp": ["lerp"]}

LATENT = 12  # the latent size the probes build G with
G_WIDTH, D_WIDTH = 16, 8  # small widths keep the probes fast


# --- part 1: the generator -----------------------------------------------------------------------------

def generator_eval_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """Latent vectors for the eval-mode trace, and the weighting of the output whose gradients are compared."""
    gen = salted_generator(301)
    return torch.randn(5, LATENT, generator=gen), torch.randn(5, 1, 28, 28, generator=gen)


def discriminator_eval_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """Images for the eval-mode trace, and the weighting of the logits whose gradients are compared."""
    gen = salted_generator(302)
    return torch.rand(6, 1, 28, 28, generator=gen) * 2 - 1, torch.randn(6, generator=gen)


def probe_DCGANGenerator(record: Record, DCGANGenerator) -> None:  # noqa: N802, N803 - the part's name
    signature(record, DCGANGenerator)
    G = build(record, "build", DCGANGenerator, latent_dim=LATENT, width=G_WIDTH)
    if G is None:
        return
    traced(record, "train", G.train(), torch.randn(16, LATENT))
    z, weighting = generator_eval_inputs()
    traced(record, "eval5", G.eval(), z)
    backpropagated(record, "eval5", G, [z], weighting)
    traced(record, "eval1", G, torch.randn(1, LATENT))
    wide = build(record, "build_wide", DCGANGenerator, latent_dim=LATENT, width=2 * G_WIDTH)
    if wide is not None:
        traced(record, "wide", wide.eval(), torch.randn(2, LATENT), weights=False)
    default = build(record, "build_default", DCGANGenerator)
    if default is not None:
        traced(record, "default", default.eval(), torch.randn(2, 100), weights=False)


# --- part 2: the discriminator -------------------------------------------------------------------------

def probe_DCGANDiscriminator(record: Record, DCGANDiscriminator) -> None:  # noqa: N802, N803
    signature(record, DCGANDiscriminator)
    D = build(record, "build", DCGANDiscriminator, width=D_WIDTH)
    if D is None:
        return
    images = torch.rand(16, 1, 28, 28) * 2 - 1
    traced(record, "train", D.train(), images)
    x, weighting = discriminator_eval_inputs()
    traced(record, "eval6", D.eval(), x)
    backpropagated(record, "eval6", D, [x], weighting)
    traced(record, "eval1", D, images[:1])
    for name, kwargs, x in (("wide", {"width": 2 * D_WIDTH}, images[:2]), ("default", {}, images[:2]),
                            ("channels", {"in_channels": 3, "width": D_WIDTH}, torch.rand(2, 3, 28, 28)),
                            ("no_dropout", {"dropout": 0.0, "width": D_WIDTH}, images[:4])):
        net = build(record, f"build_{name}", DCGANDiscriminator, **kwargs)
        if net is not None:
            traced(record, name, net.train() if name == "no_dropout" else net.eval(), x, weights=False)


# --- part 3: the initialisation ------------------------------------------------------------------------

def init_target() -> nn.Sequential:
    """The network the initialisation is applied to: every kind of layer a DCGAN has, some large. Its sizes
    depend on the salt, so that weights drawn before grading cannot stand in for the answer's."""
    gen = salted_generator(38)
    wide, many = (int(v) for v in torch.randint(0, 64, (2,), generator=gen))
    net = nn.Sequential(
        nn.Conv2d(64, 96 + wide, 5), nn.LeakyReLU(0.2),
        nn.Sequential(nn.ConvTranspose2d(96 + wide, 64, 5, bias=False), nn.ReLU()),
        nn.BatchNorm2d(20000 + many), nn.BatchNorm1d(20000 - many),
        nn.Linear(8, 8), nn.Dropout(0.3), nn.Flatten(), nn.Tanh(),
    )
    with torch.no_grad():
        for p in net.parameters():  # values that no correct initialisation leaves in place
            p.fill_(0.5)
    return net


def probe_dcgan_weights_init(record: Record, dcgan_weights_init) -> None:
    net = init_target()
    if record.call("apply", net.apply, dcgan_weights_init) is None and record.raised("apply"):
        return
    for name, value in net.state_dict().items():
        record.array(f"param/{name}", value)
    again = init_target()  # a second network, initialised by a second call: the draws must be new ones
    if record.call("apply_again", again.apply, dcgan_weights_init) is not None or not record.raised("apply_again"):
        record.array("again/0.weight", again.state_dict()["0.weight"])


# --- parts 4 and 5: latent paths -----------------------------------------------------------------------

def path_pairs() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """The pairs of latent vectors the paths are probed on (the judge calls this too)."""
    gen = salted_generator(35)
    wide = 150 * math.pi / 180
    pairs = [
        ("two random 100-d vectors", torch.randn(100, generator=gen), torch.randn(100, generator=gen)),
        ("two 2-d vectors 150 degrees apart", torch.tensor([3.0, 0.0]),
         torch.tensor([3 * math.cos(wide), 3 * math.sin(wide)])),
        ("two 5-d vectors of different lengths", torch.randn(5, generator=gen) * 2, torch.randn(5, generator=gen)),
        ("two 2-d vectors 10 degrees apart", torch.tensor([2.0, 0.0]),
         torch.tensor([2 * math.cos(math.pi / 18), 2 * math.sin(math.pi / 18)])),
    ]
    return pairs + [(f"{where} (float64)", a.double(), b.double()) for where, a, b in pairs[:2]]


def parallel_pairs() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Pairs pointing the same way, where slerp's formula is 0/0."""
    gen = salted_generator(36)
    z, axis, ones = torch.randn(100, generator=gen), torch.tensor([2.0, 0, 0, 0]), torch.ones(4)
    nudge = 1e-7 * torch.randn(100, generator=gen)
    return [("z0 = z1 = (1, 1, 1, 1)", ones, ones.clone()), ("z0 = (2, 0, 0, 0), z1 = (5, 0, 0, 0)", axis, 2.5 * axis),
            ("z1 = 2.5 z0", z, 2.5 * z), ("z1 = z0 + 1e-7 noise", z, z + nudge)]


def positions() -> list[tuple[str, object]]:
    """Positions t: Python numbers, 0-d and 1-d tensors."""
    gen = salted_generator(37)
    return [("t=0.0", 0.0), ("t=1.0", 1.0), ("t=0.3", 0.3), ("t=torch.tensor(0.7)", torch.tensor(0.7)),
            ("t=torch.linspace(0, 1, 7)", torch.linspace(0, 1, 7)), ("t=torch.tensor([0.25])", torch.tensor([0.25])),
            ("t of 4 random values", torch.rand(4, generator=gen))]


def path_cases() -> list[tuple[str, str, torch.Tensor, torch.Tensor, object]]:
    """(key, description, z0, z1, t) for every call a path is probed with."""
    cases = []
    for i, (where, z0, z1) in enumerate(path_pairs()):
        for j, (label, t) in enumerate(positions()):
            cases.append((f"path/{i}/{j}", f"(z0, z1, {label}) for {where}", z0, z1, t))
    for i, (where, z0, z1) in enumerate(parallel_pairs()):
        for j, (label, t) in enumerate((("t=0.4", 0.4), ("t=torch.linspace(0, 1, 5)", torch.linspace(0, 1, 5)))):
            cases.append((f"parallel/{i}/{j}", f"(z0, z1, {label}) with {where}", z0, z1, t))
    return cases


def probe_path(record: Record, fn) -> None:
    for key, _, z0, z1, t in path_cases():
        out = record.call(key, fn, z0.clone(), z1.clone(), t.clone() if isinstance(t, torch.Tensor) else t)
        if not record.raised(key):
            record.output(key, out)


def probe_lerp(record: Record, lerp) -> None:
    probe_path(record, lerp)


def probe_slerp(record: Record, slerp) -> None:
    with with_references(ASSIGNMENT, slerp, REFERENCES["slerp"]):
        probe_path(record, slerp)
