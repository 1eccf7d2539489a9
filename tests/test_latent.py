"""The latent paths of chapter 3, checked against geometry rather than against their own formula."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.latent import lerp, slerp


def _pair(d: int = 100, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(d, generator=gen, dtype=torch.float64), torch.randn(d, generator=gen, dtype=torch.float64)


def _angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.atan2(float(torch.linalg.norm(a - (a @ b) / (b @ b) * b) * b.norm()), float(a @ b))


@pytest.mark.parametrize("path", [lerp, slerp])
def test_both_paths_start_at_z0_and_end_at_z1(path):
    z0, z1 = _pair()
    assert torch.allclose(path(z0, z1, 0.0), z0, atol=1e-12)
    assert torch.allclose(path(z0, z1, 1.0), z1, atol=1e-12)
    ends = path(z0, z1, torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert torch.allclose(ends, torch.stack([z0, z1]), atol=1e-12)


@pytest.mark.parametrize("path", [lerp, slerp])
def test_a_batch_of_positions_gives_one_row_per_position(path):
    z0, z1 = (z.float() for z in _pair(d=7))
    ts = torch.linspace(0, 1, 5)
    rows = path(z0, z1, ts)
    assert rows.shape == (5, 7)
    for t, row in zip(ts, rows):
        assert torch.allclose(row, path(z0, z1, float(t)), atol=1e-6)
    # a column of positions (what a slerp that made one hands to lerp) gives the same rows; other 2-D shapes are refused
    assert torch.equal(path(z0, z1, ts[:, None]), rows)
    with pytest.raises(ValueError, match="column"):
        path(z0, z1, ts.reshape(1, 5))


def test_lerp_moves_along_the_straight_line_at_constant_speed():
    z0, z1 = _pair(seed=1)
    points = lerp(z0, z1, torch.linspace(0, 1, 11, dtype=torch.float64))
    steps = (points[1:] - points[:-1]).norm(dim=1)
    assert torch.allclose(steps, (z1 - z0).norm() / 10)


def test_slerp_keeps_the_length_of_equal_norm_endpoints():
    z0, z1 = _pair(seed=2)
    z1 = z1 / z1.norm() * z0.norm()
    points = slerp(z0, z1, torch.linspace(0, 1, 21, dtype=torch.float64))
    assert torch.allclose(points.norm(dim=1), z0.norm().expand(21), rtol=1e-10)
    midpoint = lerp(z0, z1, 0.5)
    assert midpoint.norm() < 0.9 * z0.norm()  # what the straight line loses, for contrast


def test_slerp_angle_from_z0_grows_linearly_in_t():
    z0, z1 = _pair(seed=3)
    z1 = z1 / z1.norm() * z0.norm()  # the great circle of the formula needs endpoints of one length
    total = _angle(z1, z0)
    for t in (0.1, 0.25, 0.5, 0.8):
        assert math.isclose(_angle(slerp(z0, z1, t), z0), t * total, rel_tol=1e-9)
        assert math.isclose(_angle(slerp(z0, z1, t), z1), (1 - t) * total, rel_tol=1e-9)


def test_slerp_stays_in_the_plane_of_its_endpoints():
    z0, z1 = _pair(seed=4)
    basis, _ = torch.linalg.qr(torch.stack([z0, z1], dim=1))
    point = slerp(z0, z1, 0.37)
    assert torch.allclose(basis @ (basis.T @ point), point, atol=1e-10)


@pytest.mark.parametrize("scale", [1.0, 2.5, 1 + 1e-9])
def test_slerp_of_parallel_vectors_falls_back_to_the_straight_line(scale):
    z0 = _pair(seed=5)[0].float()
    z1 = z0 * scale
    for t in (0.0, 0.3, torch.linspace(0, 1, 4)):
        out = slerp(z0, z1, t)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, lerp(z0, z1, t), rtol=1e-5, atol=1e-6)


class _InkByLatent(torch.nn.Module):
    """A stand-in generator whose image is all one grey level, set by z[0]: ink is known in advance."""
    latent_dim = 3

    def forward(self, z):
        return torch.tanh(z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


class _DigitBySign(torch.nn.Module):
    """A stand-in classifier: digit 1 when the image is brighter than mid-grey, else 0, always confident."""

    def forward(self, x):
        bright = (x.mean(dim=(1, 2, 3)) > 0).long()
        return 20.0 * torch.nn.functional.one_hot(bright, 10).float()


def test_style_pool_sorts_each_digit_by_ink():
    from gancourse.latent import StylePool

    pool = StylePool(_InkByLatent(), _DigitBySign(), n=500, seed=3)
    ones_bold, ones_thin = pool.group(1, "bold", 10), pool.group(1, "thin", 10)
    assert (ones_bold[:, 0] > 0).all() and (ones_thin[:, 0] > 0).all()  # class 1 = positive z[0]
    assert torch.all(ones_bold[:-1, 0] >= ones_bold[1:, 0]), "bold: boldest first"
    assert torch.all(ones_thin[:-1, 0] <= ones_thin[1:, 0]), "thin: thinnest first"
    assert ones_bold[-1, 0] > ones_thin[-1, 0]
    assert len(pool.group(5, "bold")) == 0  # no confident 5s in this pool
    with pytest.raises(ValueError, match="'bold' or 'thin'"):
        pool.group(1, "heavy")


def test_style_direction_is_the_mean_of_the_per_digit_differences():
    from gancourse.latent import StylePool

    pool = StylePool(_InkByLatent(), _DigitBySign(), n=500, seed=3)
    pool.digit[:] = torch.arange(500) % 10  # every digit present, ink still from z[0]
    by_hand = torch.stack([pool.group(d, "bold", 5).mean(0) - pool.group(d, "thin", 5).mean(0)
                           for d in range(10)]).mean(0)
    assert torch.allclose(pool.direction("bold", "thin", 5), by_hand)
    assert pool.direction("bold", "thin", 5)[0] > 1.0  # bold minus thin: more ink, larger z[0]
    assert torch.allclose(pool.direction("thin", "bold", 5), -by_hand)
