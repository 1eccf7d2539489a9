"""Judges of the portfolio (after chapter 5): a conditional DCGAN with one mode-collapse fix.

The networks were graded in assignment 4 and are not graded again here.

* ``train_cgan``: the referee run is replayed here step by step (:class:`Referee`): the judge keeps its
  own copy of the two tiny networks, checks where every image D saw came from (a real image with its
  own label, or an output of G, recomputed, with the label G drew it for), computes D's logits and the
  gradients of the losses itself, and each Adam step from them, and compares the parameters the run
  reached after every step. Then the generator of the budget run is measured here: course-classifier
  FID against the held-out digits and per-class accuracy, against the thresholds that
  ``scripts/reference.py`` sets with :func:`reference_train_cgan` (``make reference``).
* ``evaluate``: the images the grader's generator returned are checked against what it draws in eval
  mode, and the FID and per-class accuracy are recomputed from them with the course classifier.
* ``interpolate_within_class``: the path of latent vectors G was asked for is checked against the straight
  line between the two ends, with the one label throughout and G in eval mode, and the images returned
  against what G draws there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autograder.judges import a4, assert_close, built, fail, to_numpy
from autograder.judges.graph import Graph
from autograder.judges.reference import (
    frechet_distance,
    frechet_distance_from_features,
    gaussian_fit,
    sigmoid,
    softplus,
)
from autograder.probes.portfolio import (
    BUDGET,
    EVALUATE_CASES,
    FAKE_TAG,
    FIXES,
    PATH_CASES,
    PATH_LATENT,
    REAL_TAG,
    REFEREE,
    BudgetGenerator,
    budget_networks,
    evaluation_data,
    evaluation_images,
    minibatch_inputs,
    path_ends,
    path_images,
    referee_data,
    referee_discriminator_forward,
    referee_generator_forward,
    referee_parameters,
    training_data,
)
from autograder.probes.record import Record, salted_generator

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
THRESHOLDS_FILE = REFERENCE_DIR / "portfolio.json"
HELD_OUT_FILE = REFERENCE_DIR / "portfolio_held_out_stats.npz"
EVAL = {"n_per_class": 50, "z_seed": 2024}
# With fix="replay", the share of old fakes D judged (steps 2 to 6 of the referee run, 16 fakes each) must lie
# within this many binomial standard deviations of one half. Where each fake is old with probability 1/2, an
# honest answer fails with probability 2e-7 (tests/test_false_failure_rates.py); one old fake a step (1/16) fails.
REPLAY_Z = 5.0
BETAS, EPS = (0.5, 0.999), 1e-8


# --- part 1: the referee run, replayed -------------------------------------------------------------------

class Adam:
    """torch.optim.Adam's update in float64 (no weight decay, no amsgrad)."""

    def __init__(self, lr: float, betas: tuple[float, float] = BETAS, fresh: bool = False) -> None:
        self.lr, self.betas, self.fresh = lr, betas, fresh
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.fresh:
            self.t, self.m, self.v = 0, {}, {}
        self.t += 1
        b1, b2 = self.betas
        out = {}
        for key, p in params.items():
            g = grads[key]
            self.m[key] = b1 * self.m.get(key, torch.zeros_like(g)) + (1 - b1) * g
            self.v[key] = b2 * self.v.get(key, torch.zeros_like(g)) + (1 - b2) * g * g
            denom = (self.v[key] / (1 - b2 ** self.t)).sqrt() + EPS
            out[key] = p - self.lr / (1 - b1 ** self.t) * self.m[key] / denom
        return out


def _flat(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([params[k].reshape(-1) for k in sorted(params)])


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    return got.shape == expected.shape and bool(np.all(np.abs(got - expected) <= 1e-5 + 1e-3 * np.abs(expected).max()))


class Referee:
    """The judge's replay of the referee run (see the module doc)."""

    def __init__(self, record: Record, fix: str) -> None:
        self.record, self.fix = record, fix
        self.events = record.facts.get("referee/events")
        if not isinstance(self.events, list):
            fail("the grader received no record of the referee run.")
        self.images, self.labels = referee_data()
        self.images = self.images.double()
        start = referee_parameters()
        self.params = {net: {k: v.double() for k, v in start[net].items()} for net in ("G", "D")}
        lr = REFEREE["lr"]
        self.adam = {net: Adam(lr) for net in ("G", "D")}
        # How the parameters would have moved under the usual slips, for the messages.
        self.slips = {net: {"betas (0.9, 0.999)": Adam(lr, (0.9, 0.999)),
                            "a new optimizer every step": Adam(lr, fresh=True)} for net in ("G", "D")}
        self.g_at: dict[int, dict[str, torch.Tensor]] = {}  # G's parameters when call k was made
        self.d_at: dict[int, dict[str, torch.Tensor]] = {}
        self.g_made: dict[int, int] = {}  # G call -> the training step (1-based) it was made in
        self.made: dict[int, tuple] = {}  # G call -> (images, z, labels), recomputed
        self.replayed = False
        self.old_share: list[tuple[int, int]] = []  # from step 2 on: (old fakes, all fakes) D judged in its step
        self.old_from: set[int] = set()  # the steps the old fakes D judged were made in
        self.real_batches: list[frozenset[int]] = []  # the real images of each D step
        self.d_losses: list[list[float]] = []
        self.g_losses: list[float] = []

    # --- reading the record --------------------------------------------------------------------------------
    def _tensor(self, key: str) -> torch.Tensor:
        if not self.record.has(key):
            fail("the grader's record of the referee run is incomplete.")
        return self.record.tensor(key)

    def _fake(self, call: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(images, z, labels) of G's call, recomputed with G's parameters at the time of the call."""
        if call not in self.made:
            z = self._tensor(f"referee/G{call}/z").double()
            labels = self._tensor(f"referee/G{call}/labels").long()
            p = self.g_at[call]
            with torch.no_grad():
                self.made[call] = (referee_generator_forward(p["weight"], p["bias"], z, labels, call), z, labels)
        return self.made[call]

    def _source(self, image: torch.Tensor, label: int, step: int, phase: str) -> tuple:
        """Where an image D saw came from: ("real", index) or ("fake", call, row), checked against the data."""
        tag = float(image[0, 0, 0])
        if abs(tag - REAL_TAG) < 1e-4:
            index = round(float(image[0, 0, 1]) * 1000) - 1
            if 0 <= index < len(self.labels) and float((image - self.images[index]).abs().max()) < 1e-5:
                if label != int(self.labels[index]):
                    fail(f"in training step {step} ({phase}), D was shown a real image with label {label} instead of "
                         f"its own label {int(self.labels[index])}: take the labels of the batch with the same indices "
                         "as the images.")
                return ("real", index)
        elif abs(tag - FAKE_TAG) < 1e-4:
            call, row = round(float(image[0, 0, 1]) * 1000) - 1, round(float(image[0, 0, 2]) * 1000)
            if call in self.g_at:
                fakes, _, labels = self._fake(call)
                if 0 <= row < len(fakes) and float((image - fakes[row]).abs().max()) < 1e-4:
                    if label != int(labels[row]):
                        fail(f"in training step {step} ({phase}), D was shown a fake with label {label}, but G drew it "
                             f"for label {int(labels[row])}: each fake must go to D with the label it was drawn with "
                             "(with replay, store each old fake's label with it and return them together).")
                    return ("fake", call, row)
        fail(f"in training step {step} ({phase}), D was shown an image that is neither one of the real images given "
             "to train_cgan nor an output of G: pass the images to D as they are (no noise, rescaling or copies "
             "changed in place).")
        raise AssertionError  # not reached

    def _rows(self, calls: list[int], step: int, phase: str) -> list[dict]:
        rows = []
        for c in calls:
            x = self._tensor(f"referee/D{c}/x").double()
            labels = self._tensor(f"referee/D{c}/labels").long()
            grad = self._tensor(f"referee/D{c}/grad").double().reshape(-1)
            if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
                fail(f"in training step {step} ({phase}), D was given images of shape {tuple(x.shape)}: pass images of "
                     "shape (N, 1, 28, 28), as the data and G's outputs come.")
            if len(labels) != len(x) or len(grad) != len(x):
                fail(f"in training step {step} ({phase}), D got {len(x)} images but {len(labels)} labels.")
            for i in range(len(x)):
                source = self._source(x[i], int(labels[i]), step, phase)
                image = self.images[source[1]] if source[0] == "real" else self._fake(source[1])[0][source[2]]
                rows.append({"source": source, "image": image, "label": int(labels[i]), "grad": float(grad[i]),
                             "call": c})
        return rows

    def _logits(self, rows: list[dict]) -> np.ndarray:
        out = []
        for row in rows:
            p = self.d_at[row["call"]]
            out.append(float(referee_discriminator_forward(p["weight"], p["bias"], row["image"][None],
                                                           torch.tensor([row["label"]]))[0]))
        return np.array(out)

    # --- checking one optimizer step -------------------------------------------------------------------------
    def _check_update(self, net: str, grads: dict[str, torch.Tensor], snapshot: int, step: int, what: str) -> None:
        before = self.params[net]
        after = {k: self._tensor(f"referee/step{snapshot}/{net}/{k}").double() for k in before}
        expected = self.adam[net].step(before, grads)
        slips = {name: opt.step(before, grads) for name, opt in self.slips[net].items()}
        moved, wanted = _flat(after) - _flat(before), _flat(expected) - _flat(before)
        error = float((moved - wanted).norm() / (wanted.norm() + 1e-30))
        if error > 0.02:
            lr = REFEREE["lr"]
            if float(moved.norm()) == 0.0:
                hint = f"{what}'s parameters did not change in its step."
            else:
                cos = float(moved @ wanted / (moved.norm() * wanted.norm() + 1e-30))
                ratio = float(moved.norm() / (wanted.norm() + 1e-30))
                near = [name for name, params in slips.items()
                        if float((moved - (_flat(params) - _flat(before))).norm()) <= 0.02 * float(wanted.norm())]
                if near:
                    hint = f"It matches Adam with {near[0]}."
                elif cos > 0.99 and abs(ratio - 1) > 0.1:
                    hint = (f"The step is {ratio:.2g} times Adam's with lr={lr:g}: use the `lr` given to train_cgan "
                            "for both optimizers.")
                else:
                    hint = ("Is the gradient zeroed before each backward pass (optimizer.zero_grad()), and only the "
                            "loss of this step's phase backpropagated before this step?")
            fail(f"in training step {step}, {what}'s parameters after its update are not one Adam step (lr={lr:g}, "
                 f"betas=(0.5, 0.999)) on {what}'s loss as computed by the grader. {hint}")
        self.params[net] = after

    # --- the two phases --------------------------------------------------------------------------------------
    def _d_phase(self, events: list, snapshot: int, step: int) -> None:
        if any(e[0] == "G_backward" for e in events):
            fail(f"in training step {step}, D's loss sent gradients into G: make the fakes for D's step under "
                 "torch.no_grad() or .detach() them (replayed fakes too) before D judges them.")
        calls = [e[1] for e in events if e[0] == "D" and self.record.has(f"referee/D{e[1]}/grad")]
        if not calls:
            fail(f"in training step {step}, D's update did not come from D's logits (no gradient reached them): "
                 "backpropagate D's loss before d_opt.step().")
        rows = self._rows(calls, step, "D's step")
        real = [r for r in rows if r["source"][0] == "real"]
        fake = [r for r in rows if r["source"][0] == "fake"]
        if not real or not fake:
            fail(f"in training step {step}, D's loss used only {'fake' if fake else 'real'} images: it needs both, "
                 "real images (label 1) and fakes (label 0).")
        old = [self.g_made[r["source"][1]] for r in fake if self.g_made[r["source"][1]] < step]
        if old:
            self.replayed = True
            self.old_from.update(old)
        if step >= 2:
            self.old_share.append((len(old), len(fake)))
        self.real_batches.append(frozenset(r["source"][1] for r in real))
        lr_, lf = self._logits(real), self._logits(fake)
        nr, nf = len(real), len(fake)
        got = np.array([r["grad"] for r in real + fake])
        candidates = {
            "two means": np.concatenate([-(1 - sigmoid(lr_)) / nr, sigmoid(lf) / nf]),
            "joined mean": np.concatenate([-(1 - sigmoid(lr_)) / (nr + nf), sigmoid(lf) / (nr + nf)]),
        }
        chosen = next((name for name, grad in candidates.items() if _close(got, grad)), None)
        if chosen is None:
            swapped = np.concatenate([sigmoid(lr_) / nr, -(1 - sigmoid(lf)) / nf])
            if _close(got, swapped):
                hint = " It is that loss with the labels swapped: real images must get label 1, fakes label 0."
            elif _close(got, candidates["two means"] * nr) or _close(got, candidates["two means"] * (nr + nf)):
                hint = " It is a sum over the batch: take the mean."
            elif not np.any(got[:nr]) or not np.any(got[nr:]):
                hint = " One of the two terms does not reach D's logits."
            else:
                hint = " Use F.softplus(-D(x, y)).mean() + F.softplus(D(x_fake, y_fake)).mean() (or BCE with logits)."
            fail(f"in training step {step}, the gradient of D's loss with respect to D's logits is not that of "
                 "mean(-log sigmoid(D(x, y))) + mean(-log(1 - sigmoid(D(G(z, y'), y')))) over the real images and the "
                 f"fakes D was shown.{hint}")
        grad_rows = torch.from_numpy(candidates[chosen])
        inputs = torch.stack([torch.cat([r["image"].reshape(-1), F.one_hot(torch.tensor(r["label"]), 10).double()])
                              for r in real + fake])
        grads = {"weight": (grad_rows[:, None] * inputs).sum(0, keepdim=True), "bias": grad_rows.sum().reshape(1)}
        self._check_update("D", grads, snapshot, step, "D")
        two = float(softplus(-lr_).mean() + softplus(lf).mean())
        self.d_losses.append([two, float((softplus(-lr_).sum() + softplus(lf).sum()) / (nr + nf)), two / 2])

    def _g_phase(self, events: list, snapshot: int, step: int) -> None:
        calls = [e[1] for e in events if e[0] == "D" and self.record.has(f"referee/D{e[1]}/grad")]
        if not calls:
            fail(f"in training step {step}, G's loss did not go through D's logits (no gradient reached them): G's "
                 "loss is computed from D(G(z, y), y).")
        rows = self._rows(calls, step, "G's step")
        if any(r["source"][0] == "real" for r in rows):
            fail(f"in training step {step}, G's loss includes real images; G's step judges only the fakes G draws.")
        if any(self.g_made[r["source"][1]] != step for r in rows):
            fail(f"in training step {step}, G's loss judged fakes from an earlier step (the replay store is D's only): "
                 "G learns from fakes it draws in this step.")
        backward = {e[1] for e in events if e[0] == "G_backward"}
        if not {r["source"][1] for r in rows} <= backward:
            fail(f"in training step {step}, G's update got no gradient through its images: do not make the fakes of "
                 "G's step under torch.no_grad() or detach them.")
        logits = self._logits(rows)
        got = np.array([r["grad"] for r in rows])
        expected = -(1 - sigmoid(logits)) / len(rows)
        if not _close(got, expected):
            if _close(got, -sigmoid(logits) / len(rows)):
                hint = (" It is the gradient of the saturating loss mean(log(1 - sigmoid(D(G(z, y), y)))), which "
                        "vanishes while D is winning; use the non-saturating -log sigmoid(D(G(z, y), y)).")
            elif _close(got, -expected):
                hint = " It has the opposite sign: G wants D to call its fakes real (label 1)."
            else:
                hint = " Use F.softplus(-D(G(z, y), y)).mean(), or the BCE with logits against label 1."
            fail(f"in training step {step}, the gradient of G's loss with respect to D's logits is not that of the "
                 f"non-saturating loss mean(-log sigmoid(D(G(z, y), y))).{hint}")
        weight = self.params["G"]["weight"].clone().requires_grad_(True)
        bias = self.params["G"]["bias"].clone().requires_grad_(True)
        total = torch.zeros((), dtype=torch.float64)
        for r, g in zip(rows, expected):
            call, row = r["source"][1], r["source"][2]
            z = self._tensor(f"referee/G{call}/z").double()[row:row + 1]
            labels = self._tensor(f"referee/G{call}/labels").long()[row:row + 1]
            image = referee_generator_forward(weight, bias, z, labels, call)
            p = self.d_at[r["call"]]
            total = total + float(g) * referee_discriminator_forward(p["weight"], p["bias"], image, labels)[0]
        gw, gb = torch.autograd.grad(total, [weight, bias])
        self._check_update("G", {"weight": gw, "bias": gb}, snapshot, step, "G")
        self.g_losses.append(float(softplus(-logits).mean()))

    def replay(self) -> None:
        steps = [e for e in self.events if e[0] == "step"]
        order = "".join(str(e[1])[0] for e in steps)
        if "b" in order:
            fail("one optimizer updates both G and D; use one Adam optimizer per network.")
        expected = "DG" * REFEREE["steps"]
        if order != expected:
            fail(f"with steps={REFEREE['steps']}, the optimizer steps ran in the order {order or '(none)'} (D = "
                 "discriminator, G = generator); each training step must update D once and then G once.")
        step, g_steps, phase = 0, 0, []
        for event in self.events:
            kind = event[0]
            if kind == "G":
                self.g_at[event[1]] = self.params["G"]
                self.g_made[event[1]] = g_steps + 1
                phase.append(event)
            elif kind == "D":
                self.d_at[event[1]] = self.params["D"]
                phase.append(event)
            elif kind == "G_backward":
                phase.append(event)
            elif kind == "step":
                if event[1] == "D":
                    step += 1
                    self._d_phase(phase, event[2], step)
                else:
                    g_steps += 1
                    self._g_phase(phase, event[2], step)
                phase = []
        if len(set(self.real_batches)) == 1:
            fail(f"D was shown the same real images in all {REFEREE['steps']} steps: draw a new random batch of real "
                 "images (with their labels) in every step.")
        if self.fix == "replay" and not self.replayed:
            fail(f"with fix='replay', D never saw a fake from an earlier step in {REFEREE['steps']} steps: the replay "
                 "buffer must return old fakes (with their labels) in place of about half of the new ones.")
        if self.fix == "replay":
            shown = max(1, sum(n for _, n in self.old_share))
            share = sum(o for o, _ in self.old_share) / shown
            # half exactly, or each fake old with probability 1/2: the share is binomial at worst (80 fakes)
            if abs(share - 0.5) > REPLAY_Z * math.sqrt(0.25 / shown):
                fail(f"with fix='replay', {share:.0%} of the fakes D judged from step 2 on were old ones: the replay "
                     "store must supply about half of D's fakes in each step.")
            if len(self.old_from) < 2:
                fail(f"with fix='replay', every old fake D judged in {REFEREE['steps']} steps was made in one and the "
                     "same step: keep the fakes of recent steps in the store (adding each step's fakes), and draw "
                     "from all of them.")

    def check_history(self, facts) -> None:
        n = REFEREE["steps"]
        if not isinstance(facts, dict) or facts.get("type") != "dict":
            kind = facts.get("type") if isinstance(facts, dict) else "nothing"
            fail(f"train_cgan must return a dict with the lists 'd_loss' and 'g_loss', got {kind}.")
        for key, expected in (("d_loss", self.d_losses), ("g_loss", [[v] for v in self.g_losses])):
            values = facts.get(key)
            if not isinstance(values, list) or len(values) != n or not all(isinstance(v, float) for v in values):
                fail(f"history['{key}'] must hold {n} Python floats, one per step (use loss.item()).")
            for t, (value, accepted) in enumerate(zip(values, expected)):
                if not any(math.isclose(value, a, rel_tol=1e-4, abs_tol=1e-5) for a in accepted):
                    fail(f"history['{key}'][{t}] is {value:.6f}, but the loss of training step {t + 1} is "
                         f"{accepted[0]:.6f}: record loss.item() of the loss that was backpropagated, once per step.")


# --- part 1: minibatch discrimination, and the budget run ------------------------------------------------------

def _minibatch(record: Record) -> None:
    if record.facts.get("minibatch/missing"):
        fail("with FIX = 'minibatch', your fix is ConditionalDiscriminator(minibatch=True), graded in this part: the "
             "notebook defines no ConditionalDiscriminator.")
    x, labels = minibatch_inputs()
    gen = salted_generator(45)
    others = x.clone()
    others[3:] = 2 * torch.rand(3, 1, 28, 28, generator=gen) - 1
    for flag in (True, False):
        call = f"ConditionalDiscriminator(n_classes=10, width=8, minibatch={flag})"
        built(record, f"minibatch_{flag}/build", call)
        graph = a4.traced_graph(record, f"minibatch_{flag}", call)
        with torch.no_grad():
            base = a4._output(graph(x, labels), (6,), f"{call} in eval mode on 6 images", a4.LOGIT_HINT)
            moved = float((graph(others, labels) - base)[:3].abs().max())
        if flag and moved < 1e-6:
            fail("with FIX = 'minibatch', D built with minibatch=True must give each image a logit that also depends "
                 "on the other images of the batch (in eval mode too): the minibatch-discrimination layer between "
                 "the flattened features and the final linear layer is missing or unused.")
        if flag:
            _through_T(graph, x, others, labels, base)
        if not flag and moved > 1e-5:
            fail("with minibatch=False, D's logit for one image (in eval mode) depends on the other images of the "
                 "batch: only minibatch=True adds the minibatch-discrimination layer.")


def _through_T(graph: Graph, x: torch.Tensor, others: torch.Tensor, labels: torch.Tensor,  # noqa: N802
               base: torch.Tensor) -> None:
    """The batch reaches D's logits only through minibatch discrimination's tensor T: with T = 0 every
    closeness feature is the same constant (N - 1), so the logits no longer depend on the other images."""
    tensors = [k for k in graph.parameter_names if len(graph.shapes[k]) == 3]
    if not tensors:
        fail("with FIX = 'minibatch', D built with minibatch=True holds no learned tensor T of shape (in_features, "
             "num_kernels, kernel_dim): the minibatch-discrimination layer of chapter 5 is missing.")
    gen = salted_generator(46)
    for name in tensors:
        for value in ("0", "large"):
            state = graph.parameters()
            state[name] = (torch.zeros_like(state[name]) if value == "0"
                           else 100.0 * torch.randn(state[name].shape, generator=gen))
            with torch.no_grad():
                moved = float((graph(others, labels, state=state) - graph(x, labels, state=state))[:3].abs().max())
            if moved > 1e-6:
                break
        else:
            return
    fail("with FIX = 'minibatch', D's logits depend on the other images of the batch, but not through minibatch "
         "discrimination's closeness features exp(-||M_i - M_j||_1) summed over the other samples: with its tensor "
         "T set to 0 (all closeness features are then N - 1) or made very large (all distances huge, so every "
         "closeness is 0) the logits must no longer change with the other images, and they do. Use chapter 5's "
         "layer, and let the batch reach the logit only through it.")


_CLASSIFIER = None


def _classifier():
    global _CLASSIFIER
    if _CLASSIFIER is None:
        from gancourse.classifier import load_course_classifier
        _CLASSIFIER = load_course_classifier("cpu")
    return _CLASSIFIER


@torch.no_grad()
def features_and_predictions(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The course classifier's 64-d features (float64) and predicted classes of images (N, 1, 28, 28)."""
    net = _classifier().eval()
    feats, preds = [], []
    for i in range(0, len(images), 500):
        h = net.features(images[i:i + 500].detach().to("cpu", torch.float32))
        feats.append(h)
        preds.append(net.head(h).argmax(1))
    return to_numpy(torch.cat(feats)), torch.cat(preds).numpy()


def class_accuracy(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([float((predictions[labels == c] == c).mean()) if (labels == c).any() else math.nan
                     for c in range(10)])


def held_out_statistics() -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the course classifier's features on the held-out embedded digits (committed)."""
    with np.load(HELD_OUT_FILE) as data:
        return data["mu"], data["sigma"]


def thresholds() -> dict:
    return json.loads(THRESHOLDS_FILE.read_text())["thresholds"]


@torch.no_grad()
def generator_scores(G: torch.nn.Module) -> dict:
    """FID against the held-out statistics and per-class accuracy of 50 samples per class (fixed z, one batch)."""
    G.eval().to("cpu")
    labels = torch.arange(10).repeat_interleave(EVAL["n_per_class"])
    z = torch.randn(len(labels), G.latent_dim, generator=torch.Generator().manual_seed(EVAL["z_seed"]))
    feats, preds = features_and_predictions(G(z, labels))
    accuracy = class_accuracy(preds, labels.numpy())
    fid = frechet_distance(*gaussian_fit(feats), *held_out_statistics()) if np.isfinite(feats).all() else math.inf
    return {"fid": float(fid), "per_class_accuracy": accuracy.tolist(), "mean_accuracy": float(accuracy.mean())}


def _budget(record: Record) -> None:
    run = (f"your train_cgan on the grader's small cGAN ({BUDGET['steps']} steps of batch {BUDGET['batch_size']}, "
           f"lr={BUDGET['lr']:g}, one CPU thread)")
    error = record.raised("budget")
    if error:
        fail(f"{run} raised {error}")
    G = BudgetGenerator()
    state = {}
    for key, value in G.state_dict().items():
        if not record.has(f"budget/G/{key}"):
            fail("the grader received no generator from the budget run.")
        state[key] = record.tensor(f"budget/G/{key}").to(value.dtype).reshape(value.shape)
    G.load_state_dict(state)
    scores = generator_scores(G)
    limits = thresholds()
    fid, accuracy = scores["fid"], scores["mean_accuracy"]
    if not math.isfinite(fid) or fid > limits["fid_max"]:
        fail(f"after {run}, the generator's course-classifier FID is {fid:.1f}, above the threshold "
             f"{limits['fid_max']:.1f} set by the reference solution under the same budget. The refereed steps were "
             "right, so look at what only a longer run shows: a new random batch of real images every step, fresh "
             "z every step, and a replay store of recent fakes (e.g. the last 20 batches) replacing about half of D's "
             "fakes.")
    if accuracy < limits["mean_accuracy_min"]:
        fail(f"after {run}, the course classifier recognises the asked digit in {accuracy:.0%} of the samples, below "
             f"the threshold {limits['mean_accuracy_min']:.0%} set by the reference solution: check that every fake "
             "keeps the label it was drawn with, through the replay store too, and that G's step gives D the labels "
             "it gave G.")


def judge_train_cgan(record: Record) -> None:
    fix = record.facts.get("fix")
    if fix not in FIXES:
        fail(f"FIX must be 'replay' or 'minibatch', got {fix}.")
    if fix == "minibatch":
        _minibatch(record)
    error = record.raised("referee")
    if error:
        hint = ""
        if "backward through the graph a second time" in error:
            hint = (" That happens when a backward pass goes through a part of G's graph that an earlier backward had "
                    "freed, usually because a fake batch is still attached to G: make D's fakes under torch.no_grad() "
                    "(or .detach() them), and keep detached copies in the replay store.")
        fail(f"train_cgan raised {error} on the grader's referee networks (steps={REFEREE['steps']}, "
             f"batch_size={REFEREE['batch_size']}, fix={fix!r}, device='cpu').{hint}")
    referee = Referee(record, fix)
    referee.replay()
    referee.check_history(record.facts.get("referee/history"))
    _budget(record)


# --- the reference solution of part 1, for scripts/reference.py (never in the sandbox) -------------------------

def reference_train_cgan(G, D, images, labels, steps, batch_size=64, fix="replay", seed=0, device="cpu",
                         lr=2e-3) -> dict[str, list[float]]:
    """The grader's reference cGAN loop: non-saturating loss, Adam(lr, (0.5, 0.999)), one fix.

    ``fix="replay"`` shows D half old fakes (with the labels they were drawn with) from a store of the
    last 20 fake batches; ``fix="minibatch"`` leaves the loop plain (the fix is in D).
    """
    gen = torch.Generator().manual_seed(seed)
    G.to(device).train()
    D.to(device).train()
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=BETAS)
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=BETAS)
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


def reference_budget_run(fix: str, seed: int, device: str = "cpu", train_fn=reference_train_cgan) -> dict:
    """Train the grader's budget networks with ``train_fn`` (seeded by ``seed``) and score the generator here."""
    import time

    G, D = budget_networks(seed)
    images, labels = training_data()
    start = time.perf_counter()
    history = train_fn(G, D, images, labels, steps=BUDGET["steps"], batch_size=BUDGET["batch_size"], fix=fix,
                       seed=seed, device=device, lr=BUDGET["lr"])
    seconds = time.perf_counter() - start
    return {**generator_scores(G.to("cpu")), "seconds": seconds, "history": history}


# --- part 2: evaluate -----------------------------------------------------------------------------------------

def judge_evaluate(record: Record) -> None:
    bank, real = evaluation_data()
    real_features, _ = features_and_predictions(real)
    for i, case in enumerate(EVALUATE_CASES):
        n = case["n_per_class"]
        what = f"evaluate(G, n_per_class={n}, real_images, seed={case['seed']})"
        error = record.raised(f"evaluate/{i}")
        if error:
            fail(f"{what} raised {error}")
        calls = record.facts.get(f"evaluate/{i}/calls", 0)
        if not calls:
            fail(f"{what} did not call G.")
        images, labels = [], []
        for k in range(min(int(calls), 100)):
            z = record.tensor(f"evaluate/{i}/G{k}/z")
            y = record.tensor(f"evaluate/{i}/G{k}/labels").long()
            drawn = record.tensor(f"evaluate/{i}/G{k}/images").double()
            eval_mode = evaluation_images(bank, case["shift"], z, y, training=False).double()
            if tuple(drawn.shape) != tuple(eval_mode.shape) or float((drawn - eval_mode).abs().max()) > 1e-5:
                train_mode = evaluation_images(bank, case["shift"], z, y, training=True).double()
                if tuple(drawn.shape) == tuple(train_mode.shape) and float((drawn - train_mode).abs().max()) <= 1e-5:
                    fail(f"{what}: G was in training mode when evaluate drew its samples. Call G.eval() before drawing "
                         "(BatchNorm and dropout act differently in training mode; the grader's G draws something else "
                         "there).")
                fail(f"{what}: the grader could not match the images G returned with the calls made.")
            images.append(drawn)
            labels.append(y)
        drawn, asked = torch.cat(images), torch.cat(labels)
        counts = torch.bincount(asked, minlength=10).tolist()
        if counts != [n] * 10:
            fail(f"{what} asked G for these numbers of each digit 0-9: {counts}; ask for exactly n_per_class of every "
                 "digit.")
        result = record.facts.get(f"evaluate/{i}/result")
        if not isinstance(result, dict) or result.get("type") != "dict" or not {"fid", "per_class_accuracy"} <= set(
                result.get("keys", [])):
            fail(f"{what} must return a dict with the keys 'fid' and 'per_class_accuracy'.")
        if not isinstance(result.get("fid"), float):
            fail(f"{what}['fid'] must be a number, got {result.get('fid')}.")
        if not isinstance(result.get("per_class_accuracy"), list) or len(result["per_class_accuracy"]) != 10:
            fail(f"{what}['per_class_accuracy'] must be a list of 10 numbers, one per digit 0-9.")
        fake_features, predictions = features_and_predictions(drawn.float())
        expected_fid = frechet_distance_from_features(real_features, fake_features)
        assert_close(result["fid"], expected_fid,
                     f"{what}['fid'], the course-classifier FID between real_images and the samples G drew",
                     rtol=1e-3, atol=1e-3)
        assert_close(np.asarray(result["per_class_accuracy"], dtype=np.float64),
                     class_accuracy(predictions, asked.numpy()),
                     f"{what}['per_class_accuracy'], the share of the samples of each digit 0-9 that the course "
                     "classifier assigns to that digit", rtol=1e-6, atol=1e-6)


# --- part 3: interpolate_within_class --------------------------------------------------------------------------

def straight_line(z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> torch.Tensor:
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    return (1 - t) * z_start.double() + t * z_end.double()


def great_circle(z_start: torch.Tensor, z_end: torch.Tensor, steps: int) -> torch.Tensor:
    a, b = z_start.double(), z_end.double()
    omega = torch.arccos(torch.clamp(a @ b / (a.norm() * b.norm()), -1, 1))
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def judge_interpolate_within_class(record: Record) -> None:
    for i, case in enumerate(PATH_CASES):
        digit, steps = case["digit"], case["steps"]
        what = f"interpolate_within_class(G, {digit}, z_start, z_end, steps={steps})"
        error = record.raised(f"path/{i}")
        if error:
            fail(f"{what} raised {error}")
        calls = int(record.facts.get(f"path/{i}/calls", 0))
        if not calls:
            fail(f"{what} did not call G.")
        kept = range(min(calls, 50))
        z = torch.cat([record.tensor(f"path/{i}/G{k}/z").double().reshape(-1, PATH_LATENT) for k in kept])
        labels = torch.cat([record.tensor(f"path/{i}/G{k}/labels").reshape(-1) for k in kept])
        training = [bool(record.tensor(f"path/{i}/G{k}/training")) for k in kept]
        if any(training):
            fail(f"{what}: G was in training mode when it drew the path. Call G.eval() first (BatchNorm and dropout "
                 "act differently in training mode; the grader's G draws something else there).")
        asked = sorted(set(labels.long().tolist()))
        if asked != [digit]:
            fail(f"{what} asked G for the labels {asked}: every image of the path must be of the one class asked "
                 f"for, {digit}.")
        z_start, z_end = path_ends(case)
        line = straight_line(z_start, z_end, steps)
        if tuple(z.shape) != tuple(line.shape) or float((z - line).abs().max()) > 1e-5:
            arc = great_circle(z_start, z_end, steps)
            if tuple(z.shape) == tuple(arc.shape) and float((z - arc).abs().max()) < 1e-5:
                fail(f"{what} walked the great circle between the two ends (slerp): this part asks for the straight "
                     "line, (1 - t) z_start + t z_end.")
            fail(f"{what}: G was asked for {len(z)} latent vectors, which are not the {steps} evenly spaced points "
                 "(1 - t) z_start + t z_end, t = 0, 1/(steps - 1), ..., 1, in order from z_start to z_end (both ends "
                 "included).")
        if record.facts.get(f"path/{i}/result_type"):
            fail(f"{what} must return a tensor of images, got {record.facts[f'path/{i}/result_type']}.")
        if record.facts.get(f"path/{i}/requires_grad"):
            fail(f"{what} returned images that still carry gradients (requires_grad=True): draw them under "
                 "torch.no_grad(), as the part asks.")
        expected = path_images(line, torch.full((steps,), digit), training=False)
        assert_close(record.tensor(f"path/{i}/result"), expected,
                     f"{what}, the images G drew along the path, in order", rtol=1e-4, atol=1e-5)
