"""Hidden checks for assignment 4 (chapter 4): one-hot labels, a conditional G and D, ACGAN's loss.

Nothing here calls the course library's implementation of a part. One-hot rows are compared with
rows of the identity matrix picked in NumPy; the ACGAN loss and its gradient with a float64 NumPy
log-softmax. The networks are judged by what the label does to them, which holds for any correct
design (an MLP or a DCGAN body, label planes, a learned embedding or a projection):

* with the same noise (or the same image), every class gives a different output;
* changing one sample's label changes that sample's output and no other (networks in eval mode);
* every parameter receives a gradient.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gancourse import conditional as lib_cond
from gancourse import nets as lib_nets

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

# The parts' own implementations in the library, and the library's networks: graded nets are built
# from torch.nn layers, so delegating to a library net (``self.inner = ...``) is refused as well.
LIBRARY_OBJECTS = [lib_cond.one_hot, lib_cond.ConditionalGenerator, lib_cond.ConditionalDiscriminator,
                   lib_cond.ACGANDiscriminator, lib_cond.acgan_auxiliary_loss, lib_nets.DCGANGenerator,
                   lib_nets.DCGANDiscriminator, lib_nets.MLPGenerator, lib_nets.MLPDiscriminator]
LIBRARY = library_functions(*LIBRARY_OBJECTS)

# Outputs that differ by more than DIFFERENT differ; by at most SAME, they are the same. A label
# that does not reach an output changes it by exactly 0 (the same arithmetic is repeated), and a
# label that does changes it by far more than 1e-7, even in a DCGAN with its N(0, 0.02) init.
DIFFERENT, SAME = 1e-7, 1e-6
# The grader builds small networks; these are the keyword arguments it passes.
G_CASES = ({"latent_dim": 8, "n_classes": 10, "hidden": 32}, {"latent_dim": 5, "n_classes": 3, "hidden": 32})
D_CASES = ({"n_classes": 10, "hidden": 16}, {"n_classes": 4, "hidden": 16})


def _signature(name: str, kwargs: dict) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


# --- part 1: one_hot ------------------------------------------------------------------------------

def _expected_one_hot(labels: torch.Tensor, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[labels.numpy()]


def _one_hot_cases(gen: torch.Generator) -> list[tuple[torch.Tensor, int | None]]:
    """(labels, n_classes) pairs; None means the default n_classes=10 is not passed."""
    return [
        (torch.randint(10, (7,), generator=gen), None),
        (torch.tensor([5, 0, 9]), 10),
        (torch.randint(3, (5,), generator=gen), 3),
        (torch.tensor([0, 0, 1]), 6),  # classes 2..5 never occur, the rows still have 6 entries
        (torch.tensor([4]), 5),  # one sample, the last class
        (torch.randint(12, (40,), generator=gen), 12),
    ]


def check_one_hot(one_hot) -> None:
    def check():
        if callable(one_hot) and (getattr(one_hot, "__module__", "") or "").startswith("torch"):
            # F.one_hot itself: say what is wrong with it here, not only that it is torch's.
            out = one_hot(torch.tensor([2, 0]), 3)
            if isinstance(out, torch.Tensor) and not out.is_floating_point():
                fail(f"one_hot returned {out.dtype} rows (that is what F.one_hot gives); the networks join the "
                     "rows to float tensors, so return float32 rows (convert with .float()).")
        refuse_borrowed(one_hot, "one_hot", LIBRARY_OBJECTS + LIBRARY)
        gen = torch.Generator().manual_seed(401)
        for labels, n_classes in _one_hot_cases(gen):
            given = labels.clone()
            with library_switched_off(LIBRARY):
                out = one_hot(labels) if n_classes is None else one_hot(labels, n_classes)
            n_classes = 10 if n_classes is None else n_classes
            where = f"for labels {labels.tolist()[:8]}{' ...' if len(labels) > 8 else ''} and n_classes={n_classes}"
            if not isinstance(out, torch.Tensor):
                fail(f"one_hot must return a torch tensor, got {type(out).__name__}.")
            if tuple(out.shape) != (len(labels), n_classes):
                fail(f"one_hot {where} returned shape {tuple(out.shape)}, expected ({len(labels)}, {n_classes}): "
                     "one row per label, one column per class (use n_classes, not the largest label present).")
            if out.dtype != torch.float32:
                fail(f"one_hot {where} returned {out.dtype} rows; the networks join them to float32 noise and "
                     "images, so return float32 (convert with .float()).")
            if out.device != labels.device:
                fail(f"one_hot returned a tensor on {out.device} for labels on {labels.device}.")
            if not torch.equal(labels, given):
                fail("one_hot changed the labels it was given; leave its input as it is.")
            expected = _expected_one_hot(labels, n_classes)
            if not (to_numpy(out) == expected).all():
                fail(f"one_hot {where}: expected rows {expected[:2].tolist()}..., "
                     f"got {to_numpy(out)[:2].tolist()}...")
        _check_one_hot_device(one_hot)
    run_check("one_hot", check)


def _check_one_hot_device(one_hot) -> None:
    """The rows must live where the labels live, so that the notebook runs unchanged on a GPU.

    Grading runs on the CPU, so PyTorch's 'meta' device stands in for a GPU: an answer that builds
    its rows on the CPU returns them there. An answer that cannot run on 'meta' at all (it reads
    label values in Python, say) is not judged by this check.
    """
    devices = [torch.device("meta")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        labels = torch.tensor([1, 0, 2], device=device)
        try:
            with library_switched_off(LIBRARY):
                out = one_hot(labels, 3)
        except Exception:  # noqa: BLE001 - only a result on the wrong device is judged here
            if device.type == "meta":
                continue
            raise
        if isinstance(out, torch.Tensor) and out.device != labels.device:
            stand_in = " ('meta' stands in for a GPU here)" if device.type == "meta" else ""
            fail(f"for labels on the {device.type} device{stand_in}, one_hot returned a tensor on {out.device}: "
                 "create your tensors with device=labels.device, so that the notebook also runs on a GPU.")


# --- shared by parts 2 and 3 --------------------------------------------------------------------

def _build(cls, name: str, kwargs: dict) -> nn.Module:
    call = _signature(name, kwargs)
    try:
        net = cls(**kwargs)
    except TypeError as err:
        fail(f"the grader builds your network as {call}, which raised TypeError: {err}. Keep the constructor's "
             "arguments as given.")
    if not isinstance(net, nn.Module):
        fail(f"{call} must build a torch.nn.Module (subclass nn.Module and call super().__init__()).")
    if not any(p.requires_grad for p in net.parameters()):
        fail(f"{call} has no trainable parameters.")
    return net


def _per_sample_change(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Largest absolute change of each sample's output, as float64."""
    diff = to_numpy(a) - to_numpy(b)
    return np.abs(diff.reshape(diff.shape[0], -1)).max(axis=1)


def _output(net, args, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    try:
        out = net(*args)
    except Exception as err:  # noqa: BLE001 - say which network and call failed
        fail(f"{what} raised {type(err).__name__}: {err}")
    if not isinstance(out, torch.Tensor):
        fail(f"{what} must return a torch tensor, got {type(out).__name__}.")
    if tuple(out.shape) != shape:
        fail(f"{what} returned shape {tuple(out.shape)}, expected {shape}.")
    if not out.is_floating_point():
        fail(f"{what} returned {out.dtype}, expected floating-point values.")
    if not bool(torch.isfinite(out).all()):
        fail(f"{what} returned inf or nan.")
    return out


def _check_deterministic(run, what: str) -> None:
    first, second = run(), run()
    if _per_sample_change(first, second).max() > SAME:
        fail(f"in eval mode {what} gave different results for the same inputs; the grader compares outputs, so "
             "draw any randomness outside forward (or only in training mode, like dropout).")


def _check_label_controls(run, n_classes: int, net: str, who: str, fixed: str) -> None:
    """``run(label)`` -> outputs for a fixed batch, all samples given that label; every pair must differ."""
    outputs = [run(c) for c in range(n_classes)]
    for a in range(n_classes):
        for b in range(a + 1, n_classes):
            change = _per_sample_change(outputs[a], outputs[b])
            if change.min() <= DIFFERENT:
                fail(f"with the same {fixed}, labels {a} and {b} gave the same {who} (largest difference "
                     f"{change.min():.2g}): the label does not reach {net}, or two classes are not told apart.")


def _check_per_sample(run, labels: torch.Tensor, n_classes: int, who: str, gen: torch.Generator) -> None:
    """Changing sample i's label must change output i and leave every other output as it was."""
    base = run(labels)
    for i in range(len(labels)):
        changed = labels.clone()
        changed[i] = (labels[i] + 1 + torch.randint(n_classes - 1, (), generator=gen)) % n_classes
        change = _per_sample_change(run(changed), base)
        if change[i] <= DIFFERENT:
            fail(f"changing only sample {i}'s label (from {int(labels[i])} to {int(changed[i])}) did not change "
                 f"{who} of sample {i}: each sample must get its own label (is the label taken from another "
                 "sample, or joined along the wrong axis?).")
        others = [j for j in range(len(labels)) if j != i and change[j] > SAME]
        if others:
            fail(f"changing only sample {i}'s label also changed {who} of sample(s) {others} (networks in eval "
                 "mode): each sample's output must depend on its own label only (is one label used for the "
                 "whole batch, are the labels reordered, or joined along the batch axis?).")


def _check_gradients(net: nn.Module, output: torch.Tensor, call: str, gen: torch.Generator) -> None:
    weights = torch.randn(output.shape, generator=gen)
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad((output * weights).sum(), [p for _, p in named], allow_unused=True)
    missing = [n for (n, _), g in zip(named, grads) if g is None]
    if missing:
        fail(f"no gradient reaches the parameter(s) {', '.join(missing[:4])} of {call} (in training mode, with "
             "every class in the batch): every layer must be used, and nothing detached, in forward.")
    broken = [n for (n, _), g in zip(named, grads) if not bool(torch.isfinite(g).all())]
    if broken:
        fail(f"the gradient of {call}'s parameter(s) {', '.join(broken[:4])} is not finite.")


# --- part 2: ConditionalGenerator ----------------------------------------------------------------

def check_conditional_generator(ConditionalGenerator) -> None:  # noqa: N803 - the student's class name
    def check():
        refuse_borrowed(ConditionalGenerator, "ConditionalGenerator", LIBRARY_OBJECTS + LIBRARY)
        gen = torch.Generator().manual_seed(402)
        for kwargs in G_CASES:
            with library_switched_off(LIBRARY):
                _check_generator(_build(ConditionalGenerator, "ConditionalGenerator", kwargs), kwargs, gen)
    run_check("ConditionalGenerator", check)


def _check_generator(G: nn.Module, kwargs: dict, gen: torch.Generator) -> None:
    latent_dim, n_classes = kwargs["latent_dim"], kwargs["n_classes"]
    call = _signature("ConditionalGenerator", kwargs)

    def noise(n: int) -> torch.Tensor:
        return torch.randn(n, latent_dim, generator=gen)

    def images(z: torch.Tensor, labels: torch.Tensor, what: str = "G(z, labels)") -> torch.Tensor:
        return _output(G, (z, labels), f"{what} of {call} for {len(z)} sample(s)", (len(z), 1, 28, 28))

    G.eval()
    with torch.no_grad():
        for n in (1, 7):
            images(noise(n), torch.randint(n_classes, (n,), generator=gen))
        z, labels = noise(6), torch.arange(6) % n_classes
        for scale in (1.0, 100.0):
            out = images(scale * z, labels)
            if float(out.abs().max()) > 1.0 + 1e-6:
                fail(f"{call} made pixels up to {float(out.abs().max()):.3g} in size for noise of scale {scale:g}; "
                     "the images must lie in [-1, 1] like the data (end the generator with tanh).")
        _check_deterministic(lambda: images(z, labels), "G(z, labels)")
        change = _per_sample_change(images(noise(6), labels), images(z, labels))
        if change.min() <= DIFFERENT:
            fail(f"{call} gave the same image for different noise vectors: z must reach the output.")
        fixed = noise(3)
        _check_label_controls(lambda c: images(fixed, torch.full((3,), c)), n_classes, "G", "image", "noise z")
        _check_per_sample(lambda y: images(z, y), torch.randint(n_classes, (6,), generator=gen), n_classes,
                          "the image", gen)
    G.train()
    batch = torch.arange(n_classes).repeat(2)
    _check_gradients(G, images(noise(len(batch)), batch, "G(z, labels) in training mode"), call, gen)


# --- part 3: ConditionalDiscriminator ------------------------------------------------------------

def check_conditional_discriminator(ConditionalDiscriminator) -> None:  # noqa: N803 - the student's class name
    def check():
        refuse_borrowed(ConditionalDiscriminator, "ConditionalDiscriminator", LIBRARY_OBJECTS + LIBRARY)
        gen = torch.Generator().manual_seed(403)
        for kwargs in D_CASES:
            with library_switched_off(LIBRARY):
                _check_discriminator(_build(ConditionalDiscriminator, "ConditionalDiscriminator", kwargs), kwargs,
                                     gen)
    run_check("ConditionalDiscriminator", check)


def _check_discriminator(D: nn.Module, kwargs: dict, gen: torch.Generator) -> None:
    n_classes = kwargs["n_classes"]
    call = _signature("ConditionalDiscriminator", kwargs)

    def pictures(n: int) -> torch.Tensor:
        return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1

    def logits(x: torch.Tensor, labels: torch.Tensor, what: str = "D(images, labels)") -> torch.Tensor:
        return _output(D, (x, labels), f"{what} of {call} for {len(x)} image(s) (one logit per image)",
                       (len(x),))

    D.eval()
    with torch.no_grad():
        for n in (1, 5):
            logits(pictures(n), torch.randint(n_classes, (n,), generator=gen))
        x, labels = pictures(6), torch.arange(6) % n_classes
        _check_deterministic(lambda: logits(x, labels), "D(images, labels)")
        change = _per_sample_change(logits(pictures(6), labels), logits(x, labels))
        if change.min() <= DIFFERENT:
            fail(f"{call} gave the same logit for different images: the image must reach the logit.")
        fixed = pictures(2)
        _check_label_controls(lambda c: logits(fixed, torch.full((2,), c)), n_classes, "D", "logit", "image")
        _check_per_sample(lambda y: logits(x, y), torch.randint(n_classes, (6,), generator=gen), n_classes,
                          "the logit", gen)
    D.train()
    batch = torch.arange(n_classes).repeat(2)
    _check_gradients(D, logits(pictures(len(batch)), batch, "D(images, labels) in training mode"), call, gen)


# --- part 4: the ACGAN auxiliary loss ------------------------------------------------------------

def _ref_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of -log softmax(logits)[i, y_i] and its gradient (softmax - one-hot) / N, in float64."""
    log_z = np.logaddexp.reduce(logits, axis=1, keepdims=True)
    log_p = logits - log_z
    n = len(labels)
    value = -log_p[np.arange(n), labels].mean()
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1.0
    return float(value), grad / n


def _loss_cases(gen: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    def random(n: int, c: int, scale: float):
        return torch.randn(n, c, generator=gen) * scale, torch.randint(c, (n,), generator=gen)

    sure = torch.full((4, 10), -100.0)
    sure[torch.arange(4), torch.tensor([3, 3, 7, 0])] = 100.0  # D is sure: right for two, wrong for two
    return [random(7, 10, 1.0), random(1, 3, 2.0), random(64, 10, 8.0), random(5, 4, 30.0),
            (sure, torch.tensor([3, 1, 7, 9])),
            (torch.tensor([[100.0, -100.0], [-100.0, 100.0], [0.0, 0.0]]), torch.tensor([1, 1, 0]))]


def check_acgan_auxiliary_loss(acgan_auxiliary_loss) -> None:
    def check():
        refuse_borrowed(acgan_auxiliary_loss, "acgan_auxiliary_loss", LIBRARY_OBJECTS + LIBRARY)
        for logits, labels in _loss_cases(torch.Generator().manual_seed(404)):
            where = f"for {logits.shape[0]} sample(s) and {logits.shape[1]} classes"
            inputs = logits.clone().requires_grad_(True)
            with library_switched_off(LIBRARY):
                out = acgan_auxiliary_loss(inputs, labels.clone())
            out = scalar_tensor(out, "acgan_auxiliary_loss")
            if not out.requires_grad:
                fail("the returned loss is not connected to the class logits (no gradient flows back); compute it "
                     "with torch operations on the logits.")
            (grad,) = torch.autograd.grad(out, [inputs], allow_unused=True)
            grad = torch.zeros_like(inputs) if grad is None else grad
            value, e_grad = _ref_cross_entropy(to_numpy(logits), labels.numpy())
            got, summed = float(to_numpy(out)), len(labels) * value
            is_sum = len(labels) > 1 and abs(got - summed) <= 1e-4 * abs(summed)
            if is_sum and abs(got - value) > 1e-4 * abs(value) + 1e-5:
                fail(f"acgan_auxiliary_loss {where}: expected {value:.5f}, got {got:.5f}, which is the sum over the "
                     "batch; return the mean.")
            assert_close(out, value, f"acgan_auxiliary_loss {where}")
            assert_close(grad, e_grad, f"gradient of acgan_auxiliary_loss w.r.t. the class logits {where}")
    run_check("acgan_auxiliary_loss", check)
