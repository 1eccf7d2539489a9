"""Probes of assignment 4 (chapter 4): one-hot labels, a conditional generator and discriminator, ACGAN's loss.

The two networks are traced (:func:`traced`, ATen graphs made with ``make_fx`` in its "fake" mode, so
that ``F.one_hot`` and friends can be followed) in each mode and batch size the judge needs, with the
labels as a second input; the judge reruns the traces with noise, images, labels and weights of its
own. The functions are called on fixed inputs (:func:`one_hot_cases`, :func:`loss_cases`), which the
judge makes again.

The portfolio (``autograder/probes/portfolio.py``) grades the same three concepts with these probes:
:func:`probe_one_hot_for`, :func:`probe_generator` and :func:`probe_discriminator` take the
assignment, so that an earlier part is replaced by the grader's version of that assignment.
"""

from __future__ import annotations

import torch
from torch import nn

from autograder.probes import graph
from autograder.probes.graph import backpropagated, build
from autograder.probes.record import Record, salted_generator, signature, with_references

ASSIGNMENT = "a4_conditional"
COUNTERPARTS = {
    "one_hot": "gancourse.conditional.one_hot",
    # with chapter 3's networks, of which the library's conditional ones are thin subclasses
    "ConditionalGenerator": ["gancourse.conditional.ConditionalGenerator", "gancourse.nets.DCGANGenerator"],
    "ConditionalDiscriminator": ["gancourse.conditional.ConditionalDiscriminator", "gancourse.nets.DCGANDiscriminator"],
    "acgan_auxiliary_loss": "gancourse.conditional.acgan_auxiliary_loss",
}
# the earlier parts a part's probe runs the answer with: autograder.probes.references_for
REFERENCES = {"ConditionalGenerator": ["one_hot"], "ConditionalDiscriminator": ["one_hot"]}

LATENT, G_WIDTH, D_WIDTH = 8, 32, 8  # the sizes the probes build the networks at (small: fast)
FEW_LATENT, FEW_G_CLASSES, FEW_D_CLASSES = 5, 3, 4  # a second build with fewer classes than the default 10
BATCH = 10  # eval-mode traces: one sample per class


# --- tracing: the labels are a tensor input, followed through every operation ----------------------

def traced(record: Record, name: str, net: nn.Module, *inputs: torch.Tensor, weights: bool = True) -> None:
    """Traced in make_fx's "fake" mode: ``F.one_hot`` checks its labels with ``.item()``, which the default
    ("real") mode refuses. A forward that reads a label's value in Python (``.item()``, ``.tolist()``,
    ``int(label)``) cannot be traced in either mode and is reported as such."""
    graph.traced(record, name, net, *inputs, weights=weights, tracing_mode="fake")


# --- part 1: one_hot ---------------------------------------------------------------------------------

def one_hot_cases() -> list[tuple[str, torch.Tensor, int | None]]:
    """(key, labels, n_classes) for every call; None: n_classes is left at its default (the judge reads it too)."""
    gen = salted_generator(401)
    return [
        ("default", torch.tensor([3, 9, 0, 5, 9, 1, 7]), None),
        ("given_10", torch.tensor([5, 0, 9]), 10),
        ("three", torch.randint(3, (5,), generator=gen), 3),
        ("missing_classes", torch.tensor([0, 0, 1]), 6),  # classes 2..5 never occur: the rows still have 6 entries
        ("one_sample", torch.tensor([4]), 5),
        ("forty", torch.randint(12, (40,), generator=gen), 12),
    ]


def probe_one_hot_for(record: Record, one_hot) -> None:
    for key, labels, n_classes in one_hot_cases():
        given = labels.clone()
        out = record.call(key, one_hot, given) if n_classes is None else record.call(key, one_hot, given, n_classes)
        if not record.raised(key):
            record.output(key, out)
            record.array(f"{key}/labels_after", given)
    # The rows must be made where the labels are (a GPU in class): 'meta' stands in for a GPU here.
    try:
        out = one_hot(torch.tensor([1, 0, 2], device="meta"), 3)
    except Exception:  # noqa: BLE001 - an answer that cannot run on 'meta' is not judged on its device
        return
    if isinstance(out, torch.Tensor):
        record.fact("meta_device", str(out.device))


def probe_one_hot(record: Record, one_hot) -> None:
    probe_one_hot_for(record, one_hot)


# --- part 2: the conditional generator ---------------------------------------------------------------

def generator_eval_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """z, labels and a weighting of the images: the eval-mode trace's inputs (the judge makes them again)."""
    gen = salted_generator(402)
    return (torch.randn(BATCH, LATENT, generator=gen), torch.randint(10, (BATCH,), generator=gen),
            torch.randn(BATCH, 1, 28, 28, generator=gen))


def probe_generator(record: Record, cls, assignment: str) -> None:
    """Build ``cls`` small and trace it; ``one_hot`` in its namespace is the grader's while it runs."""
    signature(record, cls)
    with with_references(assignment, cls, REFERENCES["ConditionalGenerator"]):
        G = build(record, "build", cls, latent_dim=LATENT, n_classes=10, width=G_WIDTH)
        if G is None:
            return
        record.fact("latent_dim", repr(getattr(G, "latent_dim", None)))
        every_class = torch.arange(10).repeat(2)
        traced(record, "train", G.train(), torch.randn(len(every_class), LATENT), every_class)
        z, labels, weighting = generator_eval_inputs()
        traced(record, "eval", G.eval(), z, labels)
        backpropagated(record, "eval", G, [z, labels], weighting)
        traced(record, "eval1", G, torch.randn(1, LATENT), torch.tensor([3]))
        few = build(record, "build_few", cls, latent_dim=FEW_LATENT, n_classes=FEW_G_CLASSES, width=G_WIDTH)
        if few is not None:
            traced(record, "few", few.eval(), torch.randn(6, FEW_LATENT), torch.arange(6) % FEW_G_CLASSES)
        wide = build(record, "build_wide", cls, latent_dim=LATENT, n_classes=10, width=2 * G_WIDTH)
        if wide is not None:
            traced(record, "wide", wide.eval(), torch.randn(2, LATENT), torch.tensor([0, 1]), weights=False)
        default = build(record, "build_default", cls)
        if default is not None:
            traced(record, "default", default.eval(), torch.randn(2, 100), torch.tensor([0, 9]), weights=False)


def probe_ConditionalGenerator(record: Record, ConditionalGenerator) -> None:  # noqa: N802, N803 - the part's name
    probe_generator(record, ConditionalGenerator, ASSIGNMENT)


# --- part 3: the conditional discriminator -----------------------------------------------------------

def images(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1


def discriminator_eval_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images, labels and a weighting of the logits: the eval-mode trace's inputs (the judge makes them again)."""
    gen = salted_generator(403)
    return images(BATCH, gen), torch.randint(10, (BATCH,), generator=gen), torch.randn(BATCH, generator=gen)


def probe_discriminator(record: Record, cls, assignment: str, **extra) -> None:
    """Build ``cls`` small (with ``extra`` keyword arguments) and trace it; ``one_hot`` is the grader's."""
    signature(record, cls)
    gen = salted_generator(413)
    with with_references(assignment, cls, REFERENCES["ConditionalDiscriminator"]):
        D = build(record, "build", cls, n_classes=10, width=D_WIDTH, **extra)
        if D is None:
            return
        every_class = torch.arange(10).repeat(2)
        traced(record, "train", D.train(), images(len(every_class), gen), every_class)
        x, labels, weighting = discriminator_eval_inputs()
        traced(record, "eval", D.eval(), x, labels)
        backpropagated(record, "eval", D, [x, labels], weighting)
        traced(record, "eval1", D, images(1, gen), torch.tensor([3]))
        few = build(record, "build_few", cls, n_classes=FEW_D_CLASSES, width=D_WIDTH, **extra)
        if few is not None:
            traced(record, "few", few.eval(), images(6, gen), torch.arange(6) % FEW_D_CLASSES)
        wide = build(record, "build_wide", cls, n_classes=10, width=2 * D_WIDTH, **extra)
        if wide is not None:
            traced(record, "wide", wide.eval(), images(2, gen), torch.tensor([0, 1]), weights=False)
        default = build(record, "build_default", cls)
        if default is not None:
            traced(record, "default", default.eval(), images(2, gen), torch.tensor([0, 9]), weights=False)


def probe_ConditionalDiscriminator(record: Record, ConditionalDiscriminator) -> None:  # noqa: N802, N803
    probe_discriminator(record, ConditionalDiscriminator, ASSIGNMENT)


# --- part 4: the ACGAN auxiliary loss ------------------------------------------------------------------

def loss_cases() -> list[tuple[str, str, torch.Tensor, torch.Tensor]]:
    """(key, description, class logits, labels) for every call (the judge reads them too)."""
    gen = salted_generator(404)

    def random(n: int, c: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, c, generator=gen) * scale, torch.randint(c, (n,), generator=gen)

    sure = torch.full((4, 10), -100.0)
    sure[torch.arange(4), torch.tensor([3, 3, 7, 0])] = 100.0  # D is sure: right for two, wrong for two
    cases = [random(7, 10, 1.0), random(1, 3, 2.0), random(64, 10, 8.0), random(5, 4, 30.0),
             (sure, torch.tensor([3, 1, 7, 9])),
             (torch.tensor([[100.0, -100.0], [-100.0, 100.0], [0.0, 0.0]]), torch.tensor([1, 1, 0]))]
    described = []
    for i, (logits, labels) in enumerate(cases):
        where = f"for {logits.shape[0]} sample(s) and {logits.shape[1]} classes"
        if float(logits.abs().max()) >= 30:
            where += f" (logits up to {float(logits.abs().max()):g})"
        described.append((f"loss/{i}", where, logits, labels))
    return described


def probe_acgan_auxiliary_loss(record: Record, acgan_auxiliary_loss) -> None:
    for key, _, logits, labels in loss_cases():
        inputs = logits.clone().requires_grad_(True)
        out = record.call(key, acgan_auxiliary_loss, inputs, labels.clone())
        if record.raised(key):
            continue
        record.output(key, out)
        if isinstance(out, torch.Tensor) and out.requires_grad and out.numel() == 1:
            (grad,) = record.call(f"{key}/grad", torch.autograd.grad, out.reshape(()), [inputs],
                                  allow_unused=True) or (None,)
            if grad is not None:
                record.array(f"{key}/grad", grad)
