"""Hidden checks for assignment 3 (chapter 3): a DCGAN for 28x28 digits, its init, and latent paths.

The networks are judged by what they do: output shapes and ranges, saturation of the output, the
order in which operations run on a batch (recorded with a torch function mode, so ``nn.Module``
layers and functional calls count alike), per-sample independence in eval mode, and gradients.
Initialisation is judged by the statistics of large layers, and the two latent paths against
float64 NumPy formulas written here. Nothing calls the course library's implementations.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from gancourse import latent as lib_latent
from gancourse import nets as lib_nets

from . import assert_close, fail, library_functions, library_switched_off, refuse_borrowed, run_check, to_numpy

LIBRARY = library_functions(lib_nets.DCGANGenerator, lib_nets.DCGANDiscriminator, lib_nets.dcgan_weights_init,
                            lib_latent.lerp, lib_latent.slerp)

# Small widths keep the hidden checks fast; the defaults are only built once, to test the signature.
SMALL = 8
WEIGHTED = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear",
            "matmul", "mm", "bmm", "addmm", "einsum", "__matmul__"}
CONVOLUTIONS = {"conv2d", "conv_transpose2d"}


# --- watching a forward pass --------------------------------------------------------------------

class _Trace(TorchFunctionMode):
    """Records the name of every torch operation a forward pass runs, and the strides of 2-D convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.conv_strides: list[int] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        self.names.append(name)
        if name == "conv2d":
            stride = args[3] if len(args) > 3 else kwargs.get("stride", 1)
            self.conv_strides.append(max(stride) if isinstance(stride, (tuple, list)) else int(stride))
        return func(*args, **kwargs)


def _traced(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, _Trace]:
    with _Trace() as trace:
        out = net(x)
    return out, trace


def _build(cls, what: str, **kwargs) -> nn.Module:
    with library_switched_off(LIBRARY):
        net = cls(**kwargs)
    if not isinstance(net, nn.Module):
        fail(f"{what}({', '.join(f'{k}={v}' for k, v in kwargs.items())}) must build a torch.nn.Module, "
             f"got {type(net).__name__}.")
    return net


def _run(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with library_switched_off(LIBRARY):
        out = net(x)
    if not isinstance(out, torch.Tensor):
        fail(f"the forward pass must return a tensor, got {type(out).__name__}.")
    return out


def _defaults(cls, expected: dict[str, int], what: str) -> None:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    for name, value in expected.items():
        if name not in params or params[name].default != value:
            fail(f"the constructor must be {what}({', '.join(f'{k}={v}' for k, v in expected.items())}): "
                 f"the argument `{name}` with default {value} is missing.")


def _every_parameter_learns(net: nn.Module, loss: torch.Tensor, what: str) -> None:
    params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    if not params:
        fail(f"{what} has no trainable parameters (register layers as attributes of the module).")
    grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
    for (name, _), grad in zip(params, grads):
        if grad is None or not bool(torch.isfinite(grad).all()) or float(grad.abs().max()) == 0.0:
            fail(f"no gradient reaches {what}'s parameter `{name}`: every layer must be used in forward().")


def _large_weights(net: nn.Module, gen: torch.Generator) -> nn.Module:
    """The same network with every parameter redrawn from N(0, 1), in eval mode: its last layer
    then sees huge inputs, so an output nonlinearity shows its range (tanh: both -1 and +1)."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return net.eval()


def _width_is_used(cls, what: str, **kwargs) -> None:
    sizes = [sum(p.numel() for p in _build(cls, what, width=w, **kwargs).parameters()) for w in (SMALL, 2 * SMALL)]
    if sizes[0] == sizes[1]:
        fail(f"{what}(width={SMALL}) and {what}(width={2 * SMALL}) have the same number of parameters: "
             "`width` must set the number of channels.")


# --- part 1: the generator ----------------------------------------------------------------------

def _latent_batches(gen: torch.Generator, n: int, d: int) -> list[torch.Tensor]:
    """Latent batches with different shapes of distribution (normal, +-1, heavy-tailed)."""
    normal = torch.randn(n, d, generator=gen)
    signs = torch.randint(0, 2, (n, d), generator=gen).float() * 2 - 1
    return [normal, signs, torch.randn(n, d, generator=gen) ** 3]


def check_Generator(Generator) -> None:  # noqa: N802 - the part is named after the class
    def check():
        refuse_borrowed(Generator, "Generator", LIBRARY)
        _defaults(Generator, {"latent_dim": 100, "width": 64}, "Generator")
        gen = torch.Generator().manual_seed(31)
        d = 12
        G = _build(Generator, "Generator", latent_dim=d, width=SMALL)
        G.train()
        z = torch.randn(16, d, generator=gen, requires_grad=True)
        with library_switched_off(LIBRARY):
            out, trace = _traced(G, z)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (16, 1, 28, 28):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            fail(f"Generator(latent_dim={d}) on a batch of 16 latent vectors of shape (16, {d}) must return "
                 f"images of shape (16, 1, 28, 28), got {shape}.")
        if not bool(torch.isfinite(out).all()) or float(out.detach().abs().max()) > 1.0:
            fail(f"the generator's pixels must lie in [-1, 1] (the range of the data), got values from "
                 f"{float(out.detach().min()):.3f} to {float(out.detach().max()):.3f}: is tanh the output layer?")
        if not CONVOLUTIONS & set(trace.names):
            fail("the generator runs no convolution: upsample with transposed (fractionally-strided) convolutions.")
        if "batch_norm" not in trace.names:
            fail("the generator uses no BatchNorm; the DCGAN guidelines put it after every layer but the output.")
        last_weighted = max(i for i, n in enumerate(trace.names) if n in WEIGHTED)
        if "batch_norm" in trace.names[last_weighted:]:
            fail("BatchNorm is applied after the generator's last layer: the output must not be normalised "
                 "(guideline 2), or G cannot produce black backgrounds with a few bright strokes.")
        weights = torch.randn(16, 1, 28, 28, generator=gen)
        _every_parameter_learns(G, (out * weights).sum(), "the generator")
        (dz,) = torch.autograd.grad(_run(G, z).sum(), z)
        if float(dz.abs().max()) == 0.0:
            fail("the generator's output does not depend on z.")

        # BatchNorm at the output shows in train mode: each channel's pre-tanh batch mean is 0 for any input.
        means = []
        for zb in _latent_batches(gen, 32, d):
            with torch.no_grad():
                pre = torch.atanh(_run(G, zb).double().clamp(-1 + 1e-7, 1 - 1e-7))
            means.append(float(pre.mean(dim=(0, 2, 3)).abs().max() / (pre.std() + 1e-12)))
        if max(means) < 1e-3:
            fail("in training mode the generator's output has zero batch mean before the tanh whatever z is: "
                 "that is BatchNorm on the output layer, which the guidelines leave out.")

        # Eval mode: a batch of 1 works, and each image depends only on its own z.
        G.eval()
        zs = torch.randn(5, d, generator=gen)
        with torch.no_grad():
            batch = _run(G, zs)
            single = torch.cat([_run(G, zs[i:i + 1]) for i in range(5)])
        if tuple(single.shape) != (5, 1, 28, 28):
            fail(f"in eval mode a single latent vector of shape (1, {d}) must give one image (1, 1, 28, 28).")
        assert_close(single, batch, "in eval mode, images generated one at a time vs. in a batch", atol=1e-4)

        # tanh saturates: with large weights the pixels reach both -1 and +1, and never go beyond.
        with torch.no_grad():
            big = torch.cat([_run(_large_weights(_build(Generator, "Generator", latent_dim=d, width=SMALL), gen),
                                  torch.randn(8, d, generator=gen) * 10) for _ in range(3)])
        if not bool(torch.isfinite(big).all()) or float(big.abs().max()) > 1.0:
            fail("with large weights the generator's pixels leave [-1, 1] (up to "
                 f"{float(big.abs().max()):.3g}): end the generator with tanh.")
        if float(big.min()) > -0.99:
            fail(f"with large weights no pixel goes below {float(big.min()):.3f}: the output must reach -1 "
                 "(tanh, not sigmoid, whose range is [0, 1]).")
        if float(big.max()) < 0.99:
            fail(f"with large weights no pixel goes above {float(big.max()):.3f}: the output must be tanh.")

        _width_is_used(Generator, "Generator", latent_dim=d)
        default = _build(Generator, "Generator").eval()
        with torch.no_grad():
            shape = tuple(_run(default, torch.randn(2, 100, generator=gen)).shape)
        if shape != (2, 1, 28, 28):
            fail(f"Generator() with its defaults must map (2, 100) latent vectors to (2, 1, 28, 28), got {shape}.")
    run_check("Generator", check)


# --- part 2: the discriminator ------------------------------------------------------------------

def _logits(out: torch.Tensor, n: int) -> torch.Tensor:
    if tuple(out.shape) not in ((n,), (n, 1)):
        fail(f"on a batch of {n} images the discriminator must return one logit per image, shape ({n},) "
             f"or ({n}, 1), got {tuple(out.shape)}.")
    return out.reshape(n)


def check_Discriminator(Discriminator) -> None:  # noqa: N802
    def check():
        refuse_borrowed(Discriminator, "Discriminator", LIBRARY)
        _defaults(Discriminator, {"width": 64}, "Discriminator")
        gen = torch.Generator().manual_seed(32)
        D = _build(Discriminator, "Discriminator", width=SMALL)
        pools = sorted({type(m).__name__ for m in D.modules()
                        if any(c.__module__ == "torch.nn.modules.pooling" for c in type(m).__mro__)})
        if pools:
            fail(f"the discriminator contains pooling layers ({', '.join(pools)}); DCGAN downsamples with "
                 "strided convolutions instead (guideline 1).")
        D.train()
        x = (torch.rand(16, 1, 28, 28, generator=gen) * 2 - 1).requires_grad_(True)
        with library_switched_off(LIBRARY):
            out, trace = _traced(D, x)
        if not isinstance(out, torch.Tensor):
            fail(f"the discriminator must return a tensor of logits, got {type(out).__name__}.")
        logits = _logits(out, 16)
        if any("pool" in name for name in trace.names):
            fail("the discriminator pools its feature maps; downsample with strided convolutions instead.")
        if not any(s >= 2 for s in trace.conv_strides):
            fail("the discriminator has no strided convolution (stride 2): that is how DCGAN downsamples.")
        first = next((n for n in trace.names if n in WEIGHTED or n == "batch_norm"), None)
        if first == "batch_norm":
            fail("the first layer applied to the image is BatchNorm: the guidelines leave D's input layer "
                 "unnormalised, so that D sees the real pixel values (e.g. black backgrounds).")
        if "batch_norm" not in trace.names:
            fail("the discriminator uses no BatchNorm; the guidelines put it after every layer but the input.")
        if not bool(torch.isfinite(logits).all()):
            fail("the discriminator returned inf or nan on images in [-1, 1].")
        _every_parameter_learns(D, (logits * torch.randn(16, generator=gen)).sum(), "the discriminator")
        (dx,) = torch.autograd.grad(_logits(_run(D, x), 16).sum(), x)
        if float(dx.abs().max()) == 0.0:
            fail("the discriminator's logits do not depend on the image.")

        D.eval()
        images = torch.rand(6, 1, 28, 28, generator=gen) * 2 - 1
        with torch.no_grad():
            batch = _logits(_run(D, images), 6)
            again = _logits(_run(D, images), 6)
            single = torch.cat([_logits(_run(D, images[i:i + 1]), 1) for i in range(6)])
            mixed = images.clone()
            mixed[1:] = torch.randn(5, 1, 28, 28, generator=gen)
            first_again = _logits(_run(D, mixed), 6)[0]
        assert_close(again, batch, "in eval mode, the same batch judged twice", atol=1e-5)
        assert_close(single, batch, "in eval mode, images judged one at a time vs. in a batch", atol=1e-4)
        assert_close(first_again, batch[0], "in eval mode, the logit of an image when the rest of the batch "
                     "changes", atol=1e-4)

        # Logits, not probabilities: with large weights the scores land far outside [0, 1].
        with torch.no_grad():
            scores = torch.cat([_logits(_run(_large_weights(_build(Discriminator, "Discriminator", width=SMALL),
                                                            gen), images), 6) for _ in range(2)])
        if bool(((scores >= 0) & (scores <= 1)).all()):
            fail("every score the discriminator returns lies in [0, 1], even with large weights: return the "
                 "raw logit (no sigmoid at the end); the losses apply the sigmoid themselves.")
        _width_is_used(Discriminator, "Discriminator")
        default = _build(Discriminator, "Discriminator").eval()
        with torch.no_grad():
            _logits(_run(default, images[:2]), 2)
    run_check("Discriminator", check)


# --- part 3: the DCGAN initialisation -----------------------------------------------------------

def _moments(values: torch.Tensor) -> tuple[float, float, float, int]:
    v = to_numpy(values).ravel()
    mean, std = float(v.mean()), float(v.std())
    kurtosis = float(((v - mean) ** 4).mean() / std ** 4 - 3) if std > 0 else math.nan
    return mean, std, kurtosis, v.size


def _looks_normal(values: torch.Tensor, mean: float, std: float, what: str) -> None:
    m, s, k, n = _moments(values)
    if not math.isfinite(s) or abs(s - std) > 0.05 * std:
        fail(f"{what}: expected standard deviation {std}, measured {s:.5f} over {n} values.")
    if abs(m - mean) > 6 * std / math.sqrt(n) + 1e-7:
        fail(f"{what}: expected mean {mean}, measured {m:.5f} over {n} values.")
    if abs(k) > 0.25:
        fail(f"{what}: the values are not normally distributed (excess kurtosis {k:.2f}, a normal has 0); "
             "draw them from N(mean, 0.02^2).")


def check_weights_init(weights_init) -> None:
    def check():
        refuse_borrowed(weights_init, "weights_init", LIBRARY)
        net = nn.Sequential(
            nn.Conv2d(64, 128, 5), nn.LeakyReLU(0.2),
            nn.Sequential(nn.ConvTranspose2d(128, 64, 5, bias=False), nn.ReLU()),
            nn.BatchNorm2d(20000), nn.BatchNorm1d(20000),
            nn.Linear(8, 8), nn.Dropout(0.3), nn.Flatten(), nn.Tanh(),
        )
        with torch.no_grad():
            for p in net.parameters():  # values no correct init leaves in place
                p.fill_(0.5)
        with library_switched_off(LIBRARY):
            net.apply(weights_init)
        conv, convt, bn2, bn1 = net[0], net[2][0], net[3], net[4]
        _looks_normal(conv.weight, 0.0, 0.02, "Conv2d weights after net.apply(weights_init)")
        _looks_normal(convt.weight, 0.0, 0.02, "ConvTranspose2d weights after net.apply(weights_init)")
        for name, bn in (("BatchNorm2d", bn2), ("BatchNorm1d", bn1)):
            _looks_normal(bn.weight, 1.0, 0.02, f"{name} weights (scales) after net.apply(weights_init)")
            if float(bn.bias.detach().abs().max()) > 1e-7:
                fail(f"{name} biases after net.apply(weights_init) must be 0, got values up to "
                     f"{float(bn.bias.detach().abs().max()):.3f}.")
        if not all(bool(torch.isfinite(p).all()) for p in net.parameters()):
            fail("weights_init left inf or nan in a layer.")
    run_check("weights_init", check)


# --- parts 4 and 5: latent paths ----------------------------------------------------------------

def _ref_lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (1 - t)[..., None] * z0 + t[..., None] * z1


def _ref_slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    cos = np.clip(z0 @ z1 / (np.linalg.norm(z0) * np.linalg.norm(z1)), -1.0, 1.0)
    omega = math.acos(cos)
    if omega < 1e-6:
        return _ref_lerp(z0, z1, t)
    return (np.sin((1 - t) * omega)[..., None] * z0 + np.sin(t * omega)[..., None] * z1) / math.sin(omega)


def _ref_normalised_lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    line = _ref_lerp(z0, z1, t)
    length = (1 - t) * np.linalg.norm(z0) + t * np.linalg.norm(z1)
    return line / np.linalg.norm(line, axis=-1, keepdims=True) * length[..., None]


def _pairs(gen: torch.Generator) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    wide = 150 * math.pi / 180
    return [
        ("two random 100-d vectors", torch.randn(100, generator=gen), torch.randn(100, generator=gen)),
        ("two 2-d vectors 150 degrees apart", torch.tensor([3.0, 0.0]),
         torch.tensor([3 * math.cos(wide), 3 * math.sin(wide)])),
        ("two 5-d vectors of different lengths", torch.randn(5, generator=gen) * 2, torch.randn(5, generator=gen)),
    ]


def _positions(gen: torch.Generator) -> list[tuple[str, object]]:
    return [("t=0.0", 0.0), ("t=1.0", 1.0), ("t=0.3", 0.3), ("t=torch.tensor(0.7)", torch.tensor(0.7)),
            ("t=torch.linspace(0, 1, 7)", torch.linspace(0, 1, 7)), ("t=torch.tensor([0.25])", torch.tensor([0.25])),
            ("t of 4 random values", torch.rand(4, generator=gen))]


def _path(fn, name: str, z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    with library_switched_off(LIBRARY):
        out = fn(z0.clone(), z1.clone(), t.clone() if isinstance(t, torch.Tensor) else t)
    if not isinstance(out, torch.Tensor):
        fail(f"{name} must return a tensor, got {type(out).__name__}.")
    return out


def _check_path(fn, name: str, reference) -> None:
    gen = torch.Generator().manual_seed(35)
    pairs = _pairs(gen)
    pairs += [(f"{where} (float64)", a.double(), b.double()) for where, a, b in pairs[:2]]
    for where, z0, z1 in pairs:
        for label, t in _positions(gen):
            out = _path(fn, name, z0, z1, t)
            tt = to_numpy(t)
            expected = reference(to_numpy(z0), to_numpy(z1), tt)
            what = f"{name}(z0, z1, {label}) for {where}"
            if out.shape != expected.shape:
                fail(f"{what}: expected shape {expected.shape} (a number t gives one vector, a 1-D tensor of T "
                     f"positions gives T rows), got {tuple(out.shape)}.")
            got = to_numpy(out)
            if np.all(np.isfinite(got)) and np.abs(got - expected).max() > 1e-4:
                swapped = reference(to_numpy(z1), to_numpy(z0), tt)
                if np.abs(got - swapped).max() <= 1e-4:
                    fail(f"{what}: z0 and z1 are swapped; t=0 must give z0 and t=1 must give z1.")
                if reference is _ref_slerp and np.abs(got - _ref_normalised_lerp(to_numpy(z0), to_numpy(z1), tt)
                                                      ).max() <= 1e-4:
                    fail(f"{what}: that is the straight line rescaled to a length between |z0| and |z1|, not the "
                         "great circle; its angle does not grow evenly with t. Use the slerp formula.")
            assert_close(out, expected, what, rtol=1e-4, atol=1e-4)


def check_lerp(lerp) -> None:
    def check():
        refuse_borrowed(lerp, "lerp", LIBRARY)
        _check_path(lerp, "lerp", _ref_lerp)
    run_check("lerp", check)


def check_slerp(slerp) -> None:
    def check():
        refuse_borrowed(slerp, "slerp", LIBRARY)
        _check_path(slerp, "slerp", _ref_slerp)
        gen = torch.Generator().manual_seed(36)
        z, axis, ones = torch.randn(100, generator=gen), torch.tensor([2.0, 0, 0, 0]), torch.ones(4)
        nudge = 1e-7 * torch.randn(100, generator=gen)
        for where, z0, z1 in (("z0 = z1 = (1, 1, 1, 1)", ones, ones.clone()),
                              ("z0 = (2, 0, 0, 0), z1 = (5, 0, 0, 0)", axis, 2.5 * axis),
                              ("z1 = 2.5 z0", z, 2.5 * z), ("z1 = z0 + 1e-7 noise", z, z + nudge)):
            for label, t in (("t=0.4", 0.4), ("t=torch.linspace(0, 1, 5)", torch.linspace(0, 1, 5))):
                out = _path(slerp, "slerp", z0, z1, t)
                expected = _ref_lerp(to_numpy(z0), to_numpy(z1), to_numpy(t))
                if not np.all(np.isfinite(to_numpy(out))):
                    fail(f"slerp(z0, z1, {label}) with {where} returned nan or inf: when the angle is (nearly) "
                         "0, sin(angle) = 0; return the straight line (lerp) there, the formula's limit.")
                assert_close(out, expected, f"slerp(z0, z1, {label}) with {where} (parallel vectors)",
                             rtol=1e-4, atol=1e-4)
    run_check("slerp", check)
