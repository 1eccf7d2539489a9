"""Judges of assignment 4 (chapter 4): one-hot labels, a conditional G and D, and ACGAN's auxiliary loss.

One-hot rows are compared with rows of the identity matrix, the loss and its gradient with a float64
log-softmax. The networks are rerun from their traces with the judge's own noise, images, labels and
weights, and judged by what the label *does*, which holds for any correct design (an MLP or a DCGAN
body, label planes, a learned embedding or a projection):

* every pair of classes gives a different output for the same noise (or the same image);
* in eval mode, changing one sample's label changes that sample's output and no other;
* every parameter receives a gradient; the output has the right shape and range; BatchNorm is not
  applied to G's output nor to D's input (chapter 3's guidelines).

:func:`judge_generator` and :func:`judge_discriminator` are the portfolio's network judges too; with
``dcgan=True`` they add the DCGAN guidelines the portfolio asks for.
"""

from __future__ import annotations

import numpy as np
import torch

from autograder.judges import answer, assert_close, built, fail, recorded_dtype, signature_is, to_numpy
from autograder.judges.graph import Graph
from autograder.judges.networks import (
    WEIGHTED,
    batch_independent,
    batch_norm_after_last_layer,
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
    traced_graph,
    upsamples_with_transposed_convolutions,
)
from autograder.probes.a4 import (
    BATCH,
    D_WIDTH,
    FEW_D_CLASSES,
    FEW_G_CLASSES,
    FEW_LATENT,
    G_WIDTH,
    LATENT,
    discriminator_eval_inputs,
    generator_eval_inputs,
    loss_cases,
    one_hot_cases,
)
from autograder.probes.record import Record, salted_generator

G_SIGNATURE = {"latent_dim": "100", "n_classes": "10", "width": "256"}
D_SIGNATURE = {"n_classes": "10", "width": "64"}
# A label that does not reach an output changes it by exactly 0 (the same arithmetic is repeated); one
# that does changes it by far more than 1e-7, even in a DCGAN with its N(0, 0.02) initialisation.
DIFFERENT, SAME = 1e-7, 1e-6


def batch_norm_after_first_layer(graph: Graph) -> bool:
    """BatchNorm between the first layer with weights and the second (on the input layer's output)."""
    ops = graph.operations
    weighted = [i for i, op in enumerate(ops) if op in WEIGHTED]
    end = weighted[1] if len(weighted) > 1 else len(ops)
    return bool(weighted) and any(is_batch_norm(op) for op in ops[weighted[0] + 1:end])


def per_sample_change(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Largest absolute change of each sample's output, as float64."""
    diff = to_numpy(a) - to_numpy(b)
    return np.abs(diff.reshape(diff.shape[0], -1)).max(axis=1)


def _output(out, shape: tuple[int, ...], what: str, hint: str = "") -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        fail(f"{what} must return a tensor, got {type(out).__name__}.")
    if tuple(out.shape) != shape:
        fail(f"{what} returned shape {tuple(out.shape)}, expected {shape}{hint}.")
    if not out.is_floating_point():
        fail(f"{what} returned {out.dtype}, expected floating-point values.")
    if not bool(torch.isfinite(out).all()):
        fail(f"{what} returned inf or nan.")
    return out


def label_controls(run, n_classes: int, batch: int, who: str, net: str, fixed: str) -> None:
    """``run(labels)`` -> outputs for ``batch`` copies of one input; with every sample given label c, for each
    class c in turn, the outputs of any two classes must differ."""
    out = [run(torch.full((batch,), c, dtype=torch.long))[:1] for c in range(n_classes)]
    for a in range(n_classes):
        for b in range(a + 1, n_classes):
            change = float(per_sample_change(out[a], out[b])[0])
            if change <= DIFFERENT:
                fail(f"with the same {fixed}, labels {a} and {b} gave the same {who} (largest difference "
                     f"{change:.2g}): the label does not reach {net}, or two classes are not told apart "
                     f"(with n_classes={n_classes}, every class needs its own input).")


def each_label_its_own(run, labels: torch.Tensor, n_classes: int, who: str, gen: torch.Generator) -> None:
    """In eval mode, changing sample i's label changes output i and leaves every other output as it was."""
    base = run(labels)
    for i in range(len(labels)):
        changed = labels.clone()
        changed[i] = (labels[i] + 1 + torch.randint(n_classes - 1, (), generator=gen)) % n_classes
        change = per_sample_change(run(changed), base)
        if change[i] <= DIFFERENT:
            fail(f"in eval mode, changing only sample {i}'s label (from {int(labels[i])} to {int(changed[i])}) did "
                 f"not change {who} of sample {i}: each sample must get its own label (is the label taken from "
                 "another sample, or joined along the wrong axis?).")
        others = [j for j in range(len(labels)) if j != i and change[j] > SAME]
        if others:
            fail(f"in eval mode, changing only sample {i}'s label also changed {who} of sample(s) {others}: each "
                 "sample's output must depend on its own label only (is one label used for the whole batch, are "
                 "the labels reordered, or joined along the batch axis?).")


def deterministic(graph: Graph, inputs: list[torch.Tensor], what: str) -> None:
    with torch.no_grad():
        first, second = graph(*inputs), graph(*inputs)
    if per_sample_change(first, second).max() > SAME:
        fail(f"in eval mode {what} gave different results for the same inputs: draw any randomness outside "
             "forward (or only in training mode, like dropout).")


def width_matters(record: Record, small: Graph, what: str, width: int) -> None:
    built(record, "build_wide", f"{what}(..., width={2 * width})")
    if parameter_count(traced_graph(record, "wide", f"{what}(width={2 * width})")) == parameter_count(small):
        fail(f"{what}(width={width}) and {what}(width={2 * width}) have the same number of parameters: `width` "
             "must set the size of the network (channels or hidden units).")


# --- part 1: one_hot -----------------------------------------------------------------------------------

def judge_one_hot(record: Record) -> None:
    for key, labels, n_classes in one_hot_cases():
        n = 10 if n_classes is None else n_classes
        call = f"one_hot({labels.tolist()[:8]}{' ...' if len(labels) > 8 else ''}" + (
            ")" if n_classes is None else f", {n_classes})")
        out = answer(record, key, call)
        dtype = recorded_dtype(record, key)
        if dtype != "torch.float32":
            torch_rows = " (that is what F.one_hot gives)" if dtype == "torch.int64" else ""
            fail(f"{call} returned {dtype} rows{torch_rows}; the networks join the rows to float32 noise and "
                 "images, so return float32 rows (convert with .float()).")
        if tuple(out.shape) != (len(labels), n):
            fail(f"{call} returned shape {tuple(out.shape)}, expected ({len(labels)}, {n}): one row per label, "
                 "one column per class (use n_classes, not the largest label present).")
        after = record.tensor(f"{key}/labels_after") if record.has(f"{key}/labels_after") else labels
        if not torch.equal(after, labels):
            fail(f"{call} changed the labels it was given; leave its input as it is.")
        expected = np.eye(n)[labels.numpy()]
        if not np.array_equal(to_numpy(out), expected):
            fail(f"{call}: expected rows {expected[:2].tolist()}..., got {to_numpy(out)[:2].tolist()}...")
    device = record.facts.get("meta_device")
    if device is not None and device != "meta":
        fail(f"for labels on another device ('meta' stands in for a GPU here), one_hot returned a tensor on "
             f"{device}: create your tensors with device=labels.device, so that the notebook also runs on a GPU.")


# --- part 2: the conditional generator ---------------------------------------------------------------------

def judge_generator(record: Record, dcgan: bool = False) -> None:
    """The checks of a conditional generator (a4 and the portfolio; ``dcgan`` adds the DCGAN guidelines)."""
    signature_is(record, G_SIGNATURE, "ConditionalGenerator")
    call = f"ConditionalGenerator(latent_dim={LATENT}, n_classes=10, width={G_WIDTH})"
    built(record, "build", call)
    if record.facts.get("latent_dim") != repr(LATENT):
        fail(f"{call} must keep its latent size as `self.latent_dim` (= {LATENT}), so that code using G can draw z; "
             f"got {record.facts.get('latent_dim')}.")
    gen = salted_generator(42)
    train = traced_graph(record, "train", call)
    labels = torch.arange(10).repeat(2)
    z = torch.randn(len(labels), LATENT, generator=gen)
    with torch.no_grad():
        out = _output(train(z, labels), (len(labels), 1, 28, 28), f"{call} on {len(labels)} latent vectors",
                      " (one 28x28 image with one channel per sample)")
    if float(out.abs().max()) > 1.0:
        fail(f"the generator's pixels must lie in [-1, 1] (the range of the data), got values from "
             f"{float(out.min()):.3f} to {float(out.max()):.3f}: end the generator with tanh.")
    if batch_norm_after_last_layer(train):
        fail("BatchNorm is applied after the generator's last layer: the output must not be normalised "
             "(chapter 3's guidelines), or G cannot draw black backgrounds with a few bright strokes.")
    means = []  # BatchNorm written by hand at the output: zero batch mean before tanh, whatever z is
    for batch in (z, torch.randn(len(labels), LATENT, generator=gen) * 3):
        with torch.no_grad():
            pre = torch.atanh(train(batch, labels).double().clamp(-1 + 1e-7, 1 - 1e-7))
        means.append(float(pre.mean(dim=(0, 2, 3)).abs().max() / (pre.std() + 1e-12)))
    # a normalised output's mean is 0 up to round-off (about 1e-8); an honest one's is a draw of size about
    # 0.03 whatever z is (BatchNorm before the last layer fixes it), under 1e-5 once in thousands of weights
    if max(means) < 1e-5:
        fail("in training mode the generator's output has zero batch mean before the tanh whatever z is: that is "
             "BatchNorm on the output layer, which chapter 3's guidelines leave out.")
    if dcgan:
        upsamples_with_transposed_convolutions(train, "the generator")
        if not any(is_batch_norm(op) for op in train.operations):
            fail("the generator uses no BatchNorm; the DCGAN guidelines put it after every layer but the output.")
    every_parameter_learns(train, [z, labels], "the generator (training mode, every class in the batch)", gen)
    depends_on_input(train, [z, labels], 0, "the generator")

    evaluation, single = traced_graph(record, "eval", call), traced_graph(record, "eval1", call)
    zs, some = torch.randn(BATCH, LATENT, generator=gen), torch.randint(10, (BATCH,), generator=gen)
    with torch.no_grad():
        _output(single(zs[:1], some[:1]), (1, 1, 28, 28), f"{call} in eval mode on one latent vector")
    deterministic(evaluation, [zs, some], "G(z, labels)")
    z_eval, labels_eval, weighting = generator_eval_inputs()
    gradients_flow(record, evaluation, [z_eval, labels_eval], weighting, "the generator", "z")

    def images(z_: torch.Tensor, labels_: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return evaluation(z_, labels_)

    if per_sample_change(images(torch.randn(BATCH, LATENT, generator=gen), some), images(zs, some)).min() <= DIFFERENT:
        fail("in eval mode the generator gave the same image for different noise vectors: z must reach the output.")
    label_controls(lambda y: images(zs[:1].expand(len(y), -1), y), 10, BATCH, "image", "G", "noise z")
    each_label_its_own(lambda y: images(zs, y), some, 10, "the image", gen)
    batch_independent(evaluation, single, [zs, some], "the generator's images")
    with torch.no_grad():  # tanh saturates: with large weights pixels reach both -1 and +1, never beyond
        big = torch.cat([evaluation(torch.randn(BATCH, LATENT, generator=gen) * 10, some,
                                    state=large_weights(evaluation, gen)) for _ in range(3)])
    if not bool(torch.isfinite(big).all()) or float(big.abs().max()) > 1.0:
        fail(f"with large weights the generator's pixels leave [-1, 1] (up to {float(big.abs().max()):.3g}): end "
             "the generator with tanh.")
    if float(big.min()) > -0.99 or float(big.max()) < 0.99:
        fail(f"with large weights the generator's pixels stay within [{float(big.min()):.3f}, {float(big.max()):.3f}]:"
             " the output must reach -1 and +1 like the data (tanh, not sigmoid, whose range is [0, 1]).")

    few_call = f"ConditionalGenerator(latent_dim={FEW_LATENT}, n_classes={FEW_G_CLASSES}, width={G_WIDTH})"
    built(record, "build_few", few_call)
    few = traced_graph(record, "few", few_call)
    z_few = torch.randn(6, FEW_LATENT, generator=gen)
    with torch.no_grad():
        _output(few(z_few, torch.arange(6) % FEW_G_CLASSES), (6, 1, 28, 28), f"{few_call} in eval mode on 6 samples")
    with torch.no_grad():
        label_controls(lambda y: few(z_few[:1].expand(6, -1), y), FEW_G_CLASSES, 6, "image", "G", "noise z")
    width_matters(record, train, "ConditionalGenerator", G_WIDTH)
    built(record, "build_default", "ConditionalGenerator()")
    default = traced_graph(record, "default", "ConditionalGenerator()")
    with torch.no_grad():
        out = default(torch.randn(2, 100, generator=gen), torch.tensor([0, 9]), state=random_state(default, gen))
    _output(out, (2, 1, 28, 28), "ConditionalGenerator() with its defaults, on latent vectors of shape (2, 100),")


def judge_ConditionalGenerator(record: Record) -> None:  # noqa: N802 - the part's name
    judge_generator(record)


# --- part 3: the conditional discriminator ---------------------------------------------------------------

def _images(n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1


LOGIT_HINT = " (one raw logit per image: no sigmoid, and squeeze a last axis of size 1 with .squeeze(1) or .view(-1))"


def judge_discriminator(record: Record, signature: dict[str, str] = D_SIGNATURE, dcgan: bool = False) -> None:
    """The checks of a conditional discriminator (a4 and the portfolio; ``dcgan`` adds the DCGAN guidelines)."""
    signature_is(record, signature, "ConditionalDiscriminator")
    call = f"ConditionalDiscriminator(n_classes=10, width={D_WIDTH})"
    built(record, "build", call)
    gen = salted_generator(43)
    train = traced_graph(record, "train", call)
    labels = torch.arange(10).repeat(2)
    x = _images(len(labels), gen)
    with torch.no_grad():
        _output(train(x, labels), (len(labels),), f"{call} on {len(labels)} images", LOGIT_HINT)
    if first_layer_is_batch_norm(train):
        fail("the first layer applied to the image is BatchNorm: chapter 3's guidelines leave D's input layer "
             "unnormalised, so that D sees the real pixel values (e.g. black backgrounds).")
    if batch_norm_after_first_layer(train):
        fail("BatchNorm follows D's first layer: chapter 3's guidelines leave D's input layer without BatchNorm "
             "(put it on the inner layers, from the second on).")
    if dcgan:
        downsamples_with_strided_convolutions(train, "the discriminator")
        if any(op in ("relu", "relu_") for op in train.operations):
            fail("the discriminator uses ReLU; the DCGAN guidelines use LeakyReLU (slope 0.2) in D.")
        slopes = leaky_slopes(train)
        if not slopes or any(abs(s - 0.2) > 1e-6 for s in slopes):
            found = sorted(set(round(s, 4) for s in slopes))
            fail(f"LeakyReLU slopes {found} in the discriminator: put LeakyReLU(0.2) after each convolution "
                 "(nn.LeakyReLU() alone has slope 0.01).")
        if not any(is_batch_norm(op) for op in train.operations):
            fail("the discriminator uses no BatchNorm; the DCGAN guidelines put it on the inner layers.")
    every_parameter_learns(train, [x, labels], "the discriminator (training mode, every class in the batch)", gen)
    depends_on_input(train, [x, labels], 0, "the discriminator")

    evaluation, single = traced_graph(record, "eval", call), traced_graph(record, "eval1", call)
    xs, some = _images(BATCH, gen), torch.randint(10, (BATCH,), generator=gen)
    with torch.no_grad():
        _output(single(xs[:1], some[:1]), (1,), f"{call} in eval mode on one image", LOGIT_HINT)
    deterministic(evaluation, [xs, some], "D(images, labels)")
    x_eval, labels_eval, weighting = discriminator_eval_inputs()
    gradients_flow(record, evaluation, [x_eval, labels_eval], weighting, "the discriminator", "the image")

    def logits(x_: torch.Tensor, labels_: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return evaluation(x_, labels_)

    if per_sample_change(logits(_images(BATCH, gen), some), logits(xs, some)).min() <= DIFFERENT:
        fail("in eval mode the discriminator gave the same logit for different images: the image must reach it.")
    label_controls(lambda y: logits(xs[:1].expand(len(y), -1, -1, -1), y), 10, BATCH, "logit", "D", "image")
    each_label_its_own(lambda y: logits(xs, y), some, 10, "the logit", gen)
    batch_independent(evaluation, single, [xs, some], "the discriminator's logits")
    with torch.no_grad():  # logits, not probabilities: with large weights they land far outside [0, 1]
        scores = torch.cat([evaluation(xs, some, state=large_weights(evaluation, gen)) for _ in range(2)])
    if bool(((scores >= 0) & (scores <= 1)).all()):
        fail("every score the discriminator returns lies in [0, 1], even with large weights: return the raw logit "
             "(no sigmoid at the end); the losses apply the sigmoid themselves.")

    few_call = f"ConditionalDiscriminator(n_classes={FEW_D_CLASSES}, width={D_WIDTH})"
    built(record, "build_few", few_call)
    few = traced_graph(record, "few", few_call)
    x_few = _images(6, gen)
    with torch.no_grad():
        _output(few(x_few, torch.arange(6) % FEW_D_CLASSES), (6,), f"{few_call} in eval mode on 6 images", LOGIT_HINT)
    with torch.no_grad():
        label_controls(lambda y: few(x_few[:1].expand(6, -1, -1, -1), y), FEW_D_CLASSES, 6, "logit", "D", "image")
    width_matters(record, train, "ConditionalDiscriminator", D_WIDTH)
    built(record, "build_default", "ConditionalDiscriminator()")
    default = traced_graph(record, "default", "ConditionalDiscriminator()")
    with torch.no_grad():
        out = default(_images(2, gen), torch.tensor([0, 9]), state=random_state(default, gen))
    _output(out, (2,), "ConditionalDiscriminator() with its defaults, on 2 images,", LOGIT_HINT)


def judge_ConditionalDiscriminator(record: Record) -> None:  # noqa: N802 - the part's name
    judge_discriminator(record)


# --- part 4: the ACGAN auxiliary loss ----------------------------------------------------------------------

def ref_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of -log softmax(logits)[i, y_i] and its gradient (softmax - one-hot) / N, in float64."""
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    n = len(labels)
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1.0
    return float(-log_p[np.arange(n), labels].mean()), grad / n


def judge_acgan_auxiliary_loss(record: Record) -> None:
    for key, where, logits, labels in loss_cases():
        what = f"acgan_auxiliary_loss {where}"
        out = answer(record, key, what)
        if tuple(out.shape) != ():
            fail(f"{what} returned shape {tuple(out.shape)}: return one number, a 0-dimensional tensor (the mean over "
                 "the batch).")
        if not out.is_floating_point():
            fail(f"{what} returned {out.dtype}, expected a floating-point tensor.")
        value, e_grad = ref_cross_entropy(to_numpy(logits), labels.numpy())
        got = float(to_numpy(out))
        summed = len(labels) * value
        if len(labels) > 1 and abs(got - summed) <= 1e-4 * abs(summed) and abs(got - value) > 1e-4 * abs(value) + 1e-5:
            fail(f"{what}: expected {value:.5f}, got {got:.5f}, which is the sum over the batch; return the mean.")
        assert_close(out, value, what)
        if not record.facts[key].get("requires_grad"):
            fail(f"{what}: the returned loss is not connected to the class logits (no gradient flows back); compute "
                 "it with torch operations on the logits.")
        error = record.raised(f"{key}/grad")
        if error:
            fail(f"the gradient of {what} could not be computed: {error}")
        grad = record.tensor(f"{key}/grad") if record.has(f"{key}/grad") else torch.zeros(logits.shape)
        assert_close(grad, e_grad, f"the gradient of {what} with respect to the class logits")

