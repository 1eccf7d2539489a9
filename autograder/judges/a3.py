"""Judges of assignment 3 (chapter 3): a DCGAN for 28x28 digits, its initialisation, and two latent paths.

The networks are rerun from their traces: output shapes and ranges, where BatchNorm acts (in the
order of operations and in what the output does), LeakyReLU's slope, strided convolutions instead of
pooling, gradients, eval-mode behaviour, saturation with large weights. The initialisation is judged
on the statistics of large layers, and the paths against float64 formulas written here.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from autograder.judges import answer, assert_close, built, fail, signature_is, to_numpy
from autograder.judges.graph import Graph
from autograder.judges.networks import (
    batch_independent,
    batch_norm_after_last_layer,
    dense_layers,
    depends_on_input,
    downsamples_with_strided_convolutions,
    every_parameter_learns,
    first_layer_is_batch_norm,
    gradients_flow,
    is_batch_norm,
    large_weights,
    leaky_slopes,
    parameter_count,
    random_state,
    upsamples_with_transposed_convolutions,
)
from autograder.probes.a3 import (
    G_WIDTH,
    LATENT,
    discriminator_eval_inputs,
    generator_eval_inputs,
    init_target,
    path_cases,
)
from autograder.probes.record import Record, salted_generator

G_SIGNATURE = {"latent_dim": "100", "width": "256"}


def _as_list(inputs: tuple[torch.Tensor, torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
    return [inputs[0]], inputs[1]

D_SIGNATURE = {"dropout": "0.3", "in_channels": "1", "width": "64"}


# --- part 1: the generator -----------------------------------------------------------------------------

def _latents(gen: torch.Generator, n: int) -> list[torch.Tensor]:
    """Latent batches of different distributions: normal, +-1, heavy-tailed."""
    return [torch.randn(n, LATENT, generator=gen),
            torch.randint(0, 2, (n, LATENT), generator=gen).float() * 2 - 1,
            torch.randn(n, LATENT, generator=gen) ** 3]


def judge_DCGANGenerator(record: Record) -> None:  # noqa: N802 - the part's name
    signature_is(record, G_SIGNATURE, "DCGANGenerator")
    built(record, "build", f"DCGANGenerator(latent_dim={LATENT}, width={G_WIDTH})")
    gen = salted_generator(31)
    train = Graph(record, "train")
    z = torch.randn(16, LATENT, generator=gen)
    with torch.no_grad():
        out = train(z)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (16, 1, 28, 28):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"DCGANGenerator(latent_dim={LATENT}) on 16 latent vectors of shape (16, {LATENT}) must return images "
             f"of shape (16, 1, 28, 28), got {shape}.")
    if not bool(torch.isfinite(out).all()) or float(out.abs().max()) > 1.0:
        fail(f"the generator's pixels must lie in [-1, 1] (the range of the data), got values from "
             f"{float(out.min()):.3f} to {float(out.max()):.3f}: is tanh the output layer?")
    ops = train.operations
    upsamples_with_transposed_convolutions(train, "the generator")
    if dense_layers(train) > 1:
        fail(f"the generator runs {dense_layers(train)} dense (linear) layers: the projection of z is the only "
             "place for one; the rest is transposed convolutions.")
    if not any(is_batch_norm(op) for op in ops):
        fail("the generator uses no BatchNorm; the DCGAN guidelines put it after every layer but the output.")
    if batch_norm_after_last_layer(train):
        fail("BatchNorm is applied after the generator's last layer: the output must not be normalised "
             "(guideline 2), or G cannot produce black backgrounds with a few bright strokes.")
    every_parameter_learns(train, [z], "the generator", gen)
    depends_on_input(train, [z], 0, "the generator")

    # BatchNorm at the output shows in train mode: each channel's pre-tanh batch mean is 0 for any input.
    means = []
    for batch in _latents(gen, 32)[:1] + [b[:16] for b in _latents(gen, 16)]:
        with torch.no_grad():
            pre = torch.atanh(train(batch[:16]).double().clamp(-1 + 1e-7, 1 - 1e-7))
        means.append(float(pre.mean(dim=(0, 2, 3)).abs().max() / (pre.std() + 1e-12)))
    # a normalised output's mean is 0 up to round-off (about 1e-8); an honest one's is a draw of size about
    # 0.03 whatever z is (BatchNorm before the last layer fixes it), under 1e-5 once in thousands of weights
    if max(means) < 1e-5:
        fail("in training mode the generator's output has zero batch mean before the tanh whatever z is: "
             "that is BatchNorm on the output layer, which the guidelines leave out.")

    # Eval mode: a batch of 1 works, and each image depends only on its own z.
    eval5, eval1 = Graph(record, "eval5"), Graph(record, "eval1")
    gradients_flow(record, eval5, *_as_list(generator_eval_inputs()), "the generator", "z")
    zs = torch.randn(5, LATENT, generator=gen)
    with torch.no_grad():
        single = eval1(zs[:1])
    if not isinstance(single, torch.Tensor) or tuple(single.shape) != (1, 1, 28, 28):
        fail(f"in eval mode a single latent vector of shape (1, {LATENT}) must give one image (1, 1, 28, 28).")
    batch_independent(eval5, eval1, [zs], "the generator's images")

    # tanh saturates: with large weights the pixels reach both -1 and +1, and never go beyond.
    with torch.no_grad():
        big = torch.cat([eval5(torch.randn(5, LATENT, generator=gen) * 10, state=large_weights(eval5, gen))
                         for _ in range(3)])
    if not bool(torch.isfinite(big).all()) or float(big.abs().max()) > 1.0:
        fail(f"with large weights the generator's pixels leave [-1, 1] (up to {float(big.abs().max()):.3g}): end "
             "the generator with tanh.")
    if float(big.min()) > -0.99:
        fail(f"with large weights no pixel goes below {float(big.min()):.3f}: the output must reach -1 "
             "(tanh, not sigmoid, whose range is [0, 1]).")
    if float(big.max()) < 0.99:
        fail(f"with large weights no pixel goes above {float(big.max()):.3f}: the output must be tanh.")

    built(record, "build_wide", f"DCGANGenerator(latent_dim={LATENT}, width={2 * G_WIDTH})")
    if parameter_count(Graph(record, "wide")) == parameter_count(train):
        fail(f"DCGANGenerator(width={G_WIDTH}) and DCGANGenerator(width={2 * G_WIDTH}) have the same number of "
             "parameters: `width` must set the number of channels.")
    built(record, "build_default", "DCGANGenerator()")
    default = Graph(record, "default")
    with torch.no_grad():
        shape = tuple(default(torch.randn(2, 100, generator=gen), state=random_state(default, gen)).shape)
    if shape != (2, 1, 28, 28):
        fail(f"DCGANGenerator() with its defaults must map (2, 100) latent vectors to (2, 1, 28, 28), got {shape}.")


# --- part 2: the discriminator -------------------------------------------------------------------------

def _logits(out, n: int, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        fail(f"{what}: on a batch of {n} images the discriminator must return one logit per image, shape ({n},), "
             f"got {shape} (for a batch of one, `.squeeze()` gives shape (): use `.squeeze(1)` or `.view(-1)`).")
    return out


def judge_DCGANDiscriminator(record: Record) -> None:  # noqa: N802
    signature_is(record, D_SIGNATURE, "DCGANDiscriminator")
    built(record, "build", "DCGANDiscriminator(width=8)")
    gen = salted_generator(32)
    train = Graph(record, "train")
    downsamples_with_strided_convolutions(train, "the discriminator")
    if dense_layers(train) > 1:
        fail(f"the discriminator runs {dense_layers(train)} dense (linear) layers: only the final one, which "
             "gives the logit, is a linear layer; the rest is strided convolutions.")
    if first_layer_is_batch_norm(train):
        fail("the first layer applied to the image is BatchNorm: the guidelines leave D's input layer "
             "unnormalised, so that D sees the real pixel values (e.g. black backgrounds).")
    if not any(is_batch_norm(op) for op in train.operations):
        fail("the discriminator uses no BatchNorm; the guidelines put it after every layer but the input.")
    if any(op in ("relu", "relu_") for op in train.operations):
        fail("the discriminator uses ReLU; the guidelines use LeakyReLU (slope 0.2) in D, so that gradients also "
             "flow for negative inputs.")
    slopes = leaky_slopes(train)
    if not slopes:
        fail("the discriminator has no LeakyReLU; put LeakyReLU(0.2) after each convolution.")
    if any(abs(s - 0.2) > 1e-6 for s in slopes):
        fail(f"LeakyReLU slopes {sorted(set(round(s, 4) for s in slopes))} in the discriminator: the DCGAN paper "
             "uses 0.2 (nn.LeakyReLU() alone has slope 0.01).")
    x = torch.rand(16, 1, 28, 28, generator=gen) * 2 - 1
    with torch.no_grad():
        logits = _logits(train(x), 16, "in training mode")
    if not bool(torch.isfinite(logits).all()):
        fail("the discriminator returned inf or nan on images in [-1, 1].")
    every_parameter_learns(train, [x], "the discriminator", gen)
    depends_on_input(train, [x], 0, "the discriminator")

    eval6, eval1 = Graph(record, "eval6"), Graph(record, "eval1")
    gradients_flow(record, eval6, *_as_list(discriminator_eval_inputs()), "the discriminator", "the image")
    images = torch.rand(6, 1, 28, 28, generator=gen) * 2 - 1
    with torch.no_grad():
        batch = _logits(eval6(images), 6, "in eval mode")
        again = eval6(images)
        _logits(eval1(images[:1]), 1, "in eval mode")
        mixed = images.clone()
        mixed[1:] = torch.randn(5, 1, 28, 28, generator=gen)
        first_again = eval6(mixed)[0]
    assert_close(again, batch, "in eval mode, the same batch judged twice", atol=1e-5)
    batch_independent(eval6, eval1, [images], "the discriminator's logits")
    assert_close(first_again, batch[0], "in eval mode, the logit of an image when the rest of the batch changes",
                 atol=1e-4)
    with torch.no_grad():  # logits, not probabilities: with large weights the scores land far outside [0, 1]
        scores = torch.cat([eval6(images, state=large_weights(eval6, gen)) for _ in range(2)])
    if bool(((scores >= 0) & (scores <= 1)).all()):
        fail("every score the discriminator returns lies in [0, 1], even with large weights: return the raw "
             "logit (no sigmoid at the end); the losses apply the sigmoid themselves.")

    built(record, "build_wide", "DCGANDiscriminator(width=16)")
    if parameter_count(Graph(record, "wide")) == parameter_count(train):
        fail("DCGANDiscriminator(width=8) and DCGANDiscriminator(width=16) have the same number of parameters: "
             "`width` must set the number of channels.")
    for name, call, x_in in (("default", "DCGANDiscriminator()", images[:2]),
                             ("channels", "DCGANDiscriminator(in_channels=3, width=8)", torch.rand(2, 3, 28, 28))):
        built(record, f"build_{name}", call)
        graph = Graph(record, name)
        with torch.no_grad():
            _logits(graph(x_in, state=random_state(graph, gen)), 2, call)
    built(record, "build_no_dropout", "DCGANDiscriminator(dropout=0.0, width=8)")
    plain = Graph(record, "no_dropout")
    state = random_state(plain, gen)
    with torch.no_grad():
        # each call from the same state: a spectrally normalised D updates its own vectors as it runs
        assert_close(plain(images[:4], state={k: v.clone() for k, v in state.items()}),
                     plain(images[:4], state={k: v.clone() for k, v in state.items()}),
                     "DCGANDiscriminator(dropout=0.0) in training mode, the same images judged twice", atol=1e-5)
        runs = [train(x) for _ in range(2)]
    if float((runs[0] - runs[1]).abs().max()) == 0.0:
        fail("DCGANDiscriminator() (dropout 0.3) gives the same logits twice in training mode: the `dropout` "
             "argument must add dropout after the convolutions.")


# --- part 3: the DCGAN initialisation ------------------------------------------------------------------

# A correct initialisation fails these limits with a probability that tests/test_false_failure_rates.py works out
# for the smallest layer the probe initialises (about 20,000 values):
STD_TOLERANCE = 0.05  # relative error of the measured standard deviation
MEAN_Z = 6.0  # standard errors between the measured mean and the law's
KURTOSIS_LIMIT = 0.25  # |excess kurtosis|; a normal has 0, a uniform -1.2


def _looks_normal(values: torch.Tensor, mean: float, std: float, what: str) -> None:
    v = to_numpy(values).ravel()
    m, s = float(v.mean()), float(v.std())
    if not math.isfinite(s) or abs(s - std) > STD_TOLERANCE * std:
        fail(f"{what}: expected standard deviation {std}, measured {s:.5f} over {v.size} values.")
    if abs(m - mean) > MEAN_Z * std / math.sqrt(v.size) + 1e-7:
        fail(f"{what}: expected mean {mean}, measured {m:.5f} over {v.size} values.")
    kurtosis = float(((v - m) ** 4).mean() / s ** 4 - 3)
    if abs(kurtosis) > KURTOSIS_LIMIT:
        fail(f"{what}: the values are not normally distributed (excess kurtosis {kurtosis:.2f}, a normal has 0); "
             "draw them from N(mean, 0.02^2).")


def judge_dcgan_weights_init(record: Record) -> None:
    error = record.raised("apply")
    if error:
        fail(f"net.apply(dcgan_weights_init) raised {error}")

    shapes = {name: tuple(value.shape) for name, value in init_target().state_dict().items()}

    def param(name: str) -> torch.Tensor:
        key = f"param/{name}"
        if not record.has(key):
            fail(f"the grader received no value for {name}.")
        if tuple(record.arrays[key].shape) != shapes[name]:
            fail(f"the grader received {name} of shape {tuple(record.arrays[key].shape)}, not that of its network's "
                 f"layer, {shapes[name]}.")
        return record.tensor(key)

    _looks_normal(param("0.weight"), 0.0, 0.02, "Conv2d weights after net.apply(dcgan_weights_init)")
    _looks_normal(param("2.0.weight"), 0.0, 0.02, "ConvTranspose2d weights after net.apply(dcgan_weights_init)")
    for index, name in (("3", "BatchNorm2d"), ("4", "BatchNorm1d")):
        _looks_normal(param(f"{index}.weight"), 1.0, 0.02,
                      f"{name} weights (scales) after net.apply(dcgan_weights_init)")
        bias = param(f"{index}.bias")
        if float(bias.abs().max()) > 1e-7:
            fail(f"{name} biases after net.apply(dcgan_weights_init) must be 0, got values up to "
                 f"{float(bias.abs().max()):.3f}.")
    if not all(bool(torch.isfinite(record.tensor(k).double()).all()) for k in record.arrays):
        fail("dcgan_weights_init left inf or nan in a layer.")
    first = to_numpy(param("0.weight")).ravel()
    order = float(np.corrcoef(first, np.arange(first.size))[0, 1])
    if abs(order) > 0.2:
        fail(f"the Conv2d weights after net.apply(dcgan_weights_init) grow (or shrink) with their position in the "
             f"tensor (correlation {order:.2f}): draw them at random from N(0, 0.02^2), e.g. with nn.init.normal_.")
    if record.raised("apply_again") or not record.has("again/0.weight"):
        fail(f"a second net.apply(dcgan_weights_init) raised {record.raised('apply_again') or 'an error'}.")
    if tuple(record.arrays["again/0.weight"].shape) != shapes["0.weight"]:
        fail("the grader received Conv2d weights of another shape after a second net.apply(dcgan_weights_init).")
    if np.allclose(to_numpy(record.tensor("again/0.weight")).ravel(), first):
        fail("two networks initialised by dcgan_weights_init got the very same Conv2d weights: the weights must be "
             "random draws from N(0, 0.02^2), new ones on every call (e.g. nn.init.normal_).")


# --- parts 4 and 5: latent paths -----------------------------------------------------------------------

def ref_lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    return (1 - t)[..., None] * z0 + t[..., None] * z1


def ref_slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    cos = np.clip(z0 @ z1 / (np.linalg.norm(z0) * np.linalg.norm(z1)), -1.0, 1.0)
    omega = math.acos(cos)
    if omega < 1e-6:
        return ref_lerp(z0, z1, t)
    return (np.sin((1 - t) * omega)[..., None] * z0 + np.sin(t * omega)[..., None] * z1) / math.sin(omega)


def _normalised_lerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    line = ref_lerp(z0, z1, t)
    length = (1 - t) * np.linalg.norm(z0) + t * np.linalg.norm(z1)
    return line / np.linalg.norm(line, axis=-1, keepdims=True) * length[..., None]


def _judge_path(record: Record, name: str, reference, parallel: bool) -> None:
    for key, where, z0, z1, t in path_cases():
        if key.startswith("parallel") and not parallel:
            continue
        what = f"{name}{where}"
        out = answer(record, key, what)
        z0n, z1n, tn = to_numpy(z0), to_numpy(z1), to_numpy(t)
        expected = reference(z0n, z1n, tn)
        if tuple(out.shape) != expected.shape:
            fail(f"{what}: expected shape {expected.shape} (a number t gives one vector, a 1-D tensor of T "
                 f"positions gives T rows), got {tuple(out.shape)}.")
        got = to_numpy(out)
        if key.startswith("parallel") and not np.all(np.isfinite(got)):
            fail(f"{what} returned nan or inf: when the angle is (nearly) 0, sin(angle) = 0; return the straight "
                 "line (lerp) there, the formula's limit.")
        if np.all(np.isfinite(got)) and np.abs(got - expected).max() > 1e-4:
            if np.abs(got - reference(z1n, z0n, tn)).max() <= 1e-4:
                fail(f"{what}: z0 and z1 are swapped; t=0 must give z0 and t=1 must give z1.")
            if reference is ref_slerp and np.abs(got - ref_lerp(z0n, z1n, tn)).max() <= 1e-4:
                fail(f"{what}: that is the straight line (lerp), not the great circle; fall back to the straight line "
                     "only where sin(angle) is (nearly) 0, and use the slerp formula everywhere else.")
            if reference is ref_slerp and np.abs(got - _normalised_lerp(z0n, z1n, tn)).max() <= 1e-4:
                fail(f"{what}: that is the straight line rescaled to a length between |z0| and |z1|, not the great "
                     "circle; its angle does not grow evenly with t. Use the slerp formula.")
        assert_close(out, expected, what, rtol=1e-4, atol=1e-4)


def judge_lerp(record: Record) -> None:
    _judge_path(record, "lerp", ref_lerp, parallel=False)


def judge_slerp(record: Record) -> None:
    _judge_path(record, "slerp", ref_slerp, parallel=True)
