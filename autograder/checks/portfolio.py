"""Hidden checks for the portfolio (after chapter 4): a conditional DCGAN with one mode-collapse fix.

Every part is judged on its own, by behaviour:

* ``one_hot`` against ``numpy.eye``;
* ``ConditionalGenerator`` and ``ConditionalDiscriminator`` on freshly built small instances: shapes,
  range, the label changing the output of its own sample only, BatchNorm statistics at G's output,
  the order in which D's layers run, gradients reaching every parameter;
* ``train_cgan`` twice, on the grader's own networks (so a mistake in parts 2-3 costs nothing here):
  a short run with instrumented networks that referee every step (what D saw, which labels, the
  gradients of the loss with respect to D's logits, the order of the optimizer steps, replayed
  fakes), then a run under the fixed grading budget whose generator must reach the FID and
  per-class accuracy thresholds of ``autograder/reference/portfolio.json``;
* ``evaluate`` against the grader's own float64 computation on the images a fixed generator drew.

The grader's networks and its reference training loop (:func:`reference_train_cgan`) live here too:
``scripts/reference.py`` trains them under the grading budget over several seeds to set the thresholds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import conditional as lib_conditional
from gancourse import fixes as lib_fixes
from gancourse import nets as lib_nets
from gancourse import train as lib_train

from . import assert_close, fail, library_functions, library_switched_off, refuse_borrowed, run_check, to_numpy

LIBRARY = library_functions(
    lib_conditional.one_hot, lib_conditional.ConditionalGenerator, lib_conditional.ConditionalDiscriminator,
    lib_conditional.cgan_step, lib_conditional.train_conditional, lib_nets.DCGANGenerator,
    lib_nets.DCGANDiscriminator, lib_fixes.ReplayBuffer, lib_fixes.MinibatchDiscrimination,
    lib_fixes.MinibatchStdDev, lib_train.alternating_step, lib_train.train_gan,
)

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
THRESHOLDS_FILE = REFERENCE_DIR / "portfolio.json"
HELD_OUT_FILE = REFERENCE_DIR / "portfolio_held_out_stats.npz"

# The grading budget: the hidden test trains the grader's small cGAN with the student's train_cgan
# for exactly this long, on one CPU thread; scripts/reference.py measures the reference under it.
BUDGET = {"latent_dim": 32, "width": 16, "steps": 250, "batch_size": 64, "lr": 2e-3, "seed": 7}
EVAL = {"n_per_class": 50, "z_seed": 2024}
FIXES = ("replay", "minibatch")


# --- the grader's own networks and training loop ----------------------------------------------------

class GraderGenerator(nn.Module):
    """A small conditional DCGAN generator: [z, one-hot] -> 7x7 -> 14x14 -> 28x28, tanh output."""

    def __init__(self, latent_dim: int = 32, n_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.latent_dim, self.n_classes = latent_dim, n_classes
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim + n_classes, 2 * width, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        code = torch.cat([z, F.one_hot(labels.long(), self.n_classes).to(z.dtype)], dim=1)
        return self.net(code[:, :, None, None])


class _GraderMinibatchFeatures(nn.Module):
    """Salimans et al.'s minibatch discrimination: B closeness features per sample, summed over the batch."""

    def __init__(self, in_features: int, kernels: int = 8, kernel_dim: int = 8) -> None:
        super().__init__()
        self.T = nn.Parameter(0.1 * torch.randn(in_features, kernels * kernel_dim))
        self.kernels, self.kernel_dim = kernels, kernel_dim

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        rows = (h @ self.T).view(len(h), self.kernels, self.kernel_dim)
        l1 = (rows.unsqueeze(0) - rows.unsqueeze(1)).abs().sum(-1)  # (N, N, B)
        return torch.cat([h, torch.exp(-l1).sum(1) - 1.0], dim=1)


class GraderDiscriminator(nn.Module):
    """A small projection discriminator (Miyato & Koyama): two strided convs on the image, then
    logit = w . h + <embed(y), h>. The label enters through the projection, which learns the classes
    much faster than label planes; that keeps the grading budget short."""

    def __init__(self, n_classes: int = 10, width: int = 16, minibatch: bool = False) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(),
        )
        features = 2 * width * 7 * 7
        self.minibatch = _GraderMinibatchFeatures(features) if minibatch else None
        self.embed = nn.Embedding(n_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.logit = nn.Linear(features + (8 if minibatch else 0), 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        projection = (self.embed(labels.long()) * h).sum(1)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.logit(h).squeeze(1) + projection


def reference_train_cgan(G, D, images, labels, steps, batch_size=64, fix="replay", seed=0, device="cpu",
                         lr=2e-3) -> dict[str, list[float]]:
    """The grader's reference cGAN loop: non-saturating loss, Adam(lr, (0.5, 0.999)), one fix.

    ``fix="replay"`` shows D half old fakes (with the labels they were drawn with) from a store of the
    last 20 fake batches; ``fix="minibatch"`` expects D to carry its minibatch layer already.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    G.to(device).train()
    D.to(device).train()
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    images, labels = images.to(device), labels.to(device)
    old_x: list[torch.Tensor] = []
    old_y: list[torch.Tensor] = []
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        idx = torch.randint(len(labels), (batch_size,), generator=gen).to(device)
        real, real_y = images[idx], labels[idx]
        fake_y = torch.randint(10, (batch_size,), generator=gen).to(device)
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.latent_dim, generator=gen).to(device), fake_y)
        shown, shown_y = fake, fake_y
        if fix == "replay":
            if old_x:
                pool_x, pool_y = torch.cat(old_x), torch.cat(old_y)
                pick = torch.randint(len(pool_y), (batch_size // 2,), generator=gen).to(device)
                shown = torch.cat([pool_x[pick], fake[batch_size // 2:]])
                shown_y = torch.cat([pool_y[pick], fake_y[batch_size // 2:]])
            old_x, old_y = (old_x + [fake])[-20:], (old_y + [fake_y])[-20:]
        d_loss = F.softplus(-D(real, real_y)).mean() + F.softplus(D(shown, shown_y)).mean()
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_y = torch.randint(10, (batch_size,), generator=gen).to(device)
        g_loss = F.softplus(-D(G(torch.randn(batch_size, G.latent_dim, generator=gen).to(device), g_y), g_y)).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
    return history


# --- independent evaluation: course-classifier features, float64 Fréchet distance ---------------------

_CLASSIFIER = None


def _classifier():
    global _CLASSIFIER
    if _CLASSIFIER is None:
        from gancourse.classifier import load_course_classifier
        _CLASSIFIER = load_course_classifier("cpu")
    return _CLASSIFIER


@torch.no_grad()
def _features_and_predictions(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    net = _classifier().eval()
    feats, preds = [], []
    for i in range(0, len(images), 500):
        h = net.features(images[i:i + 500].detach().to("cpu", torch.float32))
        feats.append(h)
        preds.append(net.head(h).argmax(1))
    return to_numpy(torch.cat(feats)), torch.cat(preds).numpy()


def _stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _frechet(mu1, s1, mu2, s2) -> float:
    root = scipy.linalg.sqrtm(s1 @ s2)
    root = root[0] if isinstance(root, tuple) else root
    if not np.isfinite(root).all():
        eye = 1e-6 * np.eye(len(mu1))
        root = scipy.linalg.sqrtm((s1 + eye) @ (s2 + eye))
        root = root[0] if isinstance(root, tuple) else root
    root = np.real(root)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(root))


def _class_accuracy(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([float((predictions[labels == c] == c).mean()) for c in range(10)])


def held_out_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the course classifier's features on the held-out embedded digits (committed)."""
    with np.load(HELD_OUT_FILE) as data:
        return data["mu"], data["sigma"]


def thresholds() -> dict:
    return json.loads(THRESHOLDS_FILE.read_text())


@torch.no_grad()
def grading_scores(G: nn.Module) -> dict:
    """FID against the held-out statistics and per-class accuracy of 50 samples per class (fixed z)."""
    G.eval().to("cpu")
    labels = torch.arange(10).repeat_interleave(EVAL["n_per_class"])
    z = torch.randn(len(labels), G.latent_dim, generator=torch.Generator().manual_seed(EVAL["z_seed"]))
    feats, preds = _features_and_predictions(G(z, labels))
    acc = _class_accuracy(preds, labels.numpy())
    return {"fid": _frechet(*_stats(feats), *held_out_statistics()), "per_class_accuracy": acc.tolist(),
            "mean_accuracy": float(acc.mean())}


def training_data() -> tuple[torch.Tensor, torch.Tensor]:
    from gancourse.data import load_mnist_embedded, split_held_out
    (train_x, train_y), _ = split_held_out(*load_mnist_embedded())
    return train_x, train_y


def budget_nets(fix: str, seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    G = GraderGenerator(BUDGET["latent_dim"], 10, BUDGET["width"])
    D = GraderDiscriminator(10, BUDGET["width"], minibatch=fix == "minibatch")
    return G, D


def budget_run(train_fn, fix: str, seed: int = BUDGET["seed"], device: str = "cpu") -> dict:
    """Train the grader's cGAN with ``train_fn`` under the grading budget and score it."""
    G, D = budget_nets(fix, seed)
    images, labels = training_data()
    start = time.perf_counter()
    history = train_fn(G, D, images, labels, steps=BUDGET["steps"], batch_size=BUDGET["batch_size"], fix=fix,
                       seed=seed, device=device, lr=BUDGET["lr"])
    seconds = time.perf_counter() - start
    return {**grading_scores(G), "seconds": seconds, "history": history}


# --- part 1: one_hot --------------------------------------------------------------------------------

def check_one_hot(one_hot) -> None:
    def check():
        refuse_borrowed(one_hot, "one_hot", LIBRARY)
        gen = torch.Generator().manual_seed(1)
        cases = [(torch.randint(10, (7,), generator=gen), None), (torch.arange(10), None),
                 (torch.tensor([3]), None), (torch.randint(4, (9,), generator=gen).int(), 4),
                 (torch.randint(10, (64,), generator=gen), 10)]
        for labels, n in cases:
            with library_switched_off(LIBRARY):
                out = one_hot(labels) if n is None else one_hot(labels, n_classes=n)
            classes = 10 if n is None else n
            where = f"for labels {labels.tolist()[:6]}{'...' if len(labels) > 6 else ''} (n_classes={classes})"
            if not isinstance(out, torch.Tensor):
                fail(f"one_hot must return a torch tensor, got {type(out).__name__}.")
            if not out.is_floating_point():
                fail(f"one_hot must return floats (the networks multiply it with weights), got {out.dtype}.")
            assert_close(out, np.eye(classes)[labels.numpy()], f"one_hot {where}", rtol=0, atol=0)
    run_check("one_hot", check)


# --- shared helpers for the network checks ------------------------------------------------------------

def _build(cls, name: str, **kwargs) -> nn.Module:
    with library_switched_off(LIBRARY):
        net = cls(**kwargs)
    if not isinstance(net, nn.Module):
        fail(f"{name}(...) must build a torch.nn.Module, got {type(net).__name__}.")
    return net


def _call(net, *args):
    with library_switched_off(LIBRARY):
        return net(*args)


def _all_params_get_gradients(net: nn.Module, name: str) -> None:
    missing = [n for n, p in net.named_parameters() if p.grad is None or not bool((p.grad != 0).any())]
    if missing:
        fail(f"after a backward pass through {name}, these parameters got no gradient: {missing[:5]} "
             "(is every layer used in forward, and nothing detached?).")


def _labels(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(10, (n,), generator=gen)


# --- part 2: the conditional generator ------------------------------------------------------------------

def check_conditional_generator(ConditionalGenerator) -> None:
    def check():
        refuse_borrowed(ConditionalGenerator, "ConditionalGenerator", LIBRARY)
        gen = torch.Generator().manual_seed(2)
        G = _build(ConditionalGenerator, "ConditionalGenerator", latent_dim=12, n_classes=10, width=8)
        if getattr(G, "latent_dim", None) != 12:
            fail("ConditionalGenerator must store its latent size as `self.latent_dim` (evaluate and "
                 "train_cgan use it to sample z).")
        n_small = sum(p.numel() for p in G.parameters())
        G16 = _build(ConditionalGenerator, "ConditionalGenerator", latent_dim=12, n_classes=10, width=16)
        if sum(p.numel() for p in G16.parameters()) <= n_small:
            fail("ConditionalGenerator(width=16) has no more parameters than width=8: use `width` for the "
                 "number of channels.")
        G.train()
        z, y = torch.randn(16, 12, generator=gen), _labels(16, gen)
        out = _call(G, z, y)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (16, 1, 28, 28):
            fail(f"G(z, labels) for 16 samples must give images of shape (16, 1, 28, 28), got "
                 f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}.")
        if not torch.isfinite(out).all() or out.abs().max() > 1:
            fail("G's images must lie in [-1, 1] (the range of the data): end with tanh.")
        # BatchNorm at the output: the pre-tanh values of a batch would be standardised exactly.
        pre = torch.atanh(out.detach().double().clamp(-1 + 1e-7, 1 - 1e-7))
        if abs(float(pre.mean())) < 1e-3 and abs(float(pre.std()) - 1.0) < 2e-2:
            fail("in training mode the values entering G's output activation have batch mean 0 and standard "
                 "deviation 1 exactly: BatchNorm sits at the output layer, which the DCGAN guidelines forbid.")
        # Gradients reach every parameter and z.
        zg = z.clone().requires_grad_(True)
        G.zero_grad()
        (_call(G, zg, y) * torch.randn(16, 1, 28, 28, generator=gen)).sum().backward()
        _all_params_get_gradients(G, "G")
        if zg.grad is None or not bool((zg.grad != 0).any()):
            fail("no gradient reaches z through G.")
        # tanh output: with very large z (eval mode), the output saturates towards both -1 and +1.
        G.eval()
        with torch.no_grad():
            big = _call(G, 60.0 * torch.randn(32, 12, generator=gen), _labels(32, gen))
        if big.abs().max() > 1 + 1e-6 or big.min() > -0.5 or big.max() < 0.5:
            fail(f"for very large z, G's outputs range over [{float(big.min()):.3g}, {float(big.max()):.3g}]; "
                 "a tanh output saturates towards both -1 and 1: end G with tanh.")
        # The label controls each sample's image, and only that sample's.
        with torch.no_grad():
            z, y = torch.randn(10, 12, generator=gen), torch.arange(10)
            base = _call(G, z, y)
            changed = _call(G, z, (y + 3) % 10)
            flip = y.clone()
            flip[4] = (flip[4] + 5) % 10
            one = _call(G, z, flip)
        per_sample = (changed - base).abs().flatten(1).amax(1)
        if bool((per_sample < 1e-5).any()):
            fail("with the same z, changing the label did not change G's image (for label(s) "
                 f"{torch.arange(10)[per_sample < 1e-5].tolist()}): G must use the label.")
        others = torch.cat([(one - base)[:4], (one - base)[5:]]).abs().max()
        if float((one - base)[4].abs().max()) < 1e-5 or float(others) > 1e-5:
            fail("in eval mode, changing the label of sample 4 must change sample 4's image and no other one "
                 "(each sample's label must reach its own image).")
    run_check("ConditionalGenerator", check)


# --- part 3: the conditional discriminator ---------------------------------------------------------------

def _layer_order(net: nn.Module, *args) -> list[nn.Module]:
    calls: list[nn.Module] = []
    handles = [m.register_forward_hook(lambda mod, i, o: calls.append(mod)) for m in net.modules()
               if not list(m.children())]
    try:
        _call(net, *args)
    finally:
        for h in handles:
            h.remove()
    return calls


def _logits(out, n: int, name: str = "D(x, labels)") -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        fail(f"{name} must return a tensor of logits, got {type(out).__name__}.")
    if tuple(out.shape) != (n,):
        fail(f"{name} for {n} images must return one logit per image, shape ({n},), got {tuple(out.shape)} "
             "(squeeze the last dimension; no sigmoid).")
    return out


def check_conditional_discriminator(ConditionalDiscriminator) -> None:
    def check():
        refuse_borrowed(ConditionalDiscriminator, "ConditionalDiscriminator", LIBRARY)
        gen = torch.Generator().manual_seed(3)
        D = _build(ConditionalDiscriminator, "ConditionalDiscriminator", n_classes=10, width=8)
        D.train()
        x, y = 2 * torch.rand(12, 1, 28, 28, generator=gen) - 1, _labels(12, gen)
        xg = x.clone().requires_grad_(True)
        out = _logits(_call(D, xg, y), 12)
        if not torch.isfinite(out).all():
            fail("D returned inf or nan on images in [-1, 1].")
        (out * torch.randn(12, generator=gen)).sum().backward()
        _all_params_get_gradients(D, "D")
        if xg.grad is None or not bool((xg.grad != 0).any()):
            fail("no gradient reaches the input images through D (G could not learn from it).")
        # No BatchNorm on the input layer: no normalisation may run before D's second convolution.
        order = _layer_order(D, x, y)
        convs = [i for i, m in enumerate(order) if isinstance(m, nn.Conv2d)]
        norms = [i for i, m in enumerate(order) if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not convs:
            fail("D applies no nn.Conv2d: use strided convolutions.")
        if norms and (len(convs) < 2 or norms[0] < convs[1]):
            fail("D applies BatchNorm to the input layer (before its second convolution); the DCGAN "
                 "guidelines leave the first layer of D without BatchNorm.")
        # The label reaches each sample's logit, and only that sample's (eval mode: no batch statistics).
        D.eval()
        with torch.no_grad():
            base = _call(D, x, y)
            flipped = y.clone()
            flipped[5] = (flipped[5] + 4) % 10
            one = _call(D, x, flipped)
            every = _call(D, x, (y + 1) % 10)
        if float((one - base)[5].abs()) < 1e-6:
            fail("changing the label of image 5 did not change D's logit for it: the label must reach D.")
        if float(torch.cat([(one - base)[:5], (one - base)[6:]]).abs().max()) > 1e-5:
            fail("in eval mode, changing the label of image 5 changed the logits of other images: each label "
                 "must be joined to its own image.")
        if bool(((every - base).abs() < 1e-6).any()):
            fail("for some images, a different label gives exactly the same logit: D must use the label.")
    run_check("ConditionalDiscriminator", check)


# --- part 4: train_cgan -------------------------------------------------------------------------------------

_REAL, _FAKE = 0.75, -0.75  # the tag pixel that tells the referee where an image came from


class _Referee:
    """Instrumented tiny networks that record every call, every logit gradient and every optimizer step."""

    def __init__(self, n_real: int = 64) -> None:
        gen = torch.Generator().manual_seed(40)
        self.events: list[tuple] = []
        self.g_calls: list[torch.Tensor] = []  # labels of each G call
        self.failure: str | None = None
        self.G = _TaggedGenerator(self)
        self.D = _RecordingDiscriminator(self)
        images = 2 * torch.rand(n_real, 1, 28, 28, generator=gen) - 1
        images[:, 0, 0, 0] = _REAL
        images[:, 0, 0, 1] = (torch.arange(n_real) + 1) / 1000
        self.images, self.labels = images, _labels(n_real, gen)
        self.g_params = {id(p) for p in self.G.parameters()}
        self.d_params = {id(p) for p in self.D.parameters()}

    def step_hook(self, optimizer, args, kwargs) -> None:
        ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if ids <= self.g_params:
            self.events.append(("step", "G"))
        elif ids <= self.d_params:
            since = self.events[max((i for i, e in enumerate(self.events) if e[0] == "step"), default=-1) + 1:]
            if any(e[0] == "G_backward" for e in since):  # stop at once: later steps may fail for this reason
                fail("in D's step, D's loss sent gradients into G: detach the fakes (or make them under "
                     "torch.no_grad()) before D judges them.")
            self.events.append(("step", "D"))
        elif ids & (self.g_params | self.d_params):
            self.events.append(("step", "both"))


def _tag_rows(x: torch.Tensor) -> list[tuple]:
    """(kind, index, row) per image: ('real', i, None) or ('fake', call, row), read from the tag pixels."""
    corner = x.detach().to("cpu", torch.float64)[:, 0, 0, :3]
    rows = []
    for a, b, c in corner.tolist():
        if abs(a - _REAL) < 1e-4:
            rows.append(("real", round(b * 1000) - 1, None))
        elif abs(a - _FAKE) < 1e-4:
            rows.append(("fake", round(b * 1000) - 1, round(c * 1000)))
        else:
            rows.append(("unknown", None, None))
    return rows


class _TaggedGenerator(nn.Module):
    def __init__(self, referee: _Referee) -> None:
        super().__init__()
        self.latent_dim, self.n_classes = 8, 10
        self.lin = nn.Linear(18, 784)
        self._referee = [referee]  # a list, so that it is not registered as a submodule

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ref = self._referee[0]
        call = len(ref.g_calls)
        ref.g_calls.append(labels.detach().cpu().long().clone())
        ref.events.append(("G", call))
        out = torch.tanh(self.lin(torch.cat([z, F.one_hot(labels.long(), 10).to(z.dtype)], 1))).view(-1, 1, 28, 28)
        mask = torch.ones_like(out)
        mask[:, 0, 0, :3] = 0
        tag = torch.zeros_like(out)
        tag[:, 0, 0, 0] = _FAKE
        tag[:, 0, 0, 1] = (call + 1) / 1000
        tag[:, 0, 0, 2] = torch.arange(len(out), dtype=out.dtype) / 1000
        out = out * mask + tag
        if out.requires_grad:
            out.register_hook(lambda grad, call=call: ref.events.append(("G_backward", call)))
        return out


class _RecordingDiscriminator(nn.Module):
    def __init__(self, referee: _Referee) -> None:
        super().__init__()
        self.n_classes = 10
        self.lin = nn.Linear(794, 1)
        self._referee = [referee]

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ref = self._referee[0]
        rows = _tag_rows(x)
        logits = self.lin(torch.cat([x.flatten(1), F.one_hot(labels.long(), 10).to(x.dtype)], 1)).squeeze(1)
        record = {"rows": rows, "labels": labels.detach().cpu().long().clone(), "logits": logits.detach().clone(),
                  "grad": None, "newest_g": len(ref.g_calls) - 1}
        ref.events.append(("D", record))
        if logits.requires_grad:
            def keep(grad, record=record):
                record["grad"] = grad.detach().clone() if record["grad"] is None else record["grad"] + grad
                ref.events.append(("D_backward", record))
            logits.register_hook(keep)
        return logits


def _phases(events: list[tuple]) -> list[tuple[str, list[tuple]]]:
    """Split the event log at optimizer steps: [(which net stepped, events since the previous step)]."""
    phases, current = [], []
    for event in events:
        if event[0] == "step":
            phases.append((event[1], current))
            current = []
        else:
            current.append(event)
    return phases


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -t))


def _referee_run(train_cgan, fix: str, steps: int = 6, batch_size: int = 8) -> None:
    from torch.optim.optimizer import register_optimizer_step_post_hook

    ref = _Referee()
    handle = register_optimizer_step_post_hook(ref.step_hook)
    try:
        with library_switched_off(LIBRARY):
            history = train_cgan(ref.G, ref.D, ref.images, ref.labels, steps=steps, batch_size=batch_size, fix=fix,
                                 seed=5, device="cpu", lr=1e-3)
    finally:
        handle.remove()
    phases = _phases(ref.events)
    order = "".join(which[0] for which, _ in phases)
    if "b" in order:
        fail("one optimizer updates both G and D; use one Adam optimizer per network.")
    if order != "DG" * steps:
        fail(f"with steps={steps}, the optimizer steps ran in the order {order or '(none)'} (D = discriminator, "
             f"G = generator); each step must update D once and then G once.")
    d_expect, g_expect, replayed = [], [], False
    for t, (which, events) in enumerate(phases):
        records = [e[1] for e in events if e[0] == "D" and e[1]["grad"] is not None]
        if which == "D":
            if any(e[0] == "G_backward" for e in events):
                fail(f"in training step {t // 2 + 1}, D's loss sent gradients into G: detach the fakes "
                     "(or make them under torch.no_grad()) in D's step.")
            real_r, real_g, fake_r, fake_g = [], [], [], []
            for rec in records:
                for i, (kind, idx, row) in enumerate(rec["rows"]):
                    label = int(rec["labels"][i])
                    if kind == "real":
                        if label != int(ref.labels[idx]):
                            fail("D was shown a real image with a label that is not its own label.")
                        real_r.append(float(rec["logits"][i]))
                        real_g.append(float(rec["grad"][i]))
                    elif kind == "fake":
                        if label != int(ref.g_calls[idx][row]):
                            fail("D was shown a fake image with a label other than the one G drew it for "
                                 "(with replay, keep each old fake's label with it).")
                        if idx < rec["newest_g"]:
                            replayed = True
                        fake_r.append(float(rec["logits"][i]))
                        fake_g.append(float(rec["grad"][i]))
                    else:
                        fail("D was shown images that are neither the real images given nor G's outputs.")
            if not real_r or not fake_r:
                fail(f"in training step {t // 2 + 1}, D's loss did not use both real images and fakes.")
            r, f = np.array(real_r), np.array(fake_r)
            expected = np.concatenate([-(1 - _sigmoid(r)) / r.size, _sigmoid(f) / f.size])
            got = np.concatenate([real_g, fake_g])
            if np.max(np.abs(got - expected)) > 1e-5 + 1e-3 * np.max(np.abs(expected)):
                swapped = np.concatenate([_sigmoid(r) / r.size, -(1 - _sigmoid(f)) / f.size])
                hint = (" It matches the loss with real and fake labels swapped." if
                        np.max(np.abs(got - swapped)) <= 1e-5 + 1e-3 * np.max(np.abs(swapped)) else "")
                fail(f"in training step {t // 2 + 1}, the gradient of D's loss with respect to D's logits is not "
                     "that of mean(-log D(x|y)) + mean(-log(1 - D(G(z|y')|y'))) (label 1 for real, 0 for fake)."
                     + hint)
            d_expect.append(float(np.logaddexp(0, -r).mean() + np.logaddexp(0, f).mean()))
        else:
            if not any(e[0] == "G_backward" for e in events):
                fail(f"in training step {t // 2 + 1}, G's update got no gradient through its images.")
            logits, grads = [], []
            for rec in records:
                if any(kind != "fake" for kind, _, _ in rec["rows"]):
                    fail("in G's step, D must only judge freshly generated fakes.")
                logits += rec["logits"].tolist()
                grads += rec["grad"].tolist()
            f = np.array(logits)
            if not f.size:
                fail(f"in training step {t // 2 + 1}, G's loss did not go through D's logits.")
            expected = -(1 - _sigmoid(f)) / f.size
            if np.max(np.abs(np.array(grads) - expected)) > 1e-5 + 1e-3 * np.max(np.abs(expected)):
                fail(f"in training step {t // 2 + 1}, the gradient of G's loss with respect to D's logits is not that "
                     "of the non-saturating loss mean(-log D(G(z|y)|y)).")
            g_expect.append(float(np.logaddexp(0, -f).mean()))
    if fix == "replay" and not replayed:
        fail(f"with fix='replay', D never saw a fake from an earlier step in {steps} steps: the replay "
             "buffer must return old fakes.")
    if not isinstance(history, dict) or not {"d_loss", "g_loss"} <= set(history):
        fail("train_cgan must return a dict with the lists 'd_loss' and 'g_loss'.")
    for key, expect in (("d_loss", d_expect), ("g_loss", g_expect)):
        values = history[key]
        if len(values) != steps or any(isinstance(v, torch.Tensor) for v in values):
            fail(f"history['{key}'] must hold {steps} Python floats (one per step, use .item()).")
        assert_close([float(v) for v in values], expect, f"history['{key}']", rtol=1e-4, atol=1e-5)


def _minibatch_layer_works(ConditionalDiscriminator) -> None:
    if ConditionalDiscriminator is None:
        fail("with FIX = 'minibatch', ConditionalDiscriminator(minibatch=True) must be defined.")
    gen = torch.Generator().manual_seed(8)
    x, y = 2 * torch.rand(6, 1, 28, 28, generator=gen) - 1, _labels(6, gen)
    other = x.clone()
    other[3:] = 2 * torch.rand(3, 1, 28, 28, generator=gen) - 1
    for flag in (True, False):
        D = _build(ConditionalDiscriminator, "ConditionalDiscriminator", n_classes=10, width=8, minibatch=flag)
        D.eval()
        with torch.no_grad():
            moved = float((_logits(_call(D, x, y), 6) - _call(D, other, y))[:3].abs().max())
        if flag and moved < 1e-6:
            fail("with minibatch=True, D's logit for one image (in eval mode) does not depend on the other images "
                 "of the batch: the minibatch-discrimination layer is missing or unused.")
        if not flag and moved > 1e-5:
            fail("with minibatch=False, D's logit for one image (in eval mode) depends on the other images.")


def check_train_cgan(train_cgan, fix: str = "replay", ConditionalDiscriminator=None) -> None:
    def check():
        refuse_borrowed(train_cgan, "train_cgan", LIBRARY)
        if fix not in FIXES:
            fail(f"FIX must be 'replay' or 'minibatch', got {fix!r}.")
        if fix == "minibatch":
            _minibatch_layer_works(ConditionalDiscriminator)
        _referee_run(train_cgan, fix)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with library_switched_off(LIBRARY):
                result = budget_run(train_cgan, fix)
        finally:
            torch.set_num_threads(threads)
        limits = thresholds()["thresholds"]
        fid, acc = result["fid"], result["mean_accuracy"]
        if not np.isfinite(fid) or fid > limits["fid_max"]:
            fail(f"after the grading budget ({BUDGET['steps']} steps), the generator's course-classifier FID is "
                 f"{fid:.1f}, above the threshold {limits['fid_max']:.1f} set from the reference solution.")
        if acc < limits["mean_accuracy_min"]:
            fail(f"after the grading budget, the course classifier recognises the intended digit in {acc:.0%} of "
                 f"the samples, below the threshold {limits['mean_accuracy_min']:.0%} (is the label used?).")
    run_check("train_cgan", check)


# --- part 5: evaluate ------------------------------------------------------------------------------------------

class _BankGenerator(nn.Module):
    """A fixed 'generator' that draws real held-out digits of class (label + shift), lightly perturbed by z."""

    def __init__(self, bank: torch.Tensor, shift: int = 0, latent_dim: int = 6) -> None:
        super().__init__()
        self.bank, self.shift, self.latent_dim, self.n_classes = bank, shift, latent_dim, 10
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        k = (z[:, 0].abs() * 997).long() % self.bank.shape[1]
        cls = (labels.long().cpu() + self.shift) % 10
        images = self.bank[cls, k.cpu()].to(z.device)
        out = (images + 0.15 * torch.tanh(z[:, 1:2, None, None]) * self.scale).clamp(-1, 1)
        self.calls.append((out.detach().cpu(), labels.detach().cpu().long()))
        return out


def _real_bank() -> tuple[torch.Tensor, torch.Tensor]:
    from gancourse.data import load_mnist_embedded, split_held_out
    _, (x, y) = split_held_out(*load_mnist_embedded())
    bank = torch.stack([x[y == c][:60] for c in range(10)])  # (10, 60, 1, 28, 28)
    return bank, x[400:]


def check_evaluate(evaluate) -> None:
    def check():
        refuse_borrowed(evaluate, "evaluate", LIBRARY)
        bank, real = _real_bank()
        for shift, n_per_class, seed in ((0, 30, 0), (1, 20, 3)):
            G = _BankGenerator(bank, shift)
            with library_switched_off(LIBRARY):
                result = evaluate(G, n_per_class, real, seed=seed)
            if not G.calls:
                fail("evaluate did not call G.")
            images = torch.cat([c[0] for c in G.calls])
            labels = torch.cat([c[1] for c in G.calls])
            counts = torch.bincount(labels, minlength=10).tolist()
            if counts != [n_per_class] * 10:
                fail(f"with n_per_class={n_per_class}, G was asked for these numbers of each digit: {counts}; "
                     "ask for exactly n_per_class of every class.")
            if not isinstance(result, dict) or not {"fid", "per_class_accuracy"} <= set(result):
                fail("evaluate must return a dict with the keys 'fid' and 'per_class_accuracy'.")
            fake_f, preds = _features_and_predictions(images)
            real_f, _ = _features_and_predictions(real)
            where = f"for a fixed generator, n_per_class={n_per_class}"
            assert_close(float(result["fid"]), _frechet(*_stats(real_f), *_stats(fake_f)),
                         f"the FID {where}", rtol=1e-3, atol=1e-3)
            acc = result["per_class_accuracy"]
            if isinstance(acc, torch.Tensor):
                acc = acc.tolist()
            assert_close(np.asarray(acc, dtype=np.float64), _class_accuracy(preds, labels.numpy()),
                         f"the per-class accuracy (class 0 to 9) {where}", rtol=1e-6, atol=1e-6)
    run_check("evaluate", check)
