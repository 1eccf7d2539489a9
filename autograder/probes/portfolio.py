"""Probes of the portfolio (after chapter 5): a conditional DCGAN with one mode-collapse fix.

The networks (``one_hot``, ``ConditionalGenerator``, ``ConditionalDiscriminator``) were graded in
assignment 4; the portfolio reuses the student's (or the library's) and does not grade them again.

* ``train_cgan`` runs twice, on networks the grader builds, so that the student's networks cost nothing here:

  - the **referee run**: a few steps on tiny networks that record everything (:class:`RefereeGenerator`,
    :class:`RefereeDiscriminator`): every call of G (its z and labels) and of D (the images and labels it
    saw), the gradient of the loss with respect to each of D's logits, each optimizer step and the
    parameters after it. Generated images carry tag pixels naming the call and row they come from, real
    ones their index. The judge recomputes every image, logit, loss and Adam step from its own copies of
    the networks and the data, so the records cannot stand in for a correct loop. The networks have no
    batch statistics: passing real and fake images through D in one call gives the same losses as two.
  - the **budget run**: ``BUDGET["steps"]`` steps on one CPU thread with the grader's small cGAN
    (:class:`BudgetGenerator`, :class:`BudgetDiscriminator`); the generator's parameters are sent to the
    judge, which measures its samples itself against thresholds set by the reference solution.

  With ``FIX = "minibatch"`` the student's ``ConditionalDiscriminator(minibatch=True)`` is traced too.
* ``evaluate`` gets a generator (:class:`EvaluationGenerator`) that draws real held-out digits in eval
  mode and something else in training mode; every image it returns is recorded, and the judge
  recomputes the FID and the per-class accuracy from them.
* ``interpolate_within_class`` gets a generator (:class:`PathGenerator`) whose images are a known
  function of z, the label and its mode; every call is recorded, and the judge recomputes the path.

Nothing here is secret: the thresholds and the reference training loop live in the judge.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autograder.probes import a4
from autograder.probes.graph import build
from autograder.probes.record import Record, salted_generator, with_references

ASSIGNMENT = "portfolio_cgan"
COUNTERPARTS = {
    # The networks are assignment 4's and may come from the library. The library's cGAN loop, its step and its
    # fixes would do part 1's work (so a minibatch fix needs the student's own layer).
    "train_cgan": ["gancourse.conditional.train_conditional", "gancourse.conditional.cgan_step",
                   "gancourse.fixes.ReplayBuffer", "gancourse.fixes.MinibatchDiscrimination"],
}
FIXES = ("replay", "minibatch")


# --- part 1, the referee run: tiny networks that record what train_cgan does with them ----------------

REFEREE = {"steps": 6, "batch_size": 16, "seed": 5, "lr": 3e-3, "n_real": 64, "latent_dim": 6}
REAL_TAG, FAKE_TAG = 0.75, -0.75  # pixel (0, 0, 0) of an image says where it came from


def tag_mask() -> torch.Tensor:
    """1 everywhere but the three tag pixels of an image (1, 28, 28)."""
    mask = torch.ones(1, 28, 28)
    mask[0, 0, :3] = 0
    return mask


def referee_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The 'real' images and labels of the referee run: random pixels, each image tagged with its index."""
    gen = salted_generator(40)
    n = REFEREE["n_real"]
    images = 2 * torch.rand(n, 1, 28, 28, generator=gen) - 1
    images[:, 0, 0, :3] = 0
    images[:, 0, 0, 0] = REAL_TAG
    images[:, 0, 0, 1] = (torch.arange(n) + 1) / 1000
    return images, torch.randint(10, (n,), generator=gen)


def referee_parameters() -> dict[str, dict[str, torch.Tensor]]:
    """The referee networks' initial parameters (the judge starts its own copy from these)."""
    gen = salted_generator(41)
    inputs = REFEREE["latent_dim"] + 10
    return {"G": {"weight": torch.randn(784, inputs, generator=gen) * 0.3,
                  "bias": torch.randn(784, generator=gen) * 0.1},
            "D": {"weight": torch.randn(1, 794, generator=gen) * 0.05, "bias": torch.zeros(1)}}


def referee_generator_forward(weight, bias, z, labels, call: int):
    """G(z, y) = tanh(W [z, one-hot(y)] + b) as images, with tag pixels (FAKE_TAG, (call + 1) / 1000, row / 1000)."""
    code = torch.cat([z, F.one_hot(labels.long(), 10).to(z.dtype)], dim=1)
    out = torch.tanh(F.linear(code, weight, bias)).view(-1, 1, 28, 28)
    tag = torch.zeros_like(out)
    tag[:, 0, 0, 0] = FAKE_TAG
    tag[:, 0, 0, 1] = (call + 1) / 1000
    tag[:, 0, 0, 2] = torch.arange(len(out), dtype=out.dtype) / 1000
    return out * tag_mask().to(out.dtype) + tag


def referee_discriminator_forward(weight, bias, x, labels):
    """D(x, y) = w . [x flattened, one-hot(y)] + b: one logit per image, no batch statistics."""
    return F.linear(torch.cat([x.flatten(1), F.one_hot(labels.long(), 10).to(x.dtype)], dim=1), weight, bias)[:, 0]


class Log:
    """What the referee networks and the optimizer hook saw, in order."""

    def __init__(self) -> None:
        self.events: list[list] = []  # ["G", call], ["D", call], ["G_backward", call], ["step", "G" | "D" | "both"]
        self.g_calls: list[dict] = []
        self.d_calls: list[dict] = []


class RefereeGenerator(nn.Module):
    def __init__(self, log: Log) -> None:
        super().__init__()
        self.latent_dim, self.n_classes = REFEREE["latent_dim"], 10
        start = referee_parameters()["G"]
        self.weight, self.bias = nn.Parameter(start["weight"].clone()), nn.Parameter(start["bias"].clone())
        self._log = [log]  # in a list, so that it is not a submodule

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log = self._log[0]
        call = len(log.g_calls)
        log.g_calls.append({"z": z.detach().cpu().clone(), "labels": labels.detach().cpu().clone()})
        log.events.append(["G", call])
        out = referee_generator_forward(self.weight, self.bias, z, labels, call)
        if out.requires_grad:
            out.register_hook(lambda grad: log.events.append(["G_backward", call]))
        return out


class RefereeDiscriminator(nn.Module):
    def __init__(self, log: Log) -> None:
        super().__init__()
        self.n_classes = 10
        start = referee_parameters()["D"]
        self.weight, self.bias = nn.Parameter(start["weight"].clone()), nn.Parameter(start["bias"].clone())
        self._log = [log]

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log = self._log[0]
        call = len(log.d_calls)
        entry = {"x": x.detach().cpu().clone(), "labels": labels.detach().cpu().clone(), "grad": None}
        log.d_calls.append(entry)
        log.events.append(["D", call])
        logits = referee_discriminator_forward(self.weight, self.bias, x, labels)
        if logits.requires_grad:
            def keep(grad: torch.Tensor) -> None:
                grad = grad.detach().cpu().clone()
                entry["grad"] = grad if entry["grad"] is None else entry["grad"] + grad
            logits.register_hook(keep)
        return logits


def referee_run(record: Record, train_cgan, fix) -> None:
    from torch.optim.optimizer import register_optimizer_step_post_hook

    log = Log()
    G, D = RefereeGenerator(log), RefereeDiscriminator(log)
    images, labels = referee_data()
    owners = {id(p): "G" for p in G.parameters()} | {id(p): "D" for p in D.parameters()}
    steps: list[dict[str, torch.Tensor]] = []

    def after_step(optimizer, args, kwargs) -> None:
        found = {owners.get(id(p)) for group in optimizer.param_groups for p in group["params"]}
        which = "both" if found >= {"G", "D"} else ("G" if "G" in found else "D" if "D" in found else None)
        if which is None:
            return
        log.events.append(["step", which, len(steps)])
        steps.append({f"{name}/{key}": p.detach().cpu().clone() for name, net in (("G", G), ("D", D))
                      for key, p in net.named_parameters()})

    handle = register_optimizer_step_post_hook(after_step)
    try:
        history = record.call("referee", train_cgan, G, D, images, labels, steps=REFEREE["steps"],
                              batch_size=REFEREE["batch_size"], fix=fix, seed=REFEREE["seed"], device="cpu",
                              lr=REFEREE["lr"])
    finally:
        handle.remove()
    record.fact("referee/events", log.events[:2000])
    for k, call in enumerate(log.g_calls[:200]):
        record.array(f"referee/G{k}/z", call["z"])
        record.array(f"referee/G{k}/labels", call["labels"])
    for k, call in enumerate(log.d_calls[:200]):
        record.array(f"referee/D{k}/x", call["x"])
        record.array(f"referee/D{k}/labels", call["labels"])
        if call["grad"] is not None:
            record.array(f"referee/D{k}/grad", call["grad"])
    for s, state in enumerate(steps[:100]):
        for key, value in state.items():
            record.array(f"referee/step{s}/{key}", value)
    record_history(record, "referee/history", history)


def record_history(record: Record, name: str, history) -> None:
    if not isinstance(history, dict):
        record.fact(name, {"type": type(history).__name__})
        return
    facts = {"type": "dict", "keys": sorted(str(k) for k in history)}
    for key in ("d_loss", "g_loss"):
        values = history.get(key)
        if isinstance(values, (list, tuple)):
            facts[key] = [v if isinstance(v, float) else type(v).__name__ for v in values[:1000]]
    record.fact(name, facts)


# --- part 1, the budget run: the grader's small cGAN, trained by train_cgan ------------------------------

BUDGET = {"steps": 400, "batch_size": 64, "lr": 2e-3, "seed": 7}


class BudgetGenerator(nn.Module):
    """The grader's small conditional generator: [z, one-hot] -> 7x7 -> 14x14 -> 28x28, tanh.

    Its BatchNorm always normalises with the batch's statistics (no running averages), in eval mode too;
    the judge draws its samples in one batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self.latent_dim, self.n_classes, width = 32, 10, 16
        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.latent_dim + 10, 2 * width, 7, 1, 0, bias=False),
            nn.BatchNorm2d(2 * width, track_running_stats=False), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width, track_running_stats=False), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, F.one_hot(labels.long(), self.n_classes).to(z.dtype)], dim=1)
        return self.net(code[:, :, None, None])


class BudgetDiscriminator(nn.Module):
    """The grader's small projection discriminator (Miyato & Koyama): two strided convolutions on the image,
    then logit = w . h + <embed(y), h>. No batch statistics (a per-sample GroupNorm), so that real and fake
    images may pass through it in one call or in two with the same result."""

    def __init__(self) -> None:
        super().__init__()
        self.n_classes, width = 10, 16
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.GroupNorm(1, 2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        self.embed = nn.Embedding(10, 2 * width * 49)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.logit = nn.Linear(2 * width * 49, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return self.logit(h).squeeze(1) + (self.embed(labels.long()) * h).sum(1)


def budget_networks(seed: int) -> tuple[BudgetGenerator, BudgetDiscriminator]:
    torch.manual_seed(seed)
    return BudgetGenerator(), BudgetDiscriminator()


def training_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The 4,000 training digits of the embedded MNIST (the notebook's train_images, train_labels)."""
    from gancourse.data import load_mnist_embedded, split_held_out

    (images, labels), _ = split_held_out(*load_mnist_embedded())
    return images, labels


def budget_run(record: Record, train_cgan, fix) -> None:
    G, D = budget_networks(BUDGET["seed"])
    images, labels = training_data()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        history = record.call("budget", train_cgan, G, D, images, labels, steps=BUDGET["steps"],
                              batch_size=BUDGET["batch_size"], fix=fix, seed=BUDGET["seed"], device="cpu",
                              lr=BUDGET["lr"])
    finally:
        torch.set_num_threads(threads)
    for key, value in G.state_dict().items():
        record.array(f"budget/G/{key}", value)
    record_history(record, "budget/history", history)


# --- part 1, minibatch discrimination: the student's D with minibatch=True --------------------------------

def minibatch_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    gen = salted_generator(44)
    return 2 * torch.rand(6, 1, 28, 28, generator=gen) - 1, torch.randint(10, (6,), generator=gen)


def probe_minibatch(record: Record, ConditionalDiscriminator) -> None:  # noqa: N803 - the student's class
    x, labels = minibatch_inputs()
    with with_references(ASSIGNMENT, ConditionalDiscriminator, {"one_hot": "gancourse.conditional.one_hot"}):
        for flag in (True, False):
            D = build(record, f"minibatch_{flag}/build", ConditionalDiscriminator, n_classes=10, width=a4.D_WIDTH,
                      minibatch=flag)
            if D is not None:
                a4.traced(record, f"minibatch_{flag}", D.eval(), x, labels)


def probe_train_cgan(record: Record, train_cgan, fix=None, ConditionalDiscriminator=None) -> None:  # noqa: N803
    record.fact("fix", fix if isinstance(fix, str) else repr(fix))
    if fix == "minibatch":
        if ConditionalDiscriminator is None:
            record.fact("minibatch/missing", True)
        else:
            probe_minibatch(record, ConditionalDiscriminator)
    referee_run(record, train_cgan, fix)
    if not record.raised("referee"):
        budget_run(record, train_cgan, fix)


# --- part 2: evaluate ------------------------------------------------------------------------------------

EVALUATE_CASES = ({"shift": 0, "n_per_class": 30, "seed": 0}, {"shift": 1, "n_per_class": 20, "seed": 3})


def evaluation_data() -> tuple[torch.Tensor, torch.Tensor]:
    """A bank of 60 held-out digits per class (10, 60, 1, 28, 28), and 600 held-out real images (which ones,
    and in which order, depends on the salt: see :func:`~autograder.probes.salted`)."""
    from gancourse.data import load_mnist_embedded, split_held_out

    _, (x, y) = split_held_out(*load_mnist_embedded())
    order = torch.randperm(len(y), generator=salted_generator(47))
    x, y = x[order], y[order]
    return torch.stack([x[y == c][:60] for c in range(10)]), x[400:]


def evaluation_images(bank: torch.Tensor, shift: int, z: torch.Tensor, labels: torch.Tensor, training: bool,
                      scale: torch.Tensor | float = 1.0) -> torch.Tensor:
    """What :class:`EvaluationGenerator` draws: in eval mode a held-out digit of class (label + shift), picked
    and brightened by z; in training mode each image minus the batch mean, doubled (as with BatchNorm, the
    batch matters there), which no classifier reads as digits."""
    k = (z[:, 0].detach().abs() * 997).long().cpu() % bank.shape[1]
    images = bank[(labels.long().cpu() + shift) % 10, k].to(z.device)
    images = images + 0.15 * torch.tanh(z[:, 1:2, None, None]) * scale
    if training:
        images = 2 * (images - images.mean(dim=0, keepdim=True))
    return images.clamp(-1, 1)


class EvaluationGenerator(nn.Module):
    """A fixed 'generator' for judging evaluate: it records every batch it is asked for and returns."""

    def __init__(self, bank: torch.Tensor, shift: int) -> None:
        super().__init__()
        self.bank, self.shift, self.latent_dim, self.n_classes = bank, shift, 6, 10
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[dict[str, torch.Tensor]] = []

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out = evaluation_images(self.bank, self.shift, z, labels, self.training, self.scale)
        self.calls.append({"z": z.detach().cpu().clone(), "labels": labels.detach().cpu().clone(),
                           "images": out.detach().cpu().clone()})
        return out


def probe_evaluate(record: Record, evaluate) -> None:
    bank, real = evaluation_data()
    for i, case in enumerate(EVALUATE_CASES):
        G = EvaluationGenerator(bank, case["shift"])
        result = record.call(f"evaluate/{i}", evaluate, G, case["n_per_class"], real.clone(), seed=case["seed"])
        if record.raised(f"evaluate/{i}"):
            return
        record.fact(f"evaluate/{i}/calls", len(G.calls))
        for k, call in enumerate(G.calls[:100]):
            for key, value in call.items():
                record.array(f"evaluate/{i}/G{k}/{key}", value)
        if not isinstance(result, dict):
            record.fact(f"evaluate/{i}/result", {"type": type(result).__name__})
            continue
        facts: dict = {"type": "dict", "keys": sorted(str(k) for k in result)}
        fid = result.get("fid")
        if isinstance(fid, torch.Tensor) and fid.numel() == 1:
            fid = fid.item()
        elif isinstance(fid, (np.ndarray, np.generic)) and np.size(fid) == 1:
            fid = fid.item()
        facts["fid"] = float(fid) if isinstance(fid, (int, float)) else type(fid).__name__
        accuracy = result.get("per_class_accuracy")
        if isinstance(accuracy, torch.Tensor):
            accuracy = accuracy.tolist()
        try:
            facts["per_class_accuracy"] = [float(a) for a in accuracy]
        except (TypeError, ValueError):
            facts["per_class_accuracy"] = type(accuracy).__name__
        record.fact(f"evaluate/{i}/result", facts)


# --- part 3: interpolate_within_class --------------------------------------------------------------------

PATH_CASES = ({"digit": 3, "steps": 8, "seed": 11}, {"digit": 8, "steps": 5, "seed": 12})
PATH_LATENT = 6


def path_weights() -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed weights of :class:`PathGenerator`: z (6) -> 784 pixels, and one pixel offset per label."""
    gen = salted_generator(53)
    return torch.randn(PATH_LATENT, 784, generator=gen) * 0.5, torch.randn(10, 784, generator=gen) * 0.5


def path_images(z: torch.Tensor, labels: torch.Tensor, training: bool) -> torch.Tensor:
    """What :class:`PathGenerator` draws: tanh(z W + b[label]) in eval mode; in training mode each image minus
    the batch mean, doubled (as with BatchNorm, the batch matters there)."""
    weight, offsets = path_weights()
    images = torch.tanh(z.double() @ weight.double() + offsets.double()[labels.long().cpu()]).view(-1, 1, 28, 28)
    if training:
        images = 2 * (images - images.mean(dim=0, keepdim=True))
    return images.float()


class CallLog(list):
    """The calls a :class:`PathGenerator` saw. A copy of the generator (``copy.deepcopy(G).eval()``, a fair way
    to draw without touching the caller's G) records into the same log."""

    def __deepcopy__(self, memo) -> CallLog:
        return self


class PathGenerator(nn.Module):
    """A fixed 'generator' for judging interpolate_within_class: it records every call and returns. It draws
    in eval mode only when every one of its modules is in eval mode, as a network with BatchNorm inside does."""

    def __init__(self) -> None:
        super().__init__()
        self.latent_dim, self.n_classes = PATH_LATENT, 10
        self.scale = nn.Parameter(torch.ones(()))
        self.norm = nn.BatchNorm1d(1)  # never applied; its mode is what G.eval() must reach
        self.calls = CallLog()

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"G takes latent vectors of shape (N, {self.latent_dim}); got shape {tuple(z.shape)}")
        if labels.dim() != 1 or len(labels) != len(z):
            raise ValueError(f"G takes one class index per latent vector, labels of shape ({len(z)},); got shape "
                             f"{tuple(labels.shape)}")
        if z.dtype != self.scale.dtype:
            raise TypeError(f"G's weights are {self.scale.dtype} but the latent vectors are {z.dtype}: make them "
                            f"{self.scale.dtype}")
        training = any(module.training for module in self.modules())
        out = path_images(z.detach().cpu(), labels.detach().cpu(), training).to(z.device) * self.scale
        self.calls.append({"z": z.detach().cpu().clone(), "labels": labels.detach().cpu().clone(),
                           "training": torch.tensor(training)})
        return out


def path_ends(case: dict) -> tuple[torch.Tensor, torch.Tensor]:
    gen = salted_generator(case["seed"])
    return torch.randn(PATH_LATENT, generator=gen), torch.randn(PATH_LATENT, generator=gen)


def probe_interpolate_within_class(record: Record, interpolate_within_class) -> None:
    for i, case in enumerate(PATH_CASES):
        G = PathGenerator().train()
        z_start, z_end = path_ends(case)
        result = record.call(f"path/{i}", interpolate_within_class, G, case["digit"], z_start.clone(),
                             z_end.clone(), steps=case["steps"])
        if record.raised(f"path/{i}"):
            return
        record.fact(f"path/{i}/calls", len(G.calls))
        for k, call in enumerate(G.calls[:50]):
            for key, value in call.items():
                record.array(f"path/{i}/G{k}/{key}", value)
        if isinstance(result, torch.Tensor):
            record.array(f"path/{i}/result", result.detach().cpu().float())
            record.fact(f"path/{i}/requires_grad", bool(result.requires_grad))
        else:
            record.fact(f"path/{i}/result_type", type(result).__name__)
