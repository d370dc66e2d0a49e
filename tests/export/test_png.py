"""PNG export: values as displayed, 16-bit, overlay with legend, numbered slices, text chunk."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from brainfuse.export import (
    colormap_lut,
    draw_legend,
    overlay_decision_map,
    write_png,
    write_png_slices,
)
from brainfuse.export.png import PNG_TEXT_KEY


@pytest.fixture
def ramp() -> np.ndarray:
    """A (48, 64) float32 image covering [0, 1]."""
    y, x = np.mgrid[0:48, 0:64]
    return ((x + 64 * y) / (48 * 64 - 1)).astype(np.float32)


def test_8_bit_is_the_displayed_scale_and_carries_provenance(ramp, tmp_path, provenance):
    out = write_png(ramp, tmp_path / "f.png", provenance=provenance)
    with Image.open(out) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), np.round(255 * ramp).astype(np.uint8))
        text = im.text
    assert text["Software"] == provenance["software"]
    assert "cnn" in text["Description"] and provenance["model_sha256"] in text["Description"]
    assert json.loads(text[PNG_TEXT_KEY]) == json.loads(json.dumps(provenance))


def test_8_bit_sources_come_back_exactly(tmp_path):
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = write_png(grey.astype(np.float32) / 255, tmp_path / "g.png")
    with Image.open(out) as im:
        np.testing.assert_array_equal(np.asarray(im), grey)


def test_window_stretches_values(ramp, tmp_path):
    out = write_png(ramp, tmp_path / "w.png", window=(0.25, 0.75))
    with Image.open(out) as im:
        arr = np.asarray(im)
    assert arr[ramp <= 0.25].max() == 0 and arr[ramp >= 0.75].min() == 255


def test_16_bit_keeps_precision(ramp, tmp_path):
    out = write_png(ramp, tmp_path / "f16.png", bit_depth=16)
    with Image.open(out) as im:
        arr = np.asarray(im).astype(np.float64)
    assert arr.max() == 65535
    np.testing.assert_allclose(arr / 65535, ramp, atol=0.5 / 65535 + 1e-7)


def test_overlay_colours_the_ct_side_and_leaves_the_mri_side(ramp, tmp_path):
    dm = np.zeros(ramp.shape, np.uint8)
    dm[:, 32:] = 1
    lut = colormap_lut()  # the screen's table: transparent at 0, opaque at 1
    plain = np.round(255 * ramp)[..., None]
    for opacity in (0.0, 0.4, 1.0):
        rgb = overlay_decision_map(ramp, dm, opacity=opacity)
        expected = np.where(dm[..., None] == 1, (1 - opacity) * plain + opacity * lut[255], plain)
        np.testing.assert_allclose(rgb, expected, atol=0.51)
    soft = overlay_decision_map(ramp, np.full(ramp.shape, 0.5), opacity=1.0)
    half = 128 / 255  # alpha of the table at index round(255 * 0.5)
    np.testing.assert_allclose(soft, plain + half * (lut[128] - plain), atol=0.51)
    with pytest.raises(ValueError, match="opacity"):
        overlay_decision_map(ramp, dm, opacity=1.5)


def test_legend_is_drawn_in_the_corner(tmp_path):
    rgb = np.zeros((128, 128, 3), np.uint8)
    with_legend = draw_legend(rgb, labels=("MRI", "CT"))
    changed = np.argwhere(with_legend.any(axis=-1))
    assert changed.size and changed[:, 0].min() > 64 and changed[:, 1].max() < 64
    assert not rgb.any()  # input untouched
    out = write_png(with_legend, tmp_path / "o.png")
    with Image.open(out) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), with_legend)


def test_volume_as_numbered_slices(ramp, tmp_path, provenance):
    volume = np.stack([ramp, 1 - ramp, ramp / 2])
    files = write_png_slices(volume, tmp_path / "slices", provenance=provenance)
    assert [f.name for f in files] == ["slice_0001.png", "slice_0002.png", "slice_0003.png"]
    for f, expected in zip(files, volume, strict=True):
        with Image.open(f) as im:
            np.testing.assert_array_equal(np.asarray(im), np.round(255 * expected))


def test_bad_shapes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_png(np.zeros((2, 3, 4)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="RGB"):
        write_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png", bit_depth=16)
    assert list(tmp_path.iterdir()) == []


def test_float_colour_is_scaled_like_grey(ramp, tmp_path):
    rgb = np.stack([ramp, 1 - ramp, ramp / 2], axis=-1)
    out = write_png(rgb, tmp_path / "c.png")
    with Image.open(out) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), np.round(255 * rgb))
