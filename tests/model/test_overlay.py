"""The overlay's blend (:func:`brainfuse.model.overlay.blend_overlay`): the window's fast path is the
formula itself.

A picture as shown (uint8) is blended through a table of every (table index, base value)
pair; any other base goes through the float64 formula. Both must give the same bytes, for
hard and soft maps, grey and colour pictures, every colour table and opacity.
"""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.model.overlay import COLORMAPS, blend_overlay


@pytest.mark.parametrize("colormap", COLORMAPS)
def test_the_table_lookup_gives_the_formula_s_bytes(colormap):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    grey = rgb[..., 0]
    maps = (
        (rng.random((40, 56)) > 0.5).astype(np.uint8),  # hard
        rng.random((40, 56)).astype(np.float32),  # soft
        rng.random((40, 56)) * 1.4 - 0.2,  # outside [0, 1]: clipped
        rng.random((40, 56)) > 0.3,  # bool
    )
    for m in maps:
        for opacity in (0.0, 0.35, 0.4, 1.0):
            fast = blend_overlay(rgb, m, opacity=opacity, colormap=colormap)
            formula = blend_overlay(rgb.astype(np.float64), m, opacity=opacity, colormap=colormap)
            assert fast.dtype == np.uint8 and fast.shape == rgb.shape
            np.testing.assert_array_equal(fast, formula)
            as_grey = blend_overlay(grey, m, opacity=opacity, colormap=colormap)
            repeated = np.repeat(grey[..., None], 3, axis=-1)
            np.testing.assert_array_equal(
                as_grey, blend_overlay(repeated, m, opacity=opacity, colormap=colormap)
            )
    hard = maps[0].astype(bool)
    assert (blend_overlay(rgb, maps[0], opacity=1.0, colormap=colormap)[~hard] == rgb[~hard]).all()
