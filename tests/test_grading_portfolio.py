"""The portfolio (conditional DCGAN with a mode-collapse fix) is graded correctly.

Fast tests probe fixture answers (tests/portfolio_submissions.py) in this process and judge the data,
the same path the grader takes; for the training part the budget run is shrunk there (a few steps,
thresholds any finite result meets), since the run with the real budget and thresholds is exercised by
the reference test below and by the class graded through nbgrader (the solution and other correct
students).

The same class shows that grading is deterministic: it holds two copies of a reference answer (written in
the PyTorch tutorial's idioms, one D call on real and fake joined) and two of a near miss (the same answer
with Adam's default betas), each graded as a separate student, two at a time (there were four of each; two
keep the check and save the suite four gradings of about 40 s). The portfolio's graded
training part is the least deterministic thing the grader does (a refereed run the judge recomputes step by
step, then a 400-step budget run whose generator the judge scores by FID and per-class accuracy against
thresholds). The attack class (tests/test_grading_attacks.py) is also graded twice.
"""

from __future__ import annotations

import contextlib
import json
import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.judges import portfolio as judges
from autograder.probes import portfolio as probes
from autograder.probes.record import probe
from gancourse.classifier import classifier_features, load_course_classifier, per_class_accuracy
from gancourse.latent import lerp
from gancourse.metrics import frechet_distance_from_features
from tests.conftest import REPO
from tests.grading_harness import Student, class_tests, judged, judged_answer_tests, student_report
from tests.portfolio_submissions import (
    A4_MISTAKES,
    ALWAYS_ON_MINIBATCH,
    BORROWED,
    CORRECT,
    FAKE_MINIBATCH,
    INTERPOLATION_MISTAKES,
    INTERPOLATION_STYLES,
    LIBRARY_NETWORKS,
    PLANES,
    WRONG,
)

ASSIGNMENT = "portfolio_cgan"
NOTEBOOK = "portfolio.ipynb"
ORDER = ["networks", "train_cgan", "evaluate", "interpolate_within_class"]
UNGRADED_CELLS = ("networks",)  # assignment 4's networks, pasted or imported: graded there, not here
POINTS = {"test_train_cgan": 7, "test_evaluate": 3, "test_interpolate_within_class": 3}


def namespace_until(part: str, source: str, variant: str = "planes") -> dict:
    """Run the variant's answer cells before ``part``, then ``source``, as the notebook would; the namespace."""
    namespace = {"torch": torch, "F": F, "nn": nn, "np": np, "math": math,
                 "load_course_classifier": load_course_classifier, "classifier_features": classifier_features,
                 "per_class_accuracy": per_class_accuracy,
                 "frechet_distance_from_features": frechet_distance_from_features, "lerp": lerp}
    for earlier in ORDER[:ORDER.index(part)]:
        exec(CORRECT[variant][earlier], namespace)
    exec(source, namespace)
    return namespace


def define(part: str, source: str):
    return namespace_until(part, source)[part]


def judged_training(namespace: dict, fix: str | None = None):
    return judged(ASSIGNMENT, "train_cgan", namespace["train_cgan"], fix or namespace.get("FIX"),
                  namespace.get("ConditionalDiscriminator"))


JUDGED_ANSWERS = {variant: {p: s for p, s in parts.items() if p not in ("networks", "train_cgan")}
                  for variant, parts in CORRECT.items()}
globals().update(judged_answer_tests(ASSIGNMENT, JUDGED_ANSWERS,
                                     {p: w for p, w in WRONG.items() if p != "train_cgan"}, define))


@pytest.fixture
def short_budget(monkeypatch):
    """The budget run shrunk to a few steps, with thresholds any finite result meets (fast tests only)."""
    monkeypatch.setitem(probes.BUDGET, "steps", 5)
    monkeypatch.setattr(judges, "thresholds", lambda: {"fid_max": math.inf, "mean_accuracy_min": 0.0})


@pytest.mark.parametrize("variant,fix", [(v, CORRECT[v]["train_cgan"].split('FIX = "')[1].split('"')[0])
                                         for v in sorted(CORRECT)] + [("planes", "minibatch")])
def test_training_loops_written_differently_pass_the_refereed_run_with_their_fix(variant, fix, short_budget):
    verdict = judged_training(namespace_until("train_cgan", CORRECT[variant]["train_cgan"], variant), fix)
    assert verdict.passed, verdict.message


# A replay that makes each fake old with probability 1/2 (a coin per fake) shows D a binomial share of old fakes
COIN_PER_FAKE = CORRECT["planes"]["train_cgan"].replace(
    "    gen = torch.Generator().manual_seed(seed)\n",
    "    gen = torch.Generator().manual_seed(seed)\n"
    "    coins = torch.Generator().manual_seed(seed + COIN_OFFSET)\n").replace(
    "            k = torch.randint(len(pool_y), (batch_size // 2,), generator=gen)\n"
    "            x_show = torch.cat([pool_x[k], fake[batch_size // 2:]])\n"
    "            y_show = torch.cat([pool_y[k], y_fake[batch_size // 2:]])\n",
    "            old = torch.rand(batch_size, generator=coins) < 0.5\n"
    "            k = torch.randint(len(pool_y), (batch_size,), generator=gen)\n"
    "            x_show = torch.where(old[:, None, None, None], pool_x[k], fake)\n"
    "            y_show = torch.where(old, pool_y[k], y_fake)\n")


@pytest.mark.parametrize("offset", range(4))
def test_a_replay_with_a_coin_per_fake_passes_the_refereed_run(offset, short_budget):
    assert "coins" in COIN_PER_FAKE and "torch.where(old" in COIN_PER_FAKE
    verdict = judged_training(namespace_until("train_cgan", f"COIN_OFFSET = {offset}\n" + COIN_PER_FAKE))
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("mistake", sorted(WRONG["train_cgan"]))
def test_each_training_mistake_fails_the_refereed_run(mistake, short_budget):
    verdict = judged_training(namespace_until("train_cgan", WRONG["train_cgan"][mistake]))
    assert not verdict.passed, f"{mistake} passed"


@pytest.mark.parametrize("part,mistake,message", [
    ("train_cgan", "swapped_real_fake_labels", "labels swapped"),
    ("train_cgan", "missing_detach", "detach"),
    ("train_cgan", "replay_never_returns_old", "must return old fakes"),
    ("train_cgan", "replay_of_one_fake", "about half of D's fakes"),
    ("train_cgan", "replay_old_images_with_new_labels", "label it was drawn with"),
    ("train_cgan", "saturating_generator_loss", "saturating loss"),
    ("train_cgan", "generator_updated_first", "in the order GD"),
    ("train_cgan", "same_real_batch_every_step", "new random batch of real"),
    ("train_cgan", "sum_not_mean", "sum over the batch"),
    ("train_cgan", "ignores_lr", "use the `lr` given"),
    ("train_cgan", "default_betas", r"betas \(0.9, 0.999\)"),
    ("train_cgan", "optimizer_made_every_step", "a new optimizer every step"),
    ("train_cgan", "d_gradients_never_zeroed", "zero_grad"),
    ("train_cgan", "real_images_with_other_labels", "instead of its own label"),
    ("train_cgan", "real_images_noised", "neither one of the real images"),
    ("train_cgan", "history_of_tensors", "Python floats"),
    ("train_cgan", "generator_step_on_detached_fakes", "G's update got no gradient through its images"),
    ("evaluate", "random_labels", "n_per_class"),
    ("evaluate", "training_mode", r"G\.eval\(\)"),
    ("evaluate", "accuracy_of_the_wrong_class", "per_class_accuracy"),
    ("evaluate", "fid_against_itself", r"\['fid'\]"),
    ("interpolate_within_class", "training_mode", r"G\.eval\(\)"),
    ("interpolate_within_class", "slerp", "great circle"),
    ("interpolate_within_class", "end_left_out", "both ends"),
    ("interpolate_within_class", "walked_backwards", "in order from z_start to z_end"),
    ("interpolate_within_class", "random_labels", "of the one class asked for"),
    ("interpolate_within_class", "list_of_images", "must return a tensor"),
])
def test_failure_messages_say_what_was_observed(part, mistake, message, short_budget):
    namespace = namespace_until(part, WRONG[part][mistake])
    verdict = judged_training(namespace) if part == "train_cgan" else judged(ASSIGNMENT, part, namespace[part])
    assert not verdict.passed
    assert re.search(message, verdict.message), verdict.message


@contextlib.contextmanager
def modules_restored(*modules):
    """Put back every attribute of ``modules`` that the code run inside rebinds. Some gaming answers patch
    torch.allclose or numpy.isclose; in the grading sandbox that dies with the kernel, but here it would
    leak into every later test of the session."""
    saved = [(module, dict(vars(module))) for module in modules]
    try:
        yield
    finally:
        for module, attributes in saved:
            for name in set(vars(module)) - set(attributes):
                delattr(module, name)
            for name, value in attributes.items():
                if name not in vars(module) or vars(module)[name] is not value:
                    setattr(module, name, value)


def judged_walk(source: str):
    with modules_restored(torch, np, np.testing, nn, F):
        namespace = {"torch": torch, "np": np, "nn": nn, "F": F, "lerp": lerp}
        exec(source, namespace)
        return judged(ASSIGNMENT, "interpolate_within_class", namespace["interpolate_within_class"])


@pytest.mark.parametrize("style", sorted(INTERPOLATION_STYLES))
def test_walks_written_by_students_who_never_saw_the_grader_pass(style):
    """An outside role-play wrote these (a loop per image, torch.lerp, numpy, a deepcopy of G in eval mode, G's mode
    restored, two chunks, float64 arithmetic cast back, ...)."""
    verdict = judged_walk(INTERPOLATION_STYLES[style])
    assert verdict.passed, verdict.message


@pytest.mark.parametrize("mistake", sorted(INTERPOLATION_MISTAKES))
def test_walks_that_are_wrong_or_game_the_record_fail(mistake):
    """The same role-play's wrong and gaming walks: among them, G.training = False on the top module only (its
    BatchNorm stays in training mode), float64 latents, images that keep gradients, a cached result, extra
    calls, a rewritten call log, patched comparisons."""
    verdict = judged_walk(INTERPOLATION_MISTAKES[mistake])
    assert not verdict.passed, f"{mistake} passed"


def test_a_gaming_walk_leaves_torch_and_numpy_as_they_were():
    before = (torch.allclose, torch.equal, np.allclose, np.testing.assert_allclose)
    judged_walk(INTERPOLATION_MISTAKES["monkeypatch_allclose_correct_call"])
    assert (torch.allclose, torch.equal, np.allclose, np.testing.assert_allclose) == before
    assert not torch.equal(torch.zeros(2), torch.ones(2))


def test_a_fix_of_minibatch_discrimination_is_judged_on_the_students_discriminator(short_budget):
    namespace = namespace_until("train_cgan", CORRECT["planes"]["train_cgan"])
    exec(ALWAYS_ON_MINIBATCH, namespace)
    verdict = judged_training(namespace, "minibatch")
    assert not verdict.passed and "minibatch=False" in verdict.message, verdict.message
    assert judged_training(namespace, "replay").passed  # the loop itself runs on the grader's networks


@pytest.mark.parametrize("fake,message", [("batch_mean_feature", "holds no learned tensor T"),
                                          ("unused_T_and_batch_mean", "not through minibatch discrimination"),
                                          ("batch_mean_of_xT", "not through minibatch discrimination")])
def test_a_batch_dependence_that_is_not_minibatch_discrimination_fails_the_minibatch_fix(fake, message, short_budget):
    namespace = namespace_until("train_cgan", CORRECT["planes"]["train_cgan"])
    exec(FAKE_MINIBATCH[fake], namespace)
    verdict = judged_training(namespace, "minibatch")
    assert not verdict.passed and message in verdict.message, verdict.message


def test_one_discriminator_call_on_real_and_fake_trains_the_grader_networks_as_two_calls():
    """The budget networks have no batch statistics: D(cat([x, x_fake])) and two calls give the same run.
    In float64, so that the comparison is of the arithmetic, not of float32 round-off (which Adam's normalised
    steps turn into differences of 1e-5 after 5 steps, more or less with the number of threads)."""
    torch.set_default_dtype(torch.float64)
    try:
        def both(train_fn):
            G, D = probes.budget_networks(3)
            images, labels = probes.training_data()
            train_fn(G.double(), D.double(), images[:512].double(), labels[:512], steps=5, batch_size=16,
                     fix="replay", seed=3, lr=2e-3)
            return G, D

        G1, D1 = both(judges.reference_train_cgan)
        G2, D2 = both(_joined_reference)
    finally:
        torch.set_default_dtype(torch.float32)
    pairs = list(zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())))
    assert all(a.dtype == torch.float64 for a, _ in pairs)
    for a, b in pairs:
        assert torch.allclose(a, b, rtol=0, atol=1e-10), "one call and two calls trained differently"


def _joined_reference(G, D, images, labels, steps, batch_size=64, fix="replay", seed=0, device="cpu", lr=2e-3):
    """The reference loop with D's step as one call of D on real and fake images joined (same random draws)."""
    gen = torch.Generator().manual_seed(seed)
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    old_x, old_y = [], []
    for _ in range(steps):
        idx = torch.randint(len(labels), (batch_size,), generator=gen)
        real, real_y = images[idx], labels[idx]
        fake_y = torch.randint(10, (batch_size,), generator=gen)
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.latent_dim, generator=gen), fake_y)
        shown, shown_y = fake, fake_y
        if old_x:
            pool_x, pool_y = torch.cat(old_x), torch.cat(old_y)
            pick = torch.randint(len(pool_y), (batch_size // 2,), generator=gen)
            shown = torch.cat([pool_x[pick], fake[batch_size // 2:]])
            shown_y = torch.cat([pool_y[pick], fake_y[batch_size // 2:]])
        old_x, old_y = (old_x + [fake])[-20:], (old_y + [fake_y])[-20:]
        logits = D(torch.cat([real, shown]), torch.cat([real_y, shown_y]))
        d_loss = F.softplus(-logits[:batch_size]).mean() + F.softplus(logits[batch_size:]).mean()
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        g_y = torch.randint(10, (batch_size,), generator=gen)
        g_loss = F.softplus(-D(G(torch.randn(batch_size, G.latent_dim, generator=gen), g_y), g_y)).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
    return {}


def test_the_training_part_gives_the_same_record_every_time(short_budget):
    namespace = namespace_until("train_cgan", CORRECT["tutorial"]["train_cgan"], "tutorial")
    records = [probe(ASSIGNMENT, "train_cgan", namespace["train_cgan"], "replay", None) for _ in range(2)]
    assert sorted(records[0].arrays) == sorted(records[1].arrays)
    for key, value in records[0].arrays.items():
        assert np.array_equal(value, records[1].arrays[key]), key


def test_a_generator_that_ignores_the_label_fails_the_budget_run_on_accuracy():
    """The accuracy threshold lies well above what a generator blind to the label can reach (chance)."""
    G, _ = probes.budget_networks(0)
    blind = G.forward
    G.forward = lambda z, labels: blind(z, torch.zeros_like(labels))
    assert judges.generator_scores(G)["mean_accuracy"] < judges.thresholds()["mean_accuracy_min"]


def test_reference_artifacts_are_small_and_say_how_they_were_made():
    record = json.loads(judges.THRESHOLDS_FILE.read_text())
    assert {"rule", "thresholds", "runs", "device", "torch", "python", "wall_seconds", "budget"} <= set(record)
    assert record["budget"] == probes.BUDGET and record["evaluation"] == judges.EVAL
    assert len({r["seed"] for r in record["runs"]}) >= 5
    worst_fid, worst_accuracy = max(r["fid"] for r in record["runs"]), min(r["mean_accuracy"] for r in record["runs"])
    assert record["thresholds"]["fid_max"] == pytest.approx(record["fid_margin"] * worst_fid, abs=0.01)
    assert record["thresholds"]["mean_accuracy_min"] == pytest.approx(worst_accuracy - record["accuracy_margin"],
                                                                      abs=1e-4)
    mu, sigma = judges.held_out_statistics()
    assert mu.shape == (64,) and sigma.shape == (64, 64)
    for path in judges.REFERENCE_DIR.iterdir():
        assert path.stat().st_size < 1_000_000, path


def test_the_grader_reference_reaches_its_own_thresholds():
    """One seed of the reference loop under the real budget, scored by the judge's own code."""
    limits = judges.thresholds()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = judges.reference_budget_run("replay", probes.BUDGET["seed"])
    finally:
        torch.set_num_threads(threads)
    assert result["fid"] <= limits["fid_max"] and result["mean_accuracy"] >= limits["mean_accuracy_min"], result


def _visible_training_test() -> str:
    """The visible test of train_cgan, as the student's release notebook has it."""
    nb = nbformat.read(REPO / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_train_cgan")


@pytest.mark.parametrize("answer", ["correct", "missing_detach"])
def test_the_visible_training_test_explains_a_missing_detach_in_the_students_words(answer):
    source = CORRECT["planes"]["train_cgan"] if answer == "correct" else WRONG["train_cgan"]["missing_detach"]
    namespace = namespace_until("train_cgan", source)
    gen = torch.Generator().manual_seed(0)
    namespace.update(train_images=torch.rand(256, 1, 28, 28, generator=gen) * 2 - 1,
                     train_labels=torch.randint(0, 10, (256,), generator=gen))
    if answer == "correct":
        exec(_visible_training_test(), namespace)
    else:
        with pytest.raises(AssertionError, match="detach"):
            exec(_visible_training_test(), namespace)


# --- the whole class through nbgrader ------------------------------------------------------------

SOLVED = CORRECT["planes"]
PLANES_ONE_HOT, PLANES_G = (PLANES[p] for p in ("one_hot", "ConditionalGenerator"))
assert PLANES_ONE_HOT in SOLVED["networks"] and PLANES_G in SOLVED["networks"]
RERUNS = 2  # copies of each of two answers, for determinism (graded at the same time, on two jobs)
REFERENCE = CORRECT["tutorial"]
NEAR_MISS = dict(REFERENCE, train_cgan=REFERENCE["train_cgan"].replace("betas=(0.5, 0.999)", "betas=(0.9, 0.999)"))
assert NEAR_MISS["train_cgan"] != REFERENCE["train_cgan"]

CLASS = {
    # one call of D on real and fake joined (replay), the PyTorch tutorial's idioms; graded four times
    **{f"reference_{i:02d}": Student(answers=REFERENCE) for i in range(RERUNS)},
    # the same with Adam's default betas: loses the training part, four times alike
    **{f"near_miss_{i:02d}": Student(answers=NEAR_MISS, expected={gid: p for gid, p in POINTS.items()
                                                                  if gid != "test_train_cgan"})
       for i in range(RERUNS)},
    # minibatch discrimination as the fix, with the student's own networks and layer
    "alt_embedding": Student(answers=CORRECT["embedding"]),
    # the library's loop, a training-mode evaluate and a spherical walk: nothing
    "library_objects": Student(
        answers={**SOLVED, "networks": LIBRARY_NETWORKS, "train_cgan": next(iter(BORROWED["train_cgan"].values())),
                 "evaluate": WRONG["evaluate"]["training_mode"],
                 "interpolate_within_class": WRONG["interpolate_within_class"]["slerp"]},
        expected=0),
    # wrong training (no detach) and an evaluate that asks for random labels; the walk is right (a cell that
    # hangs is in the attack class, tests/test_grading_attacks.py, whose cells have a shorter time limit)
    "wrong_training_and_evaluate": Student(
        answers={**SOLVED, "train_cgan": WRONG["train_cgan"]["missing_detach"],
                 "evaluate": WRONG["evaluate"]["random_labels"]},
        expected={"test_interpolate_within_class": 3}),
    # assignment 4's networks pasted with two of a4's mistakes: a4 graded them, the portfolio does not
    "own_networks_with_a4_mistakes": Student(
        answers={**SOLVED, "networks": SOLVED["networks"].replace(
            PLANES_ONE_HOT, A4_MISTAKES["one_hot"]["off_by_one"]).replace(
            PLANES_G, A4_MISTAKES["ConditionalGenerator"]["batchnorm_at_output"])}),
    # minibatch discrimination as the fix, but D is the library's, whose layer is a stub while grading
    "minibatch_with_the_library_layer": Student(
        answers={**CORRECT["embedding"], "networks": LIBRARY_NETWORKS},
        expected={"test_evaluate": 3, "test_interpolate_within_class": 3}),
}


globals().update(class_tests(ASSIGNMENT, NOTEBOOK, CLASS, POINTS, cell_timeout=90, student_timeout=600))


def test_every_copy_gets_the_same_points_and_the_same_messages(graded):
    scores = graded.scores()
    for kind in ("reference", "near_miss"):
        copies = [f"{kind}_{i:02d}" for i in range(RERUNS)]
        assert len({tuple(sorted(scores[c].items())) for c in copies}) == 1, {c: scores[c] for c in copies}
        assert len({tuple(student_report(graded.report, c)) for c in copies}) == 1, graded.report


def test_the_near_miss_is_told_what_to_look_at(graded):
    assert re.search(r"betas \(0.9, 0.999\)", "\n".join(student_report(graded.report, "near_miss_00"))), \
        graded.report
