"""Claims of gancourse.viz: every figure function runs headless and draws what it says."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

from gancourse.train import History
from gancourse.viz import density_2d, plot_1d, plot_history, scatter_2d, show_samples, show_with_alt


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _moving_average(values, window):
    v = np.asarray(values, dtype=np.float64)
    c = np.concatenate([[0.0], np.cumsum(v)])
    return (c[window:] - c[:-window]) / window


# --- show_samples -------------------------------------------------------------------------------

def test_show_samples_draws_16_digits_as_a_2_by_8_grid_of_62_by_242_pixels():
    images = torch.rand(16, 1, 28, 28) * 2 - 1
    ax = show_samples(images, nrow=8, title="samples")
    assert len(ax.images) == 1
    # make_grid, padding 2: 8 columns of 28 + 2 px plus a closing 2 px border, 2 rows likewise
    assert ax.images[0].get_array().shape[:2] == (2 * 30 + 2, 8 * 30 + 2)
    assert ax.get_title() == "samples"
    assert not ax.axison


def test_show_samples_maps_minus_one_to_black_and_one_to_white_in_padded_tiles():
    images = torch.full((16, 1, 28, 28), -1.0)
    images[1] = 1.0  # second tile of the first row is white
    grid = np.asarray(show_samples(images, nrow=8).images[0].get_array(), dtype=np.float64)
    first_tile = grid[2:30, 2:30]
    second_tile = grid[2:30, 32:60]
    np.testing.assert_allclose(first_tile, 0.0, atol=1e-6)
    np.testing.assert_allclose(second_tile, 1.0, atol=1e-6)
    # the 2 px padding between tiles is one uniform colour across the whole grid
    padding = np.concatenate([grid[0:2, :].reshape(-1, 3), grid[:, 30:32].reshape(-1, 3)])
    assert np.ptp(padding, axis=0).max() == 0.0


def test_show_samples_scales_by_the_fixed_range_minus_one_to_one_not_by_the_batch():
    # a low-contrast batch must stay low-contrast: -0.5 -> 0.25 and 0.5 -> 0.75
    images = torch.full((4, 1, 28, 28), -0.5)
    images[1] = 0.5
    grid = np.asarray(show_samples(images, nrow=4).images[0].get_array(), dtype=np.float64)
    np.testing.assert_allclose(grid[2:30, 2:30], 0.25, atol=1e-6)
    np.testing.assert_allclose(grid[2:30, 32:60], 0.75, atol=1e-6)


def test_show_samples_draws_on_the_axes_it_is_given_and_leaves_the_images_alone():
    _, ax = plt.subplots()
    images = torch.linspace(-1, 1, 4 * 784).reshape(4, 1, 28, 28)
    before = images.clone()
    out = show_samples(images, nrow=2, ax=ax)
    assert out is ax and len(ax.images) == 1
    assert ax.images[0].get_array().shape[:2] == (2 * 30 + 2, 2 * 30 + 2)
    assert torch.equal(images, before)


# --- plot_history -------------------------------------------------------------------------------

def _history(n: int) -> History:
    rng = np.random.default_rng(0)
    h = History()
    for _ in range(n):
        h.append({"d_loss": float(rng.uniform(0.5, 1.5)), "g_loss": float(rng.uniform(0.5, 3.0)),
                  "d_real": float(rng.uniform(0.5, 1.0)), "d_fake": float(rng.uniform(0.0, 0.5)),
                  "d_fake_g": float(rng.uniform(0.0, 0.5))})
    return h


def test_plot_history_draws_smoothed_losses_and_d_outputs_with_the_half_line():
    h = _history(50)
    axes = plot_history(h, smooth=20)
    assert len(axes) == 2
    loss_lines = axes[0].get_lines()
    assert len(loss_lines) == 2
    np.testing.assert_allclose(loss_lines[0].get_xdata(), np.arange(19, 50))
    np.testing.assert_allclose(loss_lines[0].get_ydata(), _moving_average(h.d_loss, 20), rtol=1e-12)
    np.testing.assert_allclose(loss_lines[1].get_ydata(), _moving_average(h.g_loss, 20), rtol=1e-12)
    d_lines = axes[1].get_lines()
    np.testing.assert_allclose(d_lines[0].get_ydata(), _moving_average(h.d_real, 20), rtol=1e-12)
    np.testing.assert_allclose(d_lines[1].get_ydata(), _moving_average(h.d_fake, 20), rtol=1e-12)
    assert any(np.allclose(line.get_ydata(), 0.5) for line in d_lines[2:])
    assert axes[1].get_ylim() == (0.0, 1.0)


def test_plot_history_draws_raw_values_when_the_run_is_shorter_than_the_window():
    h = _history(5)
    _, axes = plt.subplots(1, 2)
    out = plot_history(h, smooth=20, axes=axes)
    assert out is axes
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), h.d_loss)
    np.testing.assert_allclose(axes[1].get_lines()[1].get_ydata(), h.d_fake)


# --- 2-D toys -----------------------------------------------------------------------------------

def test_scatter_2d_draws_real_fake_and_mode_points_where_they_are():
    real = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(50, 2, generator=torch.Generator().manual_seed(1)) + 3
    modes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    ax = scatter_2d(real, fake, modes=modes, lim=4.0, title="ring")
    offsets = [c.get_offsets() for c in ax.collections]
    assert len(offsets) == 3
    np.testing.assert_allclose(offsets[0], real.numpy())
    np.testing.assert_allclose(offsets[1], fake.numpy())
    np.testing.assert_allclose(offsets[2], modes.numpy())
    assert ax.get_xlim() == (-4.0, 4.0) and ax.get_ylim() == (-4.0, 4.0)
    assert ax.get_title() == "ring"


def test_scatter_2d_draws_only_the_real_points_when_alone():
    real = torch.rand(30, 2)
    ax = scatter_2d(real)
    assert len(ax.collections) == 1
    np.testing.assert_allclose(ax.collections[0].get_offsets(), real.numpy())


def test_density_2d_counts_every_point_inside_the_window():
    pts = torch.randn(1000, 2, generator=torch.Generator().manual_seed(2)) * 1.5
    lim = 2.0
    ax = density_2d(pts, lim=lim, bins=40)
    assert len(ax.collections) == 1
    counts = np.asarray(ax.collections[0].get_array(), dtype=np.float64)
    assert counts.size == 40 * 40
    p = pts.double().numpy()
    inside = np.sum(np.all(np.abs(p) <= lim, axis=1))
    assert counts.sum() == inside
    assert 0 < inside < 1000  # some fall outside, so the window matters


# --- 1-D toy ------------------------------------------------------------------------------------

class _LinearLogit(nn.Module):
    """D(x) = sigmoid(2x): a discriminator whose curve is known in closed form."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(1, 1)
        with torch.no_grad():
            self.lin.weight.fill_(2.0)
            self.lin.bias.zero_()

    def forward(self, x):
        return self.lin(x).squeeze(1)


def test_plot_1d_draws_two_density_histograms():
    real = torch.randn(500, 1, generator=torch.Generator().manual_seed(3))
    fake = torch.randn(500, 1, generator=torch.Generator().manual_seed(4)) * 0.5 + 1
    ax = plot_1d(real, fake, lim=5.0, title="1-D")
    assert len(ax.patches) == 2 * 79  # 80 bin edges -> 79 bars per histogram
    heights = np.array([p.get_height() for p in ax.patches])
    width = 10.0 / 79
    # density=True and every sample inside [-5, 5]: each histogram has area one
    assert heights[:79].sum() * width == pytest.approx(1.0, rel=1e-9)
    assert heights[79:].sum() * width == pytest.approx(1.0, rel=1e-9)
    assert ax.get_title() == "1-D"
    assert len(ax.figure.axes) == 1  # no D curve asked for


def test_plot_1d_draws_the_discriminator_curve_on_a_second_axis():
    real = torch.randn(200, 1)
    fake = torch.randn(200, 1)
    ax = plot_1d(real, fake, discriminator=_LinearLogit(), lim=3.0)
    assert len(ax.figure.axes) == 2
    twin = next(a for a in ax.figure.axes if a is not ax)
    curve = twin.get_lines()[0]
    xs = np.asarray(curve.get_xdata(), dtype=np.float64)
    ys = np.asarray(curve.get_ydata(), dtype=np.float64)
    assert len(xs) == 400 and xs[0] == pytest.approx(-3.0) and xs[-1] == pytest.approx(3.0)
    np.testing.assert_allclose(ys, 1.0 / (1.0 + np.exp(-2.0 * xs)), atol=1e-6)
    assert twin.get_ylim() == (0.0, 1.0)


# --- show_with_alt --------------------------------------------------------------------------------

def test_show_with_alt_shows_the_figure_as_a_png_whose_alt_text_is_escaped_and_closes_it(monkeypatch):
    import base64
    import html
    import io
    import re

    import IPython.display
    from PIL import Image

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [0, 1])
    show_with_alt(fig, 'D\'s lr 0.001 & "k" <1>')
    (output,) = shown
    match = re.fullmatch(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', output.data)
    assert match, output.data[:200]
    assert html.unescape(match.group(1)) == 'D\'s lr 0.001 & "k" <1>'
    assert Image.open(io.BytesIO(base64.b64decode(match.group(2)))).format == "PNG"
    assert not plt.fignum_exists(fig.number)
