"""Anatomy retention metrics against hand-made images with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainfuse.errors import UnsupportedInputError
from brainfuse.metrics import (
    METRIC_NAMES,
    bone_kept,
    bone_mask,
    brain_clean,
    brain_kept,
    fusion_metrics,
    intracranial_mask,
    skull_kept,
    skull_mask,
)

N = 96
C = (N - 1) / 2.0  # centre between pixels: the left and right halves are mirror images


def _radius() -> np.ndarray:
    y, x = np.mgrid[0:N, 0:N]
    return np.hypot(y - C, x - C)


@pytest.fixture(scope="module")
def head() -> dict[str, np.ndarray]:
    """A skull ring (CT 255, MRI 20), the brain inside (CT 100, MRI 160 with texture), air 0."""
    r = _radius()
    ring = (r >= 36) & (r < 42)
    brain = r < 36
    ct = np.zeros((N, N), np.uint8)
    ct[ring] = 255
    ct[brain] = 100
    texture = (np.indices((N, N)).sum(axis=0) % 7) * 3  # 0..18 grey levels
    mri = np.zeros((N, N), np.uint8)
    mri[ring] = 20
    mri[brain] = 160 + texture[brain]
    return {"ct": ct, "mri": mri, "ring": ring, "brain": brain}


def test_masks_follow_the_definition(head):
    b = bone_mask(head["ct"])
    assert np.array_equal(b, head["ring"])
    c = intracranial_mask(b)
    # inside the ring, two pixels (cross-shaped dilation) clear of it
    assert c.sum() > 0 and not (c & head["ring"]).any()
    assert c.sum() < head["brain"].sum()
    r = _radius()
    assert c[r < 33].all() and not c[(r >= 35.5) & (r < 36)].any()


def test_fused_copy_of_each_source(head):
    ct, mri = head["ct"], head["mri"]
    assert bone_kept(ct, ct) == 1.0
    assert brain_kept(ct, ct, mri) == 0.0  # CT brain 100 vs MRI >= 160
    assert bone_kept(mri, ct) == 0.0  # MRI skull 20 vs CT 255
    assert brain_kept(mri, ct, mri) == 1.0


def test_half_the_ring_kept_gives_one_half(head):
    ct, mri, ring = head["ct"], head["mri"], head["ring"]
    left = np.arange(N)[None, :] < C
    fused = np.where(ring & left, ct, mri)
    assert bone_kept(fused, ct) == 0.5
    assert brain_kept(fused, ct, mri) == 1.0


def test_tolerance_is_25_grey_levels_inclusive(head):
    ct, mri, ring, brain = head["ct"], head["mri"], head["ring"], head["brain"]
    assert bone_kept(np.where(ring, 230.0, ct), ct) == 1.0
    assert bone_kept(np.where(ring, 229.5, ct), ct) == 0.0
    assert brain_kept(np.where(brain, mri + 25.0, mri), ct, mri) == 1.0
    assert brain_kept(np.where(brain, mri + 25.5, mri), ct, mri) == 0.0


def test_nan_below_fifty_pixels():
    ct = np.zeros((40, 40), np.uint8)
    ct[10:17, 10:17] = 255  # 49 bone pixels, no enclosed interior
    assert math.isnan(bone_kept(ct, ct))
    assert math.isnan(brain_kept(ct, ct, ct))
    ct[17, 10] = 255  # 50 pixels
    assert bone_kept(ct, ct) == 1.0


def test_hounsfield_mask_differs_from_the_windowed_image(head):
    """With HU the bone is HU >= 300, whatever the window made of the CT."""
    hu = np.where(head["ring"], 1000.0, np.where(head["brain"], 35.0, -1000.0))
    hu[45:55, 45:55] = 250.0  # dense but not bone: saturated in a brain window
    windowed = np.clip((hu - 0.0) / 80.0 * 255.0, 0, 255)  # brain window 40/80
    assert bone_mask(windowed).sum() == head["ring"].sum() + 100
    assert np.array_equal(bone_mask(windowed, ct_scale="hu", ct_hu=hu), head["ring"])
    fused = np.where(head["ring"], windowed, 0.0)  # keeps the ring, drops the dense patch
    assert bone_kept(fused, windowed, ct_scale="hu", ct_hu=hu) == 1.0
    assert bone_kept(fused, windowed) < 1.0


def test_bad_scale_arguments(head):
    ct = head["ct"]
    with pytest.raises(UnsupportedInputError):
        bone_kept(ct, ct, ct_scale="hu")
    with pytest.raises(UnsupportedInputError):
        bone_kept(ct, ct, ct_hu=ct.astype(float))
    with pytest.raises(UnsupportedInputError):
        bone_kept(ct, ct, ct_scale="kelvin")  # type: ignore[arg-type]


def test_fusion_metrics_reports_both_only_for_a_ct(head):
    ct, mri = head["ct"], head["mri"]
    left = np.arange(N)[None, :] < C
    fused = np.where(head["ring"] & left, ct, mri)
    scores = fusion_metrics(fused, ct, mri, ct_scale="8-bit")
    assert tuple(scores) == METRIC_NAMES
    assert scores["bone_kept"] == 0.5 and scores["brain_kept"] == 1.0
    not_ct = fusion_metrics(fused, ct, mri)
    assert math.isnan(not_ct["bone_kept"]) and math.isnan(not_ct["brain_kept"])
    assert not_ct["ssim"] == scores["ssim"]


def test_skull_mask_grows_from_saturated_bone_only(head):
    """A bright parenchyma spot (220, below saturation, not touching the ring) is bone for
    ``CT >= 200`` but not for the skull mask; the ring and a 210 band touching it are."""
    ct = head["ct"].copy()
    r = _radius()
    spot = r < 6
    ct[spot] = 220
    band = (r >= 34) & (r < 36)  # inner table, below saturation, touching the ring
    ct[band] = 210
    s = skull_mask(ct)
    assert np.array_equal(s, head["ring"] | band)
    assert bone_mask(ct)[spot].all() and not s[spot].any()
    k = intracranial_mask(s)
    assert k[spot].all()
    # the MRI's brain everywhere inside: clean; the CT's spot pasted in: not clean
    fused = np.where(head["ring"] | band, ct, head["mri"])
    assert skull_kept(fused, ct) == 1.0 and brain_clean(fused, ct, head["mri"]) == 1.0
    speckled = np.where(spot, ct, fused)
    expected = 1.0 - spot.sum() / k.sum()
    assert brain_clean(speckled, ct, head["mri"]) == pytest.approx(expected)
    # brain_kept cannot see the speckle: the spot is "bone" there, outside its mask
    assert brain_kept(speckled, ct, head["mri"]) == brain_kept(fused, ct, head["mri"])


def test_skull_mask_in_hounsfield_units(head):
    hu = np.where(head["ring"], 1200.0, 30.0)
    hu[_radius() < 5] = 400.0  # a calcification below cortical density, apart from the ring
    windowed = np.clip((hu + 40) / 160 * 255, 0, 255)
    s = skull_mask(windowed, ct_scale="hu", ct_hu=hu)
    assert np.array_equal(s, head["ring"])
    with pytest.raises(UnsupportedInputError):
        skull_mask(windowed, ct_scale="hu")
    scores = fusion_metrics(windowed, windowed, head["mri"], ct_scale="hu", ct_hu=hu)
    assert scores["skull_kept"] == 1.0 and scores["brain_clean"] < 0.5
