"""The committed showcase generators and the scripts that make them (chapters 3 and 4)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse import classifier, data, pretrained, train

ROOT = Path(__file__).resolve().parents[1]
RECORD_KEYS = {"model", "steps", "seed", "device", "torch", "torchvision", "wall_seconds", "command", "history"}


@pytest.fixture(scope="module")
def held_out():
    _, (images, labels) = data.split_held_out(*data.load_mnist_embedded())
    return images, labels


@pytest.mark.parametrize("name", sorted(pretrained.BUILDERS))
def test_committed_generator_loads_and_records_how_it_was_made(name):
    G = pretrained.load_generator(name)
    meta = pretrained.load_metadata(name)
    assert RECORD_KEYS <= set(meta) and meta["model"] == name
    assert (pretrained.WEIGHTS / f"{name}_generator.pt").stat().st_size < 6_000_000  # small enough to commit
    assert not G.training


def test_committed_dcgan_is_far_closer_to_real_digits_than_an_untrained_one(held_out):
    # Course-classifier FID, 1,000 vs 1,000 held-out: an untrained DCGAN scores about 4,200 and real
    # training digits about 17. The committed 4,000-step CPU model measured 56; the bound guards
    # against a regression (or a mix-up of weight files) with a wide margin, not against short training.
    images, _ = held_out
    fake = train.sample(pretrained.load_generator("dcgan"), 1000, seed=7)
    assert classifier.classifier_fid(images, fake) < 450


@pytest.mark.parametrize("name", ["cgan", "acgan"])
def test_committed_conditional_generators_draw_the_requested_digit_far_above_chance(name):
    # With 10 classes, a generator that ignores its label is judged right 10% of the time.
    G = pretrained.load_generator(name)
    labels = torch.arange(10).repeat_interleave(50)
    z = torch.randn(len(labels), G.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        images = G(z, labels)
    overall, per_class = classifier.per_class_accuracy(images, labels)
    assert overall > 0.3, f"{name}: the label controls the class for only {overall:.1%} of samples"
    assert (per_class > 0.5).sum() >= 3, f"{name}: per-class accuracy {per_class.round(2)}"


@pytest.mark.parametrize("name", ["cgan", "stylegan"])
def test_train_models_script_writes_weights_progress_and_record(tmp_path, name):
    result = subprocess.run(
        [sys.executable, "scripts/train_models.py", "--models", name, "--steps", "2", "--batch-size", "8",
         "--device", "cpu", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / f"{name}.json").read_text())
    assert RECORD_KEYS <= set(meta) and meta["steps"] == 2 and meta["device"] == "cpu"
    progress = np.load(tmp_path / f"{name}_progress.npz")
    assert {"step_0", "step_2"} <= set(progress.files) and progress["step_2"].dtype == np.uint8
    G = pretrained.load_generator(name, folder=tmp_path)
    if name == "cgan":
        assert G(torch.randn(2, 100), torch.tensor([3, 4])).shape == (2, 1, 28, 28)
    else:
        assert "r1" in meta["history"] and "R1" in meta["optimizer"]
        assert G(torch.randn(2, G.latent_dim)).shape == (2, 1, 28, 28)


def train_models_script():
    """scripts/train_models.py loaded as a module, afresh for each test (each patches its training functions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_models", ROOT / "scripts" / "train_models.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_train_models_trains_the_dcgan_with_chapter_6s_r1_recipe(tmp_path, monkeypatch):
    """The shipped DCGAN's recipe (chapter 6's three-seed ablation): R1 on D, D without dropout, Adam betas 0 / 0.99,
    and its record says so."""
    script = train_models_script()
    seen = {}

    def recorded_train_gan(G, D, images, **options):
        seen.update(options, dropouts=[m.p for m in D.modules() if isinstance(m, torch.nn.Dropout)])
        return train.History()

    monkeypatch.setattr(script.train, "train_gan", recorded_train_gan)
    meta = script.train_one("dcgan", 2, 8, 0, torch.device("cpu"), tmp_path)
    assert seen["r1_gamma"] == 1.0 and seen["betas"] == (0.0, 0.99)
    assert all(p == 0.0 for p in seen["dropouts"]), seen["dropouts"]
    assert meta["optimizer"] == "Adam lr 2e-4 betas (0.0, 0.99); R1 gamma 1 on D, D without dropout"
    assert pretrained.load_metadata("dcgan")["optimizer"] == meta["optimizer"], "the committed DCGAN is this recipe's"


def test_train_models_trains_infogan_with_chapter_6s_recipe(tmp_path, monkeypatch):
    """The shipped InfoGAN's recipe (chapter 6's three-seed ablation): D without dropout, Adam 1e-3 for G and 2e-4
    for D, and its record says so."""
    script = train_models_script()
    seen = {}

    def recorded_train_conditional(kind, G, D, images, labels, **options):
        g_opt = options["g_opt"]
        seen.update(kind=kind, g_lr=g_opt.param_groups[0]["lr"], d_opt=options.get("d_opt"), lr=options.get("lr"),
                    dropouts=[m.p for m in D.modules() if isinstance(m, torch.nn.Dropout)],
                    g_params={id(p) for group in g_opt.param_groups for p in group["params"]})
        seen["G_params"] = {id(p) for p in G.parameters()}
        return train.History()

    monkeypatch.setattr(script.conditional, "train_conditional", recorded_train_conditional)
    meta = script.train_one("infogan", 2, 8, 0, torch.device("cpu"), tmp_path)
    assert seen["kind"] == "infogan" and seen["g_lr"] == 1e-3 and seen["g_params"] == seen["G_params"]
    assert seen["d_opt"] is None and seen["lr"] is None, "D keeps train_conditional's default Adam, 2e-4"
    assert all(p == 0.0 for p in seen["dropouts"]), seen["dropouts"]
    assert meta["optimizer"] == "Adam betas (0.5, 0.999), lr 1e-3 for G and 2e-4 for D; D without dropout"
    committed = pretrained.load_metadata("infogan")["optimizer"]
    assert committed == meta["optimizer"], "the committed InfoGAN is this recipe's"


def test_train_models_trains_the_cgan_with_chapter_6s_r1_recipe(tmp_path, monkeypatch):
    """The shipped cGAN's recipe (chapter 6's three-seed ablation): the DCGAN's R1 recipe, with D's real pairs
    penalised, and its record says so."""
    script = train_models_script()
    seen = {}

    def recorded_train_conditional(kind, G, D, images, labels, **options):
        seen.update(options, kind=kind, dropouts=[m.p for m in D.modules() if isinstance(m, torch.nn.Dropout)])
        return train.History()

    monkeypatch.setattr(script.conditional, "train_conditional", recorded_train_conditional)
    meta = script.train_one("cgan", 2, 8, 0, torch.device("cpu"), tmp_path)
    assert seen["kind"] == "cgan" and seen["r1_gamma"] == 1.0 and seen["betas"] == (0.0, 0.99)
    assert seen["g_opt"] is None and seen.get("d_opt") is None, "both players get train_conditional's Adam, 2e-4"
    assert seen["dropouts"] and all(p == 0.0 for p in seen["dropouts"]), seen["dropouts"]
    assert meta["optimizer"] == "Adam lr 2e-4 betas (0.0, 0.99); R1 gamma 1 on D, D without dropout"
    assert pretrained.load_metadata("cgan")["optimizer"] == meta["optimizer"], "the committed cGAN is this recipe's"


@pytest.mark.parametrize("kind", ["cgan", "acgan"])
def test_train_models_ships_an_average_of_g_for_the_conditional_models(kind, tmp_path, monkeypatch):
    """Chapter 6's three-seed ablation chose an exponential moving average of G (decay 0.995) for the cGAN and the
    ACGAN: the file written is the average, updated after every round, not G; and the committed model is one."""
    script = train_models_script()

    def two_rounds(kind, G, D, images, labels, **options):
        for step, value in enumerate((0.0, 1.0)):  # G's weights are all 0 after round 1, all 1 after round 2
            with torch.no_grad():
                for parameter in G.parameters():
                    parameter.fill_(value)
            options["callback"](step, {})
        return train.History()

    monkeypatch.setattr(script.conditional, "train_conditional", two_rounds)
    meta = script.train_one(kind, 2, 8, 0, torch.device("cpu"), tmp_path)
    saved = torch.load(tmp_path / f"{kind}_generator.pt")
    weights = [value for key, value in saved.items() if key.endswith("weight")]
    # the average starts at round 1's weights (0) and moves 0.005 of the way to round 2's (1)
    assert all(torch.allclose(w.float(), torch.full_like(w.float(), 0.005), atol=1e-4) for w in weights)
    assert "decay 0.995" in meta["generator"]
    assert "decay 0.995" in pretrained.load_metadata(kind).get("generator", ""), "the committed model is the average"


def test_dcgan_ablation_script_writes_one_row_per_variant_and_seed(tmp_path):
    result = subprocess.run(
        [sys.executable, "scripts/dcgan_ablations.py", "--variants", "guidelines", "pooling", "--steps", "2",
         "--seeds", "0", "1", "--device", "cpu", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["variant"], r["seed"]) for r in rows] == [("guidelines", "0"), ("guidelines", "1"),
                                                         ("pooling", "0"), ("pooling", "1")]
    assert all(float(r["fid_course_classifier"]) > 0 for r in rows)
    assert set(np.load(tmp_path / "samples.npz").files) == {"guidelines", "pooling"}
    assert json.loads((tmp_path / "meta.json").read_text())["steps"] == 2


def test_committed_ablation_results_cover_every_variant():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dcgan_ablations", ROOT / "scripts" / "dcgan_ablations.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    folder = ROOT / "results" / "dcgan_ablations"
    with open(folder / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["variant"] for r in rows} == set(script.VARIANTS)
    assert set(np.load(folder / "samples.npz").files) == set(script.VARIANTS)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["steps"] >= 300 and all(int(r["steps"]) == meta["steps"] for r in rows)
