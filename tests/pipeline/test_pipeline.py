"""pipeline.fuse_pair: windows, reference geometry, identity not copied, mismatches refused."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from brainfuse.errors import GeometryMismatchError
from brainfuse.fusion import Fuser
from brainfuse.model.image import ImageVolume, SourceIdentity
from brainfuse.pipeline import PairResult, align, fuse_pair, prepare


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
    ct01 = np.asarray(res.ct01)
    assert ct01.dtype == np.float32 and ct01.min() >= 0 and ct01.max() <= 1
    assert res.decision_map.array.dtype == np.uint8
    assert res.fusion.model_sha256 == fuser.model_sha256
    assert seen[-1] == 1.0 and all(b >= a for a, b in itertools.pairwise(seen))


def test_ct_window_preset_and_manual(fuser):
    ct, mri = _pair()
    bone = fuse_pair(ct, mri, register="none", fuser=fuser, ct_window="bone")
    manual = fuse_pair(ct, mri, register="none", fuser=fuser, ct_window="40/400")
    assert bone.windows["ct"].describe().startswith("preset:bone C500/W2000")
    assert (manual.windows["ct"].center, manual.windows["ct"].width) == (40.0, 400.0)
    assert not np.array_equal(np.asarray(bone.ct01), np.asarray(manual.ct01))


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
    np.testing.assert_array_equal(np.round(np.asarray(res.ct01) * 255), arr)


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


def test_pair_fusion_goes_slice_first_writes_in_place_and_cancels(fuser):
    import threading

    from brainfuse.errors import CancelledError
    from brainfuse.grid import align_pair
    from brainfuse.pipeline import PairFusion, prepare

    ct, mri = _pair((7, 40, 48))
    prepared = prepare(align_pair(ct, mri, register="none"), None, None)
    fusion = PairFusion(prepared, fuser)
    fused_array = fusion.fused
    seen = []
    for step in fusion.steps(first=5):
        seen.append(step.index)
        assert fusion.done[step.index] and fusion.done.sum() == step.done == len(seen)
        assert step.total == 7
    assert seen == [5, 4, 6, 3, 2, 1, 0]  # the shown slice, then outwards from it
    assert fusion.fused is fused_array  # preallocated, filled in place
    whole = fuse_pair(ct, mri, register="none", fuser=fuser)
    np.testing.assert_array_equal(fusion.result().fused.array, whole.fused.array)
    np.testing.assert_array_equal(fusion.decision_map, whole.decision_map.array)
    assert fusion.result().fusion.model_sha256 == fuser.model_sha256

    stop = threading.Event()
    again = PairFusion(prepared, Fuser(device="cpu", threads=1, batch=2))
    steps = again.steps(first=0, cancel=stop)
    next(steps)
    stop.set()
    with pytest.raises(CancelledError):
        list(steps)
    assert 1 <= again.done.sum() < 7  # stopped between batches, what is done stays done


def test_ct_presets_are_refused_for_an_8_bit_ct(fuser):
    from brainfuse.model.intensity import WindowError

    arr = np.full((1, 16, 16), 100, np.uint8)
    a = ImageVolume(arr, has_geometry=False, format="PNG", path="a.png", modality="CT")
    with pytest.raises(WindowError, match="Hounsfield"):
        fuse_pair(a, a.with_array(arr.copy()), fuser=fuser, ct_window="bone")


def test_lazy_windowing_gives_the_same_numbers_without_a_whole_float_copy():
    from brainfuse.model.intensity import UnitVolume, to_unit

    ct, mri = _pair((5, 20, 24))
    for volume, window in ((ct, "subdural"), (mri, None), (ct, (30.0, 90.0))):
        eager, used = to_unit(volume, window)
        lazy, used_lazy = to_unit(volume, window, lazy=True)
        assert isinstance(lazy, UnitVolume) and used_lazy == used
        assert lazy.shape == eager.shape and lazy.ndim == 3 and lazy.array is volume.array
        np.testing.assert_array_equal(lazy[3], eager[3])
        np.testing.assert_array_equal(lazy[[4, 1]], eager[[4, 1]])
        np.testing.assert_array_equal(np.asarray(lazy), eager)


def test_lazy_bone_prior_finds_the_same_bone_slice_by_slice():
    from brainfuse.model.intensity import BoneVolume, volume_bone_mask

    ct, mri = _pair((5, 20, 24))
    hu = ct.array.copy()
    hu[:, 2:4, :] = 900  # a band of bone in every slice
    ct = ct.with_array(hu)
    eager = volume_bone_mask(ct)
    lazy = volume_bone_mask(ct, lazy=True)
    assert isinstance(lazy, BoneVolume) and lazy.array is ct.array and lazy.shape == eager.shape
    assert eager.any() and not eager.all()  # the test pair has bone and soft tissue
    np.testing.assert_array_equal(lazy[2], eager[2])
    np.testing.assert_array_equal(lazy[[4, 0]], eager[[4, 0]])
    np.testing.assert_array_equal(np.asarray(lazy), eager)
    # the pipeline keeps the lazy form, and the fusion reads the same bone from it
    prepared = prepare(align(ct, mri, register="none"), lazy=True)
    assert isinstance(prepared.bone, BoneVolume)
    np.testing.assert_array_equal(prepared.bone[1], eager[1])


def test_soft_map_is_stored_in_16_bits_and_the_fused_slices_are_its_composition(fuser):
    """Half the memory, and an edit or a window change still recomposes bit for bit."""
    from brainfuse.fusion.compose import compose
    from brainfuse.pipeline import SOFT_DTYPE, PairFusion

    ct, mri = _pair((3, 40, 48))
    prepared = prepare(align(ct, mri, register="none"))
    fusion = PairFusion(prepared, fuser)
    list(fusion.steps())
    assert fusion.soft_map.dtype == SOFT_DTYPE == np.float16
    assert 0 < fusion.soft_map.mean() < 1  # a real map
    ct01, mri01 = np.asarray(prepared.ct01), np.asarray(prepared.mri01)
    # the fused image is exactly the composition of the stored weight ...
    np.testing.assert_array_equal(fusion.fused, compose(fusion.soft_map, ct01, mri01))
    # ... and within the weight's 16-bit rounding of the engine's own float32 composition
    bone = None if prepared.bone is None else np.asarray(prepared.bone)
    own = fuser.fuse(ct01, mri01, bone=bone, spacing=mri.spacing)  # one volume, as PairFusion
    assert np.abs(own.soft_map - fusion.soft_map).max() <= 2.5e-4
    assert np.abs(own.fused - fusion.fused).max() <= 2.5e-4
    assert np.array_equal(own.decision_map, fusion.decision_map)


def _stored_and_lazy(fuser):
    """The same 4-slice pair fused twice, to arrays and with ``store_fused=False``."""
    from brainfuse.pipeline import PairFusion

    ct, mri = _pair((4, 40, 48))
    prepared = prepare(align(ct, mri, register="none"))
    stored, lazy = PairFusion(prepared, fuser), PairFusion(prepared, fuser, store_fused=False)
    list(stored.steps())
    list(lazy.steps())
    return stored, lazy


def test_a_fusion_that_only_writes_composes_the_same_fused_volume_when_read(fuser, tmp_path):
    """``store_fused=False`` keeps no fused array; every read gives the stored fusion's numbers."""
    from brainfuse.export import write_nifti
    from brainfuse.pipeline.composed import ComposedVolume

    stored, lazy = _stored_and_lazy(fuser)
    assert isinstance(lazy.fused, ComposedVolume)
    np.testing.assert_array_equal(lazy.soft_map, stored.soft_map)
    np.testing.assert_array_equal(np.asarray(lazy.fused), stored.fused)
    np.testing.assert_array_equal(lazy.fused[2], stored.fused[2])
    np.testing.assert_array_equal(lazy.fused[1:3], stored.fused[1:3])
    np.testing.assert_array_equal(lazy.fused[[3, 0]], stored.fused[[3, 0]])
    np.testing.assert_array_equal(np.stack(list(lazy.fused)), stored.fused)
    result = lazy.result()
    assert result.fused.array is lazy.fused  # the result's volume is not made whole
    assert result.fused.shape == (4, 40, 48) and result.fused.n_slices == 4
    written = [write_nifti(r.fused, tmp_path / f"{n}.nii") for n, r in
               (("lazy", result), ("stored", stored.result()))]  # fmt: skip
    assert written[0].read_bytes() == written[1].read_bytes()


def test_a_composed_volume_needs_one_grid():
    from brainfuse.pipeline.composed import ComposedVolume

    with pytest.raises(ValueError, match="one"):
        ComposedVolume(np.zeros((2, 4, 4), np.float16), np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))


@pytest.mark.parametrize("mr_window", [None, (300.0, 400.0)])
def test_a_default_mr_window_computed_before_is_the_one_prepare_uses(mr_window, monkeypatch):
    """The window passes the MRI's default it counted to show the MRI: same pair, no recount."""
    from brainfuse.model import intensity

    ct, mri = _pair((3, 40, 48))
    aligned = align(ct, mri, register="none")
    default = intensity.default_window(aligned.mri)
    assert default.kind == "percentile"  # a 16-bit MRI: its window is counted
    own = prepare(aligned, None, mr_window)

    def no_recount(*_args, **_kwargs):
        raise AssertionError("the MRI's default window was counted again")

    monkeypatch.setattr(intensity, "mr_auto_window", no_recount)
    given = prepare(aligned, None, mr_window, mr_default=default)
    assert given.windows == own.windows
    np.testing.assert_array_equal(np.asarray(given.mri01), np.asarray(own.mri01))
    assert (given.decide is None) == (own.decide is None) == (mr_window is None)
    if own.decide is not None and given.decide is not None:
        np.testing.assert_array_equal(np.asarray(given.decide[1]), np.asarray(own.decide[1]))


def test_a_fusion_that_only_writes_holds_its_decision_map_as_bits(fuser, tmp_path):
    """The hard map of ``store_fused=False`` reads as the stored fusion's, slice by slice."""
    from brainfuse.export import write_nifti
    from brainfuse.pipeline.composed import PackedMask

    stored, lazy = _stored_and_lazy(fuser)
    assert isinstance(lazy.decision_map, PackedMask)
    assert lazy.decision_map.bits.nbytes == 4 * 40 * 48 // 8
    assert 0 < stored.decision_map.mean() < 1  # both sources chosen somewhere
    np.testing.assert_array_equal(np.asarray(lazy.decision_map), stored.decision_map)
    np.testing.assert_array_equal(lazy.decision_map[1], stored.decision_map[1])
    result = lazy.result()
    assert result.decision_map.array is lazy.decision_map
    paths = [write_nifti(r.fused, tmp_path / f"{n}.nii.gz", array=r.decision_map.array)
             for n, r in (("lazy", result), ("stored", stored.result()))]  # fmt: skip
    import gzip

    assert gzip.decompress(paths[0].read_bytes()) == gzip.decompress(paths[1].read_bytes())


def test_a_packed_mask_takes_only_zeros_and_ones_on_its_plane():
    from brainfuse.pipeline.composed import PackedMask

    mask = PackedMask((2, 3, 5))
    mask[1] = np.eye(3, 5, dtype=np.uint8)
    np.testing.assert_array_equal(mask[1], np.eye(3, 5, dtype=np.uint8))
    assert not mask[0].any() and mask[0].dtype == np.uint8
    with pytest.raises(ValueError, match="0 and 1"):
        mask[0] = np.full((3, 5), 2, np.uint8)
    with pytest.raises(ValueError, match="plane"):
        mask[0] = np.zeros((5, 3), np.uint8)


def test_a_fusion_that_only_writes_holds_its_weight_compressed_and_reads_it_bit_for_bit(fuser):
    """The soft map of ``store_fused=False`` is deflated per slice and reads as the stored one."""
    from brainfuse.pipeline.composed import CompressedWeight

    stored, lazy = _stored_and_lazy(fuser)
    assert isinstance(lazy.soft_map, CompressedWeight)
    assert ((stored.soft_map > 0) & (stored.soft_map < 1)).any()  # a real blend, not 0/1 only
    held = np.asarray(lazy.soft_map)
    assert held.dtype == np.float16
    assert held.view(np.uint16).tobytes() == stored.soft_map.view(np.uint16).tobytes()
    np.testing.assert_array_equal(lazy.soft_map[3], stored.soft_map[3])
    assert lazy.result().soft_map is lazy.soft_map


def test_a_compressed_weight_keeps_every_float16_bit_and_is_smaller():
    """Every float16 bit pattern in [0, 1] (and a smooth weight) comes back exactly."""
    from brainfuse.pipeline.composed import CompressedWeight

    every = np.arange(0x3C01, dtype=np.uint16).view(np.float16)  # 0 .. 1, all of them
    plane = (64, every.size // 64 + 1)
    weight = CompressedWeight((3, *plane))
    first = np.resize(every, plane[0] * plane[1]).reshape(plane)
    xx = np.mgrid[0 : plane[0], 0 : plane[1]][1]
    smooth = 1.0 / (1.0 + np.exp(-(xx - plane[1] / 2) / 20.0))  # float64, cast on storing
    weight[2] = smooth
    assert weight.nbytes < 0.75 * smooth.size * 2  # a smooth weight in under 3/4 of its bytes
    weight[0] = first
    assert weight[0].view(np.uint16).tobytes() == first.view(np.uint16).tobytes()
    assert np.array_equal(weight[2], smooth.astype(np.float16))
    assert not weight[1].any() and weight[1].dtype == np.float16  # not stored yet: zeros
    with pytest.raises(ValueError, match="plane"):
        weight[1] = np.zeros(plane[::-1])
