"""pipeline.fuse_pair: windows, reference geometry, identity not copied, mismatches refused."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from brainfuse.errors import GeometryMismatchError
from brainfuse.fusion import Fuser
from brainfuse.image import ImageVolume, SourceIdentity
from brainfuse.pipeline import PairResult, fuse_pair


@pytest.fixture(scope="module")
def fuser():
    return Fuser(device="cpu", threads=1)


def _pair(shape=(2, 40, 48)):
    rng = np.random.default_rng(0)
    hu = ndimage.gaussian_filter(rng.normal(30, 40, shape), 1).astype(np.int16)
    mr = (ndimage.gaussian_filter(rng.random(shape), 1) * 900).astype(np.uint16)
    geo = dict(spacing=(0.9, 0.9, 3.0), origin=(-20.0, -15.0, 4.0))
    ct = ImageVolume(hu, modality="CT", units="HU", path="ct.nii", **geo,
                     source=SourceIdentity(patient={"PatientName": "Doe^Jane"}))  # fmt: skip
    mri = ImageVolume(mr, modality="MR", path="mr.nii", **geo,
                      source=SourceIdentity(patient={"PatientName": "Doe^Jane"}))  # fmt: skip
    return ct, mri


def test_fuse_pair_on_one_grid(fuser):
    ct, mri = _pair()
    seen = []
    res = fuse_pair(ct, mri, register="none", fuser=fuser, progress=seen.append)
    assert isinstance(res, PairResult)
    assert res.fused.shape == mri.shape and res.decision_map.shape == mri.shape
    np.testing.assert_allclose(res.fused.affine, mri.affine)
    assert res.fused.source == SourceIdentity()  # identity kept in res.ct / res.mri only
    assert res.mri.source.patient["PatientName"] == "Doe^Jane"
    assert res.windows["ct"].kind == "preset:brain" and res.windows["ct"].units == "HU"
    assert res.windows["mri"].kind == "percentile"
    assert res.ct01.min() >= 0 and res.ct01.max() <= 1
    assert res.decision_map.array.dtype == np.uint8
    assert res.fusion.model_sha256 == fuser.model_sha256
    assert seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:], strict=False))


def test_ct_window_preset_and_manual(fuser):
    ct, mri = _pair()
    bone = fuse_pair(ct, mri, register="none", fuser=fuser, ct_window="bone")
    manual = fuse_pair(ct, mri, register="none", fuser=fuser, ct_window="40/400")
    assert bone.windows["ct"].describe().startswith("preset:bone C500/W2000")
    assert (manual.windows["ct"].center, manual.windows["ct"].width) == (40.0, 400.0)
    assert not np.array_equal(bone.ct01, manual.ct01)


def test_plain_images_of_different_size_are_refused(fuser):
    a = ImageVolume(np.zeros((1, 32, 32), np.uint8), has_geometry=False, format="PNG", path="a.png")
    b = ImageVolume(np.zeros((1, 32, 40), np.uint8), has_geometry=False, format="PNG", path="b.png")
    with pytest.raises(GeometryMismatchError):
        fuse_pair(a, b, fuser=fuser)


def test_eight_bit_pngs_are_used_as_they_are(fuser):
    rng = np.random.default_rng(1)
    arr = (rng.random((1, 32, 32)) * 255).astype(np.uint8)
    a = ImageVolume(arr, has_geometry=False, format="PNG", path="a.png")
    b = ImageVolume(arr[:, ::-1].copy(), has_geometry=False, format="PNG", path="b.png")
    res = fuse_pair(a, b, fuser=fuser)
    assert res.windows["ct"].kind == "8-bit"
    np.testing.assert_array_equal(np.round(res.ct01 * 255), arr)


def test_dev_pair_fuses_between_its_sources(shared_data, fuser):
    from brainfuse.io import load

    pairs = shared_data / "pairs" / "ct-mri"
    ct, mri = load(pairs / "21009_ct.png"), load(pairs / "21009_mri.png")
    res = fuse_pair(ct, mri, fuser=fuser)
    f = res.fused.array[0]
    lo = np.minimum(res.ct01[0], res.mri01[0]) - 1e-6
    hi = np.maximum(res.ct01[0], res.mri01[0]) + 1e-6
    assert np.all((f >= lo) & (f <= hi))  # a convex blend, pixel by pixel
    assert 0.05 < res.decision_map.array.mean() < 0.95  # both sources contribute


def test_lazy_windows_fuse_to_the_same_numbers(fuser):
    from brainfuse.intensity import UnitVolume, to_unit
    from brainfuse.pipeline import PairFusion, align, prepare

    ct, mri = _pair((5, 40, 48))
    aligned = align(ct, mri, register="none")
    eager, lazy = prepare(aligned), prepare(aligned, lazy=True)
    assert isinstance(lazy.ct01, UnitVolume) and isinstance(lazy.mri01, UnitVolume)
    assert lazy.ct01.shape == eager.ct01.shape and lazy.ct01.dtype == np.float32
    assert np.array_equal(lazy.ct01[[3, 1]], eager.ct01[[3, 1]])  # indexed slices only
    assert np.array_equal(np.asarray(lazy.mri01), eager.mri01)
    assert lazy.windows == eager.windows
    results = []
    for prepared in (eager, lazy):
        fusion = PairFusion(prepared, fuser)
        for _ in fusion.steps():
            pass
        results.append(fusion)
    assert np.array_equal(results[0].fused, results[1].fused)
    assert np.array_equal(results[0].decision_map, results[1].decision_map)
    # 8-bit pictures too (used as they are)
    png = ImageVolume(np.arange(256, dtype=np.uint8).reshape(1, 16, 16))
    a, _ = to_unit(png)
    b, _ = to_unit(png, lazy=True)
    assert np.array_equal(b[0:1], a)
