"""The course's MNIST classifier: its committed weights reach the accuracy their record claims, its
features have the documented shape, and the training script runs; per-class accuracy and
course-classifier FID behave as chapter 6 says."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance

from gancourse import classifier as clf
from gancourse import data, train
from tests.conftest import REPO


@pytest.fixture(scope="module")
def held_out():
    _, (images, labels) = data.split_held_out(*data.load_mnist_embedded())
    return images, labels


@pytest.fixture(scope="module")
def net():
    return clf.load_course_classifier()


@pytest.fixture(scope="module")
def predictions(net, held_out):
    with torch.no_grad():
        return net(held_out[0]).argmax(dim=1)


def test_committed_weights_reach_the_held_out_accuracy_recorded_next_to_them(predictions, held_out):
    record = clf.classifier_metadata()
    accuracy = (predictions == held_out[1]).float().mean().item()
    assert record["n_held_out"] == len(held_out[1]) == 1000
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(record["held_out_accuracy"], abs=0.003)  # at most 3 digits may flip


def test_recorded_per_class_accuracy_matches_a_recount_digit_by_digit(predictions, held_out):
    recorded = clf.classifier_metadata()["per_class_accuracy"]
    labels = held_out[1]
    for digit in range(10):
        hits = [int(p) == digit for p, y in zip(predictions.tolist(), labels.tolist()) if y == digit]
        assert sum(hits) / len(hits) == pytest.approx(recorded[digit], abs=0.02), digit


def test_the_record_names_device_seed_versions_and_command():
    record = clf.classifier_metadata()
    for key in ("device", "seed", "torch", "torchvision", "wall_seconds", "command", "feature_dim"):
        assert key in record, key
    assert "train_classifier.py" in record["command"]


def test_loaded_classifier_is_in_eval_mode_and_repeats_its_outputs(net, held_out):
    assert not net.training
    x = held_out[0][:16]
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)


def test_features_are_64_dimensional_and_the_logits_come_from_them(net, held_out):
    x = held_out[0][:32]
    with torch.no_grad():
        feats = net.features(x)
        logits = net(x)
    assert feats.shape == (32, clf.MNISTClassifier.feature_dim) and clf.MNISTClassifier.feature_dim <= 64
    assert logits.shape == (32, 10)
    assert torch.isfinite(feats).all()
    torch.testing.assert_close(net.head(feats), logits)
    # 1,000 held-out digits are many more than 64 dimensions, as FID needs
    assert clf.classifier_features(held_out[0], net).shape == (1000, 64)


def test_images_of_the_wrong_shape_are_refused(net):
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        net.features(torch.zeros(4, 3, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        clf.classifier_features(torch.zeros(4, 784), net)


def test_missing_weights_give_an_error_naming_the_script_that_makes_them(monkeypatch, tmp_path):
    monkeypatch.setattr(clf, "WEIGHTS_FILE", tmp_path / "absent.pt")
    with pytest.raises(FileNotFoundError, match="scripts/train_classifier.py"):
        clf.load_course_classifier()


def _load_script():
    spec = importlib.util.spec_from_file_location("train_classifier", REPO / "scripts" / "train_classifier.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_script_imports_without_running_and_a_tiny_run_writes_weights_and_record(tmp_path):
    script = _load_script()
    assert not list(tmp_path.iterdir())  # importing it trained nothing and wrote nothing
    record = script.main(["--steps", "5", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "mnist_classifier.json").read_text())
    assert written == record
    assert written["steps"] == 5 and written["device"] == str(train.pick_device()) and "--steps 5" in written["command"]
    assert 0.0 <= written["held_out_accuracy"] <= 1.0 and len(written["per_class_accuracy"]) == 10
    state = torch.load(tmp_path / "mnist_classifier.pt", weights_only=True)
    clf.MNISTClassifier().load_state_dict(state)  # the saved state dict fits the model


# --- per-class accuracy -------------------------------------------------------------------------

def test_per_class_accuracy_of_real_held_out_digits_is_high_and_matches_a_plain_loop(net, held_out, predictions):
    images, labels = held_out
    overall, per_class = clf.per_class_accuracy(images, labels, net)
    assert overall >= 0.95
    assert overall == pytest.approx(sum(int(p == y) for p, y in zip(predictions, labels)) / len(labels))
    for digit in range(10):
        members = [i for i in range(len(labels)) if int(labels[i]) == digit]
        expected = sum(int(predictions[i]) == digit for i in members) / len(members)
        assert per_class[digit] == pytest.approx(expected)


def test_per_class_accuracy_with_shuffled_labels_is_near_chance(net, held_out):
    images, labels = held_out
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]
    overall, _ = clf.per_class_accuracy(images, shuffled, net)
    assert abs(overall - 0.1) < 0.04  # chance is 0.1; 1,000 draws give a standard error near 0.01


def test_per_class_accuracy_is_nan_for_a_class_with_no_images_and_refuses_mismatched_labels(net, held_out):
    images, labels = held_out
    keep = labels != 7
    _, per_class = clf.per_class_accuracy(images[keep], labels[keep], net)
    assert np.isnan(per_class[7]) and not np.isnan(per_class[[0, 1, 2, 3, 4, 5, 6, 8, 9]]).any()
    with pytest.raises(ValueError, match="intended labels"):
        clf.per_class_accuracy(images[:10], labels[:9], net)


# --- code purity (InfoGAN's categories against the digits) ------------------------------------------

def test_code_purity_matches_each_code_to_its_own_digit(net, held_out, predictions):
    images, labels = held_out
    accuracy = float((predictions == labels).double().mean())
    assert clf.code_purity(images, labels, net) == pytest.approx(accuracy)
    permuted = (labels * 3 + 1) % 10  # the digits renamed: purity does not care what a code is called
    assert clf.code_purity(images, permuted, net) == pytest.approx(accuracy)
    codes = torch.randint(0, 10, (len(labels),), generator=torch.Generator().manual_seed(2))
    assert clf.code_purity(images, codes, net) < 0.2  # unrelated codes


def test_code_purity_gives_codes_that_share_a_digit_only_one_of_them(net, held_out, predictions):
    """Two codes drawing the same digit, or all codes one digit (a collapse), are not pure: one code per digit."""
    images, labels = held_out
    ones = images[predictions == 1][:100]
    assert clf.code_purity(ones, torch.arange(10).repeat(10), net) == pytest.approx(0.1)
    merged = labels.clone()
    merged[labels == 9] = 4  # the 4s and the 9s under one code; no code left for the 9s
    split = labels.clone()
    split[(labels == 1) & (torch.arange(len(labels)) % 2 == 0)] = 10  # the 1s split over two codes
    expected = float(((predictions == labels) & (labels != 9)).sum()) / len(labels)
    assert clf.code_purity(images, merged, net) == pytest.approx(expected, abs=0.03)
    assert clf.code_purity(images, split, net) < clf.code_purity(images, labels, net) - 0.03


def test_code_purity_refuses_mismatched_or_negative_codes(net, held_out):
    images, labels = held_out
    with pytest.raises(ValueError, match="codes"):
        clf.code_purity(images[:10], labels[:9], net)
    with pytest.raises(ValueError, match="non-negative"):
        clf.code_purity(images[:10], torch.full((10,), -1), net)


class _DigitBank(torch.nn.Module):
    """A stand-in "generator" that returns a real digit of the class it is asked for (``shift`` renames the
    classes; ``ignore_label`` draws one class for every label), so label control is known in advance."""

    latent_dim, n_continuous = 4, 2

    def __init__(self, images, predictions, shift=0, ignore_label=False):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.bank = [images[predictions == d][:5] for d in range(10)]
        self.shift, self.ignore_label = shift, ignore_label

    def forward(self, z, labels, continuous=None):
        wanted = torch.full_like(labels, 3) if self.ignore_label else (labels + self.shift) % 10
        return torch.stack([self.bank[int(d)][i % 5] for i, d in enumerate(wanted)])


def test_label_control_scores_the_label_or_the_code_of_a_known_generator(net, held_out, predictions):
    images, _ = held_out
    obedient = clf.label_control("cgan", _DigitBank(images, predictions), net, n=200)
    assert obedient["accuracy"] == 1.0 and obedient["classes"] == 10  # each digit is one the classifier reads so
    assert clf.label_control("acgan", _DigitBank(images, predictions, ignore_label=True), net, n=200)["accuracy"] \
        == pytest.approx(0.1)
    renamed = _DigitBank(images, predictions, shift=3)  # an unsupervised code need not be called by its digit
    assert clf.label_control("cgan", renamed, net, n=200)["accuracy"] == 0.0
    assert clf.label_control("infogan", renamed, net, n=200)["purity"] == 1.0
    with pytest.raises(ValueError, match="kind"):
        clf.label_control("dcgan", renamed, net)
    with pytest.raises(ValueError, match="multiple of 10"):
        clf.label_control("cgan", renamed, net, n=25)


# --- course-classifier FID ----------------------------------------------------------------------

def test_classifier_fid_is_small_between_real_halves_and_large_against_noise(net, held_out):
    images = held_out[0]
    first, second = images[:500], images[500:]
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_real = clf.classifier_fid(first, second, net)
    real_vs_noise = clf.classifier_fid(first, noise, net)
    assert 0 <= real_vs_real < real_vs_noise / 20, (real_vs_real, real_vs_noise)


def test_classifier_fid_matches_pytorch_fid_on_the_classifier_features(net, held_out):
    images = held_out[0]
    with torch.no_grad():
        a = net.features(images[:500]).double().numpy()
        b = net.features(images[500:]).double().numpy()
    theirs = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert clf.classifier_fid(images[:500], images[500:], net) == pytest.approx(float(theirs), rel=1e-6)


def test_classifier_fid_refuses_fewer_images_than_feature_dimensions(net, held_out):
    with pytest.raises(ValueError, match="more samples than dimensions"):
        clf.classifier_fid(held_out[0][:40], held_out[0][40:80], net)
