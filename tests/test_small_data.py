"""The additions for training on few images (gancourse.small_data) and the course classifier's readability."""

import pytest
import torch
from torch import nn

from gancourse import classifier, data, nets, small_data


def test_ema_follows_the_weights_at_its_decay():
    net = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(net.weight)
    ema = small_data.ema_of(net, decay=0.9)
    ema.update_parameters(net)  # the first update copies the weights
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update_parameters(net)
    ema.update_parameters(net)
    # 0 -> 0.9 * 0 + 0.1 * 1 = 0.1 -> 0.9 * 0.1 + 0.1 * 1 = 0.19
    assert ema.module.weight.item() == pytest.approx(0.19)
    assert net.weight.item() == 1.0


def test_ema_averages_batchnorm_statistics_too():
    G = nets.DCGANGenerator()
    ema = small_data.ema_of(G)
    G.train()
    G(torch.randn(16, G.latent_dim))
    ema.update_parameters(G)
    bn = next(m for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    bn_ema = next(m for m in ema.module.modules() if isinstance(m, nn.BatchNorm2d))
    assert torch.equal(bn.running_mean, bn_ema.running_mean) and bn.running_mean.abs().sum() > 0


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5])
def test_ema_refuses_a_decay_outside_0_1(decay):
    with pytest.raises(ValueError, match="decay"):
        small_data.ema_of(nn.Linear(1, 1), decay)


def test_diffaugment_without_shift_or_cutout_is_the_identity():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    assert torch.equal(small_data.DiffAugment(shift=0, cutout=0)(x), x)


def test_translation_moves_a_pixel_by_whole_pixels_and_fills_the_border():
    x = torch.full((200, 1, 28, 28), -1.0)
    x[:, 0, 14, 14] = 1.0
    moved = small_data.DiffAugment(shift=0.125, cutout=0, generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal((moved == 1).sum(dim=(1, 2, 3)), torch.ones(200, dtype=torch.long))  # still one bright pixel
    rows, cols = (moved[:, 0] == 1).nonzero()[:, 1], (moved[:, 0] == 1).nonzero()[:, 2]
    assert rows.min() == 14 - 4 and rows.max() == 14 + 4  # 1/8 of 28 is 3.5, rounded to 4 pixels
    assert cols.min() == 10 and cols.max() == 18
    assert set(moved.unique().tolist()) == {-1.0, 1.0}


def test_cutout_blanks_a_square_of_half_the_side():
    x = torch.ones(50, 1, 28, 28)
    cut = small_data.DiffAugment(shift=0, cutout=0.5, background=-1.0, generator=torch.Generator().manual_seed(1))(x)
    assert torch.equal((cut == -1).sum(dim=(1, 2, 3)), torch.full((50,), 14 * 14))
    corners = [tuple((img[0] == -1).nonzero()[0].tolist()) for img in cut]
    assert len(set(corners)) > 10  # the square moves from image to image


def test_diffaugment_passes_gradients_to_what_it_keeps():
    x = torch.ones(8, 1, 28, 28, requires_grad=True)
    out = small_data.DiffAugment(shift=0, cutout=0.5, generator=torch.Generator().manual_seed(2))(x)
    out.sum().backward()
    kept = out.detach() == 1
    assert torch.equal(x.grad, kept.float())


def test_diffaugment_repeats_under_a_seed():
    x = torch.rand(8, 1, 28, 28)
    a = small_data.DiffAugment(generator=torch.Generator().manual_seed(3))(x)
    b = small_data.DiffAugment(generator=torch.Generator().manual_seed(3))(x)
    c = small_data.DiffAugment(generator=torch.Generator().manual_seed(4))(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_spectral_norm_brings_every_layer_of_d_to_unit_spectral_norm():
    torch.manual_seed(0)
    D = small_data.with_spectral_norm(nets.DCGANDiscriminator())
    D.train()
    for _ in range(30):  # the power iteration runs once per forward pass in training mode
        D(torch.randn(4, 1, 28, 28))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3
    for layer in layers:
        assert torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item() == pytest.approx(1.0, abs=0.02)


def test_ttur_gives_d_four_times_g_learning_rate():
    G, D = nets.DCGANGenerator(), nets.DCGANDiscriminator()
    g_opt, d_opt = small_data.ttur_optimizers(G, D)
    assert g_opt.param_groups[0]["lr"] == 1e-4 and d_opt.param_groups[0]["lr"] == 4e-4
    assert {id(p) for p in g_opt.param_groups[0]["params"]} == {id(p) for p in G.parameters()}


def test_readability_of_real_digits_and_of_one_repeated_digit():
    images, _ = data.load_mnist_embedded()
    judge = classifier.load_course_classifier("cpu")
    real = classifier.readability(images[:1000], judge)
    assert real["confident"] > 0.9 and real["classes"] == 10 and sum(real["class_shares"]) == pytest.approx(1.0)
    blank = classifier.readability(torch.full((100, 1, 28, 28), -1.0), judge)
    assert blank["classes"] == 1 and max(blank["class_shares"]) == 1.0
    one = classifier.readability(images[:1].repeat(100, 1, 1, 1), judge)
    assert one["classes"] == 1 and one["confident"] in (0.0, 1.0)


def test_the_ablation_script_scores_g_and_its_average_and_resumes(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    command = [sys.executable, "scripts/small_data_ablations.py", "--variants", "plain", "diffaugment", "--steps", "4",
               "--every", "2", "--seeds", "0", "--jobs", "1", "--samples", "200", "--out", str(tmp_path)]
    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [(r["variant"], r["seed"]) for r in summary["runs"]] == [("plain", 0), ("diffaugment", 0)]
    assert summary["samples"] == 200
    for run in summary["runs"]:
        assert [c["step"] for c in run["checks"]] == [2, 4]
        for check in run["checks"]:
            for net in ("G", "EMA"):
                assert 0 <= check[net]["confident"] <= 1 and 1 <= check[net]["classes"] <= 10 and check[net]["fid"] > 0
    import numpy as np

    pictures = np.load(tmp_path / "samples.npz")
    assert sorted(pictures.files) == [f"{v}_seed0_{net}" for v in ("diffaugment", "plain") for net in ("EMA", "G")]
    assert pictures["plain_seed0_G"].shape == (64, 1, 28, 28) and pictures["plain_seed0_G"].dtype == np.uint8
    # a second call finds both runs written and trains nothing: the same scores, in far less time
    written = tmp_path / "runs" / "plain_seed0.json"
    written.write_text(written.read_text().replace('"variant": "plain"', '"variant": "plain", "kept": 1'))
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and json.loads((tmp_path / "summary.json").read_text())["runs"] == summary["runs"]
    assert '"kept": 1' in written.read_text()


def test_budget_probes_score_g_and_three_averages_and_refuse_an_unknown_probe(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    command = [sys.executable, "scripts/budget_probes.py", "plain", "nodrop+r1+decay", "--steps", "4", "--every", "2",
               "--jobs", "1", "--samples", "200", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for probe in ("plain", "nodrop+r1+decay"):
        record = json.loads((tmp_path / f"{probe}_seed0.json").read_text())
        assert record["probe"] == probe and record["samples"] == 200 and len(record["what"]) == probe.count("+") + 1
        assert [c["step"] for c in record["checks"]] == [2, 4]
        for check in record["checks"]:
            nets_scored = sorted(k for k in check if k not in ("step", "seconds"))
            assert nets_scored == ["EMA 0.99", "EMA 0.995", "EMA 0.999", "G"]
            for scores in (check[k] for k in nets_scored):
                assert 0 <= scores["confident"] <= 1 and 1 <= scores["classes"] <= 10
    wrong = subprocess.run([sys.executable, "scripts/budget_probes.py", "plain+bigger", "--out", str(tmp_path)],
                           cwd=REPO, capture_output=True, text=True, timeout=600)
    assert wrong.returncode != 0 and "unknown probe part(s) ['bigger']" in wrong.stderr


def test_budget_probes_decay_falls_linearly_to_zero_over_the_second_half():
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("budget_probes", REPO / "scripts" / "budget_probes.py")
    probes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probes)
    assert probes.parts_of("nodrop+sn") == ["nodrop", "sn"]
    with pytest.raises(ValueError, match="r1 and fast cannot be joined"):
        probes.parts_of("fast+r1")
    factors = [probes.linear_decay(step, steps=4000) for step in (0, 1999, 2000, 3000, 3999, 4000, 4100)]
    assert factors == [1.0, 1.0, 1.0, 0.5, 0.0005, 0.0, 0.0]


def _conditional_probes():
    import importlib.util
    import sys

    from tests.conftest import REPO

    sys.path.insert(0, str(REPO / "scripts"))  # it reads budget_probes' constants, as it does when run
    try:
        spec = importlib.util.spec_from_file_location("conditional_probes", REPO / "scripts" / "conditional_probes.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return module


def test_conditional_probes_score_accuracy_or_purity_for_g_and_three_averages(tmp_path):
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    command = [sys.executable, "scripts/conditional_probes.py", "cgan", "infogan+info2+glr1e3", "--steps", "4",
               "--every", "2", "--jobs", "1", "--samples", "200", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for probe, matched in (("cgan", "accuracy"), ("infogan+info2+glr1e3", "purity")):
        record = json.loads((tmp_path / f"{probe}_seed0.json").read_text())
        assert record["probe"] == probe and record["samples"] == 200 and len(record["what"]) == probe.count("+")
        assert [c["step"] for c in record["checks"]] == [2, 4]
        for check in record["checks"]:
            nets_scored = sorted(k for k in check if k not in ("step", "seconds"))
            assert nets_scored == ["EMA 0.99", "EMA 0.995", "EMA 0.999", "G"]
            for scores in (v for v in check.values() if isinstance(v, dict)):
                assert sorted(scores) == sorted([matched, "confident", "classes"])
                assert 0 <= scores[matched] <= 1 and 0 <= scores["confident"] <= 1 and 1 <= scores["classes"] <= 10
    assert not list(tmp_path.glob("*.partial.json")), "a finished run leaves no partial record"
    for wrong, message in (("dcgan", "starts with a model"), ("cgan+bigger", "unknown change"),
                           ("acgan+info2", "InfoGAN's information term")):
        refused = subprocess.run([sys.executable, "scripts/conditional_probes.py", wrong, "--out", str(tmp_path)],
                                 cwd=REPO, capture_output=True, text=True, timeout=600)
        assert refused.returncode != 0 and message in refused.stderr, (wrong, refused.stderr[-500:])


def test_conditional_probes_changes_reach_the_players_and_the_step(tmp_path):
    from gancourse import conditional

    probes = _conditional_probes()
    G, D, g_opt, d_opt = probes.players("infogan", ["nodrop", "glr1e3"], seed=0)
    assert g_opt.param_groups[0]["lr"] == 1e-3 and d_opt.param_groups[0]["lr"] == 2e-4
    assert all(m.p == 0.0 for m in D.modules() if isinstance(m, torch.nn.Dropout))
    _, D_plain, g_plain, _ = probes.players("infogan", [], seed=0)
    assert g_plain.param_groups[0]["lr"] == 2e-4
    assert any(m.p == 0.3 for m in D_plain.modules() if isinstance(m, torch.nn.Dropout))
    G_again = probes.players("infogan", [], seed=0)[0]
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), G_again.state_dict().values()))
    original = conditional.STEPS["infogan"]
    seen = []
    conditional.STEPS["infogan"] = lambda *a, **kw: seen.append(kw) or original(*a, **kw)
    try:
        probes.run("infogan+info2", seed=0, steps=1, every=1000, out=tmp_path)
        probes.run("infogan", seed=0, steps=1, every=1000, out=tmp_path)
    finally:
        conditional.STEPS["infogan"] = original
    assert seen == [{"info_weight": 2.0}, {"info_weight": 1.0}], "info2 doubles the information term of its run"
