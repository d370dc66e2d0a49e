"""Ruler and region measurements against known geometry and known values."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import PLANES, lps_to_plane
from brainfuse.reading.measure import (
    RAW,
    Region,
    Ruler,
    distance_mm,
    from_dict,
    region_mask,
    scale_bar,
    table,
)

SPACING = (0.7, 0.9, 2.5)  # mm, x y z


def _volume(value=None, shape=(30, 80, 90), modality="CT", direction=None) -> ImageVolume:
    rng = np.random.default_rng(3)
    array = rng.normal(30, 10, shape) if value is None else np.full(shape, value, np.int16)
    return ImageVolume(
        array,
        spacing=SPACING,
        origin=(-31.5, 12.0, -40.0),
        direction=np.eye(3) if direction is None else direction,
        modality=modality,
        units="HU" if modality == "CT" else "",
    )


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[1.0, 0.0, 0.0], [0.0, np.cos(t), -np.sin(t)], [0.0, np.sin(t), np.cos(t)]])


@pytest.mark.parametrize("plane", PLANES)
@pytest.mark.parametrize("direction", [np.eye(3), _rotation(10.0)], ids=["LPS", "oblique"])
def test_a_40_mm_line_reads_40_mm_on_every_plane_of_an_anisotropic_volume(plane, direction):
    vol = _volume(direction=direction)
    centre = vol.affine @ np.array([45.0, 40.0, 15.0, 1.0])
    # A 40 mm segment lying in the plane, at 30 degrees to its rows, built in LPS.
    lay_axes = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}[plane]
    u = np.zeros(3)
    u[lay_axes[0]], u[lay_axes[1]] = np.cos(np.pi / 6), np.sin(np.pi / 6)
    u = vol.direction @ u  # along the grid's own axes (oblique grids too)
    a_lps, b_lps = centre[:3] - 20 * u, centre[:3] + 20 * u
    ia, ra, ca = lps_to_plane(vol, plane, a_lps)
    ib, rb, cb = lps_to_plane(vol, plane, b_lps)
    assert ia == pytest.approx(ib)
    exact = Ruler(plane, round(ia), (ra, ca), (rb, cb))
    assert exact.length_mm(vol) == pytest.approx(40.0, abs=1e-9)
    clicked = Ruler(plane, round(ia), (round(ra), round(ca)), (round(rb), round(cb)))
    assert abs(clicked.length_mm(vol) - 40.0) <= np.linalg.norm(SPACING)  # ± one voxel


def test_distance_between_voxels_uses_the_spacing():
    vol = _volume()
    assert distance_mm(vol, (0, 0, 0), (16, 0, 0)) == pytest.approx(40.0)
    assert distance_mm(vol, (0, 0, 0), (0, 0, 40 / 0.7)) == pytest.approx(40.0)


def test_roi_on_a_constant_60_hu_ct_reads_60_plus_minus_0_hu():
    ct = _volume(60)
    mri = _volume(modality="MR")
    for shape in ("ellipse", "rectangle"):
        roi = Region("coronal", 40, shape, (5.0, 10.0), (20.0, 50.0))
        ct_stats, mri_stats = roi.stats({"ct": ct, "mri": mri})
        assert (ct_stats.mean, ct_stats.sd, ct_stats.minimum, ct_stats.maximum) == (60, 0, 60, 60)
        assert ct_stats.units == "HU" and mri_stats.units == RAW
        assert mri_stats.pixels == ct_stats.pixels
        assert ct_stats.area_mm2 == pytest.approx(ct_stats.pixels * 2.5 * 0.7)
    text = table([roi, Ruler("axial", 3, (0, 0), (0, 40 / 0.7))], {"ct": ct, "mri": mri})
    rows = [line.split("\t") for line in text.splitlines()]
    assert rows[0][:5] == ["#", "tool", "plane", "slice", "source"]
    assert rows[1][4:] == [
        "ct",
        "",
        f"{ct_stats.area_mm2:.1f}",
        "60.0",
        "0.0",
        "60.0",
        "60.0",
        "HU",
        str(ct_stats.pixels),
    ]
    assert rows[2][11] == RAW
    assert rows[3][1] == "ruler" and rows[3][5] == "40.0"
    assert rows[3][3] == "4"  # slice index 3, counted from 1 as the slider shows it


def test_region_areas_match_the_geometry():
    rect = region_mask((100, 100), "rectangle", (10, 20), (19, 39))
    assert rect.sum() == 10 * 20
    ellipse = region_mask((200, 200), "ellipse", (20, 30), (180, 130))
    assert ellipse.sum() == pytest.approx(np.pi * 80 * 50, rel=0.01)
    assert region_mask((10, 10), "ellipse", (4.2, 4.2), (4.2, 4.2)).sum() == 1
    with pytest.raises(BrainFuseError, match="Unknown region kind"):
        region_mask((10, 10), "polygon", (0, 0), (1, 1))


def test_roi_on_the_real_demo_pair_matches_the_voxels(tmp_path):
    from brainfuse.io import demo_pair

    ct, mri = demo_pair()
    roi = Region("axial", 70, "rectangle", (60, 50), (70, 65))
    ct_stats, mri_stats = roi.stats({"ct": ct, "mri": mri})
    block = ct.array[70, 60:71, 50:66].astype(float)
    assert ct_stats.mean == pytest.approx(block.mean()) and ct_stats.units == "HU"
    assert ct_stats.sd == pytest.approx(block.std())
    assert mri_stats.maximum == mri.array[70, 60:71, 50:66].max() and mri_stats.units == RAW
    assert ct_stats.area_mm2 == pytest.approx(11 * 16 * 1.5 * 1.5)


def test_measurements_round_trip_and_bad_input_is_refused():
    r = Region("sagittal", 4, "ellipse", (1.5, 2.0), (8.0, 9.0))
    assert from_dict(r.to_dict()) == r
    ruler = Ruler("axial", 2, (0.0, 1.0), (3.0, 4.0))
    assert from_dict(ruler.to_dict()) == ruler
    with pytest.raises(BrainFuseError, match="Unknown measurement kind"):
        from_dict({**ruler.to_dict(), "kind": "angle"})
    with pytest.raises(BrainFuseError, match="does not exist"):
        Ruler("axial", 99, (0, 0), (1, 1)).length_mm(_volume())


@pytest.mark.parametrize(
    ("mm_per_px", "max_px", "expected_mm"),
    [(0.5, 120, 50.0), (0.25, 100, 20.0), (1.0, 99, 50.0), (0.1, 250, 20.0), (2.0, 50, 100.0)],
)
def test_scale_bar_is_a_round_length_that_fits(mm_per_px, max_px, expected_mm):
    length_mm, length_px = scale_bar(mm_per_px, max_px)
    assert length_mm == expected_mm
    assert length_px == pytest.approx(length_mm / mm_per_px) and length_px <= max_px
