"""The Fuser on synthetic pairs: decision, exact blending, determinism, tiling, colour."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from brainfuse.errors import CancelledError, GeometryMismatchError
from brainfuse.fusion import Fuser, FusionSettings, available_methods
from brainfuse.fusion.colour import rgb_to_ycbcr

from .conftest import textured


@pytest.fixture(scope="module")
def fuser():
    return Fuser(device="cpu", threads=1)


def test_available_methods_lists_ours_first():
    assert available_methods()[0] == "cnn"
    assert {"average", "laplacian", "pixel-sf"} <= set(available_methods())


def test_decision_map_picks_the_sharp_side(fuser, sharp_left_right):
    a, b = sharp_left_right
    res = fuser.fuse(a, b)
    half = a.shape[1] // 2
    margin = 12
    left = res.decision_map[:, : half - margin]
    right = res.decision_map[:, half + margin :]
    assert left.mean() >= 0.95  # A (image 1) is taken where it is sharp
    assert right.mean() <= 0.05


def test_hard_map_blend_is_exact(sharp_left_right):
    a, b = sharp_left_right
    res = Fuser(device="cpu", threads=1, settings=FusionSettings(refine="none")).fuse(a, b)
    dm = res.decision_map
    assert dm.dtype == np.uint8 and set(np.unique(dm)) <= {0, 1}
    assert np.array_equal(res.fused, np.where(dm == 1, a, b))
    assert np.array_equal(res.soft_map, dm.astype(np.float32))


def test_soft_map_is_used_and_in_range(fuser, sharp_left_right):
    a, b = sharp_left_right
    res = fuser.fuse(a, b)
    assert res.soft_map.min() >= 0.0 and res.soft_map.max() <= 1.0
    np.testing.assert_allclose(res.fused, res.soft_map * a + (1 - res.soft_map) * b, atol=1e-6)


def test_deterministic(fuser, sharp_left_right):
    a, b = sharp_left_right
    r1, r2 = fuser.fuse(a, b), fuser.fuse(a, b)
    assert np.array_equal(r1.fused, r2.fused)
    assert np.array_equal(r1.decision_map, r2.decision_map)


def test_tiled_equals_untiled():
    a, b = textured((100, 90), 1), textured((100, 90), 2)
    exact = FusionSettings(precision="float32")  # the tiling is exact; bfloat16 rounds
    whole = Fuser(device="cpu", threads=1, tile=None, keep_activity=True, settings=exact)
    tiled = Fuser(device="cpu", threads=1, tile=40, keep_activity=True, settings=exact)
    whole, tiled = whole.fuse(a, b), tiled.fuse(a, b)
    for x, y in zip(whole.activity, tiled.activity, strict=True):
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5 * float(x.max()))
    np.testing.assert_allclose(tiled.fused, whole.fused, atol=1e-5)
    assert np.array_equal(tiled.decision_map, whole.decision_map)


def test_tiled_equals_untiled_with_fewer_stages():
    a, b = textured((100, 90), 1), textured((100, 90), 2)
    exact = FusionSettings(precision="float32")
    whole = Fuser(device="cpu", threads=1, tile=None, settings=exact)
    tiled = Fuser(device="cpu", threads=1, tile=40, settings=exact)
    for x, y in zip(
        whole.activity(a[None], b[None], stages=2),
        tiled.activity(a[None], b[None], stages=2),
        strict=True,
    ):
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5 * float(x.max()))


def test_each_rule_compares_the_encoder_stages_its_settings_name(sharp_left_right):
    a, b = sharp_left_right
    bone = a > 0.9
    settings = FusionSettings(precision="float32")
    fuser = Fuser(device="cpu", threads=1, keep_activity=True, settings=settings)
    assert settings.encoder_stages("anatomy") == settings.anatomy.encoder_stages == 2
    assert settings.encoder_stages("sesf") is None
    anatomy = fuser.fuse(a, b, bone=bone)
    sesf = fuser.fuse(a, b)  # no bone prior: the sesf rule, every stage
    assert anatomy.rule == "anatomy" and sesf.rule == "sesf"
    for got, want in zip(anatomy.activity, fuser.activity(a[None], b[None], stages=2), strict=True):
        np.testing.assert_allclose(got, want[0], rtol=1e-6)
    for got, want in zip(sesf.activity, fuser.activity(a[None], b[None]), strict=True):
        np.testing.assert_allclose(got, want[0], rtol=1e-6)
    assert not np.allclose(anatomy.activity[0], sesf.activity[0])


def test_volume_batches_slices_with_progress_and_matches_slices(fuser):
    a = np.stack([textured((48, 48), s) for s in range(3)])
    b = np.stack([textured((48, 48), s + 10) for s in range(3)])
    seen = []
    res = Fuser(device="cpu", threads=1, batch=2).fuse(a, b, progress=seen.append)
    assert res.fused.shape == a.shape and res.decision_map.shape == a.shape
    assert seen[-1] == 1.0 and len(seen) == 3  # one report per slice
    one = fuser.fuse(a[1], b[1])
    np.testing.assert_allclose(res.fused[1], one.fused, atol=1e-5)


def test_cancel_raises():
    a = np.stack([textured((32, 32), s) for s in range(2)])
    ev = threading.Event()
    ev.set()
    with pytest.raises(CancelledError):
        Fuser(device="cpu", threads=1).fuse(a, a, cancel=ev)


def test_colour_path_keeps_chroma(fuser):
    rng = np.random.default_rng(3)
    grey = textured((64, 64), 4)
    rgb = np.clip(
        grey[..., None] * np.array([0.9, 0.5, 0.2], np.float32) + 0.05 * rng.random((64, 64, 3)),
        0,
        1,
    ).astype(np.float32)
    mri = textured((64, 64), 5)
    res = fuser.fuse(rgb, mri)
    assert res.fused.shape == rgb.shape
    _, cb0, cr0 = rgb_to_ycbcr(rgb)
    _, cb1, cr1 = rgb_to_ycbcr(res.fused)
    inside = np.all((res.fused > 0.001) & (res.fused < 0.999), axis=-1)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(cb1[inside], cb0[inside], atol=1e-4)
    np.testing.assert_allclose(cr1[inside], cr0[inside], atol=1e-4)


def test_size_mismatch_is_refused(fuser):
    with pytest.raises(GeometryMismatchError, match=r"32x32.*32x40"):
        fuser.fuse(np.zeros((32, 32), np.float32), np.zeros((32, 40), np.float32))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_forced_cuda_falls_back_with_a_warning(sharp_left_right):
    with pytest.warns(RuntimeWarning, match="CUDA"):
        f = Fuser(device="cuda")
    assert f.device.startswith("CPU (")
    res = f.fuse(*sharp_left_right)
    assert res.device.startswith("CPU") and "CUDA" in (res.fallback or "")


@pytest.mark.parametrize("method", ["average", "laplacian", "pixel-sf"])
def test_baselines_dispatch(method, sharp_left_right):
    a, b = sharp_left_right
    res = Fuser(method, threads=1).fuse(a, b)
    assert res.method == method and res.fused.shape == a.shape
    assert res.fused.min() >= 0 and res.fused.max() <= 1


def test_large_slices_go_in_smaller_batches_with_the_same_numbers():
    fuser = Fuser(device="cpu", threads=1)
    assert fuser.batch_for(256, 256) == fuser.batch == 8
    assert fuser.batch_for(512, 512) == 2 and fuser.batch_for(4096, 4096) == 1
    rng = np.random.default_rng(4)
    a = rng.random((3, 48, 40), dtype=np.float32)
    b = rng.random((3, 48, 40), dtype=np.float32)
    whole = fuser.fuse(a, b)
    fuser.batch = 1  # what a tight memory budget gives
    one_by_one = fuser.fuse(a, b)
    assert np.array_equal(whole.fused, one_by_one.fused)
    assert np.array_equal(whole.decision_map, one_by_one.decision_map)


def test_settings_are_frozen_validated_and_change_the_fusion(sharp_left_right):
    from dataclasses import FrozenInstanceError

    from brainfuse.errors import BrainFuseError
    from brainfuse.fusion import DetailBlend

    s = FusionSettings()
    with pytest.raises(FrozenInstanceError):
        s.window = 7  # type: ignore[misc]
    bads = ({"window": 0}, {"refine": "guided"}, {"min_area": 1.5}, {"cv_radius": -1})
    from brainfuse.fusion.settings import AnatomyRule

    nostage = {"anatomy": AnatomyRule(encoder_stages=0)}
    for bad in (*bads, {"rule": "bones"}, {"background": 300.0}, nostage):
        with pytest.raises(BrainFuseError):
            s.with_(**bad)
    assert s.with_(window=11).window == 11 and s.window == 6 and s.rule == "anatomy"
    assert s.as_record()["detail"] == {"beta": 0.6, "c": 150.0, "kappa": 0.5, "sigma": 4.0}
    a, b = sharp_left_right
    base = Fuser(device="cpu", threads=1).fuse(a, b)
    strong = Fuser(device="cpu", threads=1, settings=s.with_(detail=DetailBlend(beta=1.0)))
    other = strong.fuse(a, b)
    assert np.array_equal(other.decision_map, base.decision_map)  # the decision is the same
    assert np.abs(other.soft_map - 0.5).mean() < np.abs(base.soft_map - 0.5).mean()


def test_slices_yield_in_the_callers_order(fuser):
    a = np.stack([textured((40, 40), s) for s in range(4)])
    b = np.stack([textured((40, 40), s + 10) for s in range(4)])
    whole = fuser.fuse(a, b)
    got = list(fuser.slices(a, b, [2, 0, 3]))
    assert [s.index for s in got] == [2, 0, 3]
    for s in got:
        np.testing.assert_array_equal(s.fused, whole.fused[s.index])
        np.testing.assert_array_equal(s.decision, whole.decision_map[s.index])


@pytest.mark.parametrize("shape", [(2, 64, 48), (1, 63, 50)])
@pytest.mark.parametrize("factor", [2, 3])
def test_encoder_grid_is_the_block_mean(shape, factor):
    from torch.nn import functional

    from brainfuse.fusion.activity import to_encoder_grid

    x = torch.from_numpy(np.random.default_rng(1).random(shape, dtype=np.float32))
    want = functional.avg_pool2d(x[:, None], factor, ceil_mode=True)[:, 0]  # partial blocks too
    got = to_encoder_grid(x, factor)
    assert got.shape == want.shape
    assert torch.equal(got, want)  # bit for bit: whole blocks summed in avg_pool2d's order


def test_the_blends_half_grid_is_avg_pool2d_bit_for_bit():
    from torch.nn import functional

    from brainfuse.fusion.decision import pool_half

    for shape in ((64, 48), (63, 50)):
        x = np.random.default_rng(2).random(shape, dtype=np.float32) ** 3
        want = functional.avg_pool2d(torch.from_numpy(x)[None, None], 2, ceil_mode=True)[0, 0]
        np.testing.assert_array_equal(pool_half(x), want.numpy())
