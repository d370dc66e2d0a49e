"""Spatial-frequency activity of deep features (or raw pixels), per pixel.

For each channel, the squared first differences along rows and along columns (shifted
difference, zero at the far border) are added, summed over the channels, then summed over
a ``k x k`` box window (SESF-Fuse, Ma et al. 2021, eq. 5-7; the square root of the
spatial frequency is not needed to compare two activities). Summing over channels before
the box filter is equivalent (the box filter is linear) and 64x cheaper.

Large slices are encoded in overlapping tiles (``tile`` pixels, margin larger than the
encoder's receptive field) after computing the cSE's global pooling over the whole slice
stage by stage, so tiled and untiled activities agree to float rounding.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

from brainfuse.fusion.decision import block_mean
from brainfuse.fusion.inference import EnergyEncoder
from brainfuse.fusion.network import Encoder

__all__ = ["box_sum", "deep_gradient_energy", "gradient_energy", "spatial_frequency_map"]

TILE_MARGIN = 16  # > encoder receptive radius (4) + 1 for the difference


def gradient_energy(f: torch.Tensor) -> torch.Tensor:
    """Channel-summed squared shifted differences.

    Parameters
    ----------
    f : (N, C, H, W) tensor

    Returns
    -------
    (N, H, W) tensor
        ``sum_c (f[y, x] - f[y-1, x])^2 + (f[y, x] - f[y, x-1])^2``, the difference being
        zero in row 0 / column 0.
    """
    n, _, h, w = f.shape
    out = torch.zeros((n, h, w), dtype=f.dtype, device=f.device)
    dr = f[:, :, 1:, :] - f[:, :, :-1, :]
    out[:, 1:, :] += dr.square_().sum(dim=1)
    dc = f[:, :, :, 1:] - f[:, :, :, :-1]
    out[:, :, 1:] += dc.square_().sum(dim=1)
    return out


def box_sum(e: torch.Tensor, k: int) -> torch.Tensor:
    """Sum over a ``k x k`` window (zero outside the image), same size; ``e`` is (N, H, W)."""
    if k <= 1:
        return e
    ones = torch.ones((1, 1, k, k), dtype=e.dtype, device=e.device)
    out = functional.conv2d(e[:, None], ones, padding=k // 2)[:, 0]  # oneDNN: beats avg_pool2d
    return out[:, : e.shape[1], : e.shape[2]]


def to_encoder_grid(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Block-average (N, H, W) images by a whole ``factor`` (the last block clipped).

    The encoder's grid for large slices (:func:`~brainfuse.fusion.settings.encoder_factor`);
    ``factor`` <= 1 returns ``x``.
    """
    if factor <= 1:
        return x
    return block_mean(x, factor)  # avg_pool2d's numbers, several times faster on one thread


def from_encoder_grid(x: torch.Tensor, factor: int, shape: tuple[int, int]) -> torch.Tensor:
    """Bring (N, h, w) maps on the encoder's grid back to (N, *shape), bilinearly.

    The inverse of :func:`to_encoder_grid` for smooth maps; ``factor`` <= 1 returns ``x``.
    """
    if factor <= 1:
        return x
    up = functional.interpolate(
        x[:, None], scale_factor=factor, mode="bilinear", align_corners=False
    )
    return up[:, 0, : shape[0], : shape[1]]


def _tiles(n: int, tile: int, margin: int) -> list[tuple[int, int, int, int]]:
    """(start, stop) of each padded tile and (core_start, core_stop) along one axis."""
    core = max(tile - 2 * margin, 1)
    out = []
    for c0 in range(0, n, core):
        c1 = min(c0 + core, n)
        out.append((max(c0 - margin, 0), min(c1 + margin, n), c0, c1))
    return out


def deep_gradient_energy(
    encoder: Encoder,
    x: torch.Tensor,
    *,
    tile: int | None = None,
    energy: EnergyEncoder | None = None,
    stages: int | None = None,
) -> torch.Tensor:
    """Channel-summed gradient energy of the encoder's deep feature maps.

    Parameters
    ----------
    encoder : Encoder, in eval mode
    x : (N, 1, H, W) tensor in [0, 1]
    tile : int or None
        Encode in ``tile x tile`` pieces (with a :data:`TILE_MARGIN` pixel overlap) when
        the slice is larger; ``None`` encodes it whole.
    energy : EnergyEncoder or None
        The encoder's inference form (same numbers, faster); built here when None.
    stages : int or None
        Sum the feature maps of the first ``stages`` stages only (16 each); None: all 64.

    Returns
    -------
    (N, H, W) tensor
    """
    if energy is None:
        energy = EnergyEncoder(encoder).to(x.device)
    _, _, h, w = x.shape
    if tile is None or (h <= tile and w <= tile):
        return energy(x, stages=stages)
    rows = _tiles(h, tile, TILE_MARGIN)
    cols = _tiles(w, tile, TILE_MARGIN)
    # Global cSE pooling, stage by stage, summed over the tile cores.
    gates: list[torch.Tensor] = []
    n_stages = encoder.n_stages if stages is None else max(1, min(stages, encoder.n_stages))
    for stage in range(n_stages):
        total: torch.Tensor | None = None
        for r0, r1, rc0, rc1 in rows:
            for c0, c1, cc0, cc1 in cols:
                y = encoder.stage_output(x[:, :, r0:r1, c0:c1], stage, gates)
                part = y[:, :, rc0 - r0 : rc1 - r0, cc0 - c0 : cc1 - c0].sum(dim=(2, 3))
                total = part if total is None else total + part
        assert total is not None  # rows and cols each hold at least one tile
        gates.append(encoder.gates_from_means(stage, total / float(h * w)))
    out = torch.empty((x.shape[0], h, w), dtype=x.dtype, device=x.device)
    for r0, r1, rc0, rc1 in rows:
        for c0, c1, cc0, cc1 in cols:
            e = energy(x[:, :, r0:r1, c0:c1], se_scales=gates, stages=n_stages)
            out[:, rc0:rc1, cc0:cc1] = e[:, rc0 - r0 : rc1 - r0, cc0 - c0 : cc1 - c0]
    return out


def spatial_frequency_map(image: np.ndarray, k: int) -> np.ndarray:
    """Raw-pixel spatial-frequency activity (box-summed gradient energy) of a 2-D image."""
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    return box_sum(gradient_energy(t), k)[0].numpy()
