"""scripts/export_onnx.py: the shipped generators as ONNX graphs give, in onnxruntime, the images PyTorch gives."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from gancourse import classifier, fixes, pretrained, stylegan
from gancourse.latent import StylePool

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("dcgan", "cgan", "acgan", "stylegan")
TOLERANCE = 1e-4  # measured: ~2e-6 for the DCGANs, up to 4e-5 for the StyleGAN (float32 sums in another order)


SHIPPED = ROOT / "book" / "_static" / "models"
# what the export is made from (the Makefile's prerequisites of book/_static/models/manifest.json)
EXPORT_INPUTS = (ROOT / "scripts" / "export_onnx.py", ROOT / "gancourse" / "latent.py",
                 ROOT / "gancourse" / "weights" / "mnist_classifier.pt",
                 *sorted((ROOT / "gancourse" / "weights").glob("*_generator.pt")))


def up_to_date(folder: Path) -> bool:
    """Whether ``folder`` holds an export newer than everything it is made from."""
    manifest = folder / "manifest.json"
    return manifest.is_file() and all(manifest.stat().st_mtime >= path.stat().st_mtime for path in EXPORT_INPUTS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(folder, manifest) of the export the book serves: `make test` and `make book` export into book/_static/models
    just before (the test session's book build does where they did not). An export older than the script or the
    weights is made again, into a temporary folder."""
    folder = SHIPPED
    if not up_to_date(folder):
        folder = tmp_path_factory.mktemp("onnx")
        result = subprocess.run([sys.executable, "scripts/export_onnx.py", "--out", str(folder)],
                                cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        for name in MODELS:
            assert f"exporting {name}" in result.stdout
    return folder, json.loads((folder / "manifest.json").read_text())


def test_a_stale_export_is_told_from_a_fresh_one(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    assert up_to_date(tmp_path)
    newest = max(path.stat().st_mtime for path in EXPORT_INPUTS)
    os.utime(tmp_path / "manifest.json", (newest - 60, newest - 60))
    assert not up_to_date(tmp_path) and not up_to_date(tmp_path / "missing")


def session(folder: Path, name: str):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(folder / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])


def assert_close(onnx_images: np.ndarray, torch_images: torch.Tensor) -> None:
    assert onnx_images.shape == tuple(torch_images.shape) and onnx_images.dtype == np.float32
    difference = np.abs(onnx_images - torch_images.numpy()).max()
    assert difference <= TOLERANCE, f"max |ONNX - PyTorch| = {difference:.2e}"


def latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_manifest_describes_every_file(exported):
    folder, manifest = exported
    assert set(manifest["models"]) == set(MODELS)
    dtypes = {"tensor(float)": "float32", "tensor(int64)": "int64"}
    for name, entry in manifest["models"].items():
        data = (folder / entry["file"]).read_bytes()
        assert entry["bytes"] == len(data) < 6_000_000  # small enough for a web page
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["latent_dim"] == pretrained.load_generator(name).latent_dim
        graph = session(folder, name)
        described = [(i["name"], i["shape"], i["dtype"]) for i in entry["inputs"]]
        assert described == [(i.name, i.shape, dtypes[i.type]) for i in graph.get_inputs()], name
        (output,) = graph.get_outputs()
        out = entry["output"]
        assert (out["name"], out["shape"], out["dtype"]) == (output.name, output.shape, dtypes[output.type])
        assert (out["name"], out["shape"], out["dtype"]) == ("images", ["batch", 1, 28, 28], "float32")
        assert all(i["description"] for i in entry["inputs"])
    for name in ("cgan", "acgan"):
        assert [i["name"] for i in manifest["models"][name]["inputs"]] == ["z", "label"]
    assert manifest["data"]["dcgan_styles"]["bytes"] == (folder / "dcgan_styles.json").stat().st_size


def test_dcgan_matches_pytorch(exported):
    folder, _ = exported
    G, graph = pretrained.load_generator("dcgan"), session(folder, "dcgan")
    for n, seed in [(1, 0), (7, 1), (16, 2)]:
        z = latents(n, G.latent_dim, seed)
        with torch.no_grad():
            expected = G(z)
        assert_close(graph.run(["images"], {"z": z.numpy()})[0], expected)


@pytest.mark.parametrize("name", ["cgan", "acgan"])
def test_conditional_generators_match_pytorch_for_every_label(exported, name):
    folder, _ = exported
    G, graph = pretrained.load_generator(name), session(folder, name)
    cases = [(torch.arange(10), 0), (torch.tensor([7]), 1),
             (torch.randint(10, (12,), generator=torch.Generator().manual_seed(2)), 3)]
    for labels, seed in cases:
        z = latents(len(labels), G.latent_dim, seed)
        with torch.no_grad():
            expected = G(z, labels)
        assert_close(graph.run(["images"], {"z": z.numpy(), "label": labels.numpy()})[0], expected)


def test_stylegan_matches_pytorch_with_mixing_truncation_and_explicit_noise(exported):
    folder, _ = exported
    G, graph = pretrained.load_generator("stylegan"), session(folder, "stylegan")
    with torch.no_grad():  # chapter 7's average w, by hand
        w_mean = G.mapping(latents(10_000, G.latent_dim, 0)).mean(0)
    assert torch.equal(w_mean, stylegan.average_w(G))

    def onnx_images(z_a, z_b, crossover, psi, noise):
        feeds = {"z_a": z_a.numpy(), "z_b": z_b.numpy(), "crossover": np.array(crossover, dtype=np.int64),
                 "psi": np.array(psi, dtype=np.float32), **{f"noise_{i}": m.numpy() for i, m in enumerate(noise)}}
        return graph.run(["images"], feeds)[0]

    for n, seed in [(1, 10), (6, 20)]:
        z_a, z_b = latents(n, G.latent_dim, seed), latents(n, G.latent_dim, seed + 1)
        noise = G.make_noise(n, torch.Generator().manual_seed(seed + 2))
        with torch.no_grad():  # crossover = num_styles and psi = 1: the plain generator
            plain = G(z_a, noise)
        assert_close(onnx_images(z_a, z_b, G.num_styles, 1.0, noise), plain)
        for crossover, psi in [(4, 1.0), (4, 0.7), (0, 0.5), (2, 0.0)]:
            with torch.no_grad():
                w_a = fixes.truncate_toward_mean(G.mapping(z_a), w_mean, psi)
                w_b = fixes.truncate_toward_mean(G.mapping(z_b), w_mean, psi)
                expected = G.synthesis(stylegan.mix_styles(w_a, w_b, G.num_styles, crossover), noise)
            assert_close(onnx_images(z_a, z_b, crossover, psi, noise), expected)
        # the noise is an input, not a draw inside the graph: other noise, other images (by up to ~0.3)
        other = G.make_noise(n, torch.Generator().manual_seed(seed + 3))
        changed = np.abs(onnx_images(z_a, z_b, G.num_styles, 1.0, other) - plain.numpy()).max()
        assert changed > 0.01, changed


def test_the_style_groups_are_chapter_3s(exported):
    """dcgan_styles.json, which chapter 3's live arithmetic panel reads, holds the chapter's pool's groups and
    boldness direction (latent.StylePool with the chapter's settings), recomputed here."""
    folder, _ = exported
    styles = json.loads((folder / "dcgan_styles.json").read_text())
    pool = StylePool(pretrained.load_generator("dcgan"), classifier.load_course_classifier(), n=4000, seed=11)
    assert styles["latent_dim"] == 100 and styles["model"] == "dcgan"
    assert np.abs(np.array(styles["boldness"]) - pool.direction("bold", "thin").numpy()).max() < 1e-5
    for style in ("thin", "bold"):
        assert len(styles["groups"][style]) == 10
        for digit, latents in enumerate(styles["groups"][style]):
            assert np.abs(np.array(latents) - pool.group(digit, style, 6).numpy()).max() < 1e-5, (style, digit)
    # the groups are what their names say: thin ones use less ink than bold ones of the same digit
    G = pretrained.load_generator("dcgan")
    with torch.no_grad():
        ink = {style: [float(G(torch.tensor(z)).mean()) for z in styles["groups"][style]] for style in ("thin", "bold")}
    assert all(t < b for t, b in zip(ink["thin"], ink["bold"])), ink


def test_export_says_which_weight_file_is_missing(tmp_path):
    result = subprocess.run([sys.executable, "scripts/export_onnx.py", "--models", "dcgan", "--weights",
                             str(tmp_path), "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "dcgan_generator.pt is missing" in result.stderr and "train_models.py" in result.stderr
    assert not (tmp_path / "out").exists()
