"""Figures of the course: sample grids, training curves, and 1-D / 2-D toy plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .train import History, evaluating


def _axes(ax, figsize=(5, 5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def show_samples(images: torch.Tensor, nrow: int = 8, ax=None, title: str | None = None):
    """Show images in [-1, 1] as one grid (torchvision's make_grid), grey on black."""
    from torchvision.utils import make_grid  # imported here: torchvision's package import costs ~1.7 s

    grid = make_grid(images.detach().cpu().float(), nrow=nrow, padding=2, normalize=True,
                     value_range=(-1, 1), pad_value=1.0)
    ax = _axes(ax)
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(history: History, smooth: int = 20, axes=None):
    """Two panels: both losses, and mean D(x) / D(G(z)) with the equilibrium value 1/2 marked."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))

    def smoothed(values):
        v = np.asarray(values, dtype=float)
        if smooth <= 1 or len(v) < smooth:
            return np.arange(len(v)), v
        kernel = np.ones(smooth) / smooth
        return np.arange(smooth - 1, len(v)), np.convolve(v, kernel, mode="valid")

    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        axes[0].plot(*smoothed(getattr(history, key)), label=label)
    axes[0].set(xlabel="step", ylabel="loss", title="losses")
    axes[0].legend()
    for key, label in (("d_real", "mean D(x), real"), ("d_fake", "mean D(G(z)), fake")):
        axes[1].plot(*smoothed(getattr(history, key)), label=label)
    axes[1].axhline(0.5, color="grey", ls="--", lw=1, label="1/2")
    axes[1].set(xlabel="step", ylabel="D output", ylim=(0, 1), title="what D says")
    axes[1].legend()
    return axes


def scatter_2d(real: torch.Tensor, fake: torch.Tensor | None = None, modes: torch.Tensor | None = None,
               ax=None, title: str | None = None, lim: float | None = None):
    """Real and generated 2-D points over each other, with the true mode centres as crosses."""
    ax = _axes(ax)
    ax.scatter(*real.detach().cpu().T, s=4, alpha=0.4, label="real", color="tab:blue")
    if fake is not None:
        ax.scatter(*fake.detach().cpu().T, s=4, alpha=0.4, label="generated", color="tab:orange")
    if modes is not None:
        ax.scatter(*modes.cpu().T, marker="x", color="black", s=30, label="modes")
    if lim is not None:
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def density_2d(points: torch.Tensor, lim: float, bins: int = 100, ax=None, title: str | None = None):
    """A 2-D histogram of samples: shows where the mass goes, even where points overlap."""
    ax = _axes(ax)
    p = points.detach().cpu().numpy()
    ax.hist2d(p[:, 0], p[:, 1], bins=bins, range=[[-lim, lim], [-lim, lim]], cmap="magma")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def plot_1d(real: torch.Tensor, fake: torch.Tensor, discriminator=None, ax=None, lim: float = 5.0,
            title: str | None = None):
    """Histograms of 1-D real and generated samples, with D(x) drawn over them on a second axis."""
    ax = _axes(ax, figsize=(7, 3.5))
    bins = np.linspace(-lim, lim, 80)
    ax.hist(real.detach().cpu().numpy().ravel(), bins=bins, density=True, alpha=0.5, label="real")
    ax.hist(fake.detach().cpu().numpy().ravel(), bins=bins, density=True, alpha=0.5, label="generated")
    ax.set(xlabel="x", ylabel="density")
    ax.legend(loc="upper left")
    if discriminator is not None:
        xs = torch.linspace(-lim, lim, 400).unsqueeze(1)
        device = next(discriminator.parameters()).device
        with torch.no_grad(), evaluating(discriminator):  # no dropout noise in the drawn curve
            d = torch.sigmoid(discriminator(xs.to(device))).cpu()
        twin = ax.twinx()
        twin.plot(xs.squeeze(1), d, color="black", lw=1.5, label="D(x)")
        twin.axhline(0.5, color="grey", ls="--", lw=1)
        twin.set(ylim=(0, 1), ylabel="D(x)")
        twin.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


def show_with_alt(fig, alt: str) -> None:
    """Show a finished figure as a PNG image that carries ``alt`` as its text alternative, then close it.

    For figures drawn inside an interactive widget: ``plt.show()`` there gives an image with no alt text, which a
    screen reader announces as an unnamed image, on the rendered page as in a live kernel."""
    import base64
    import html
    import io

    from IPython.display import HTML, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode()
    display(HTML(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'))
