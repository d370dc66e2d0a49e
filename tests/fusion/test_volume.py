"""A volume decided in 3-D (issue 14's banding): windows, bounded cache, order, 2-D untouched."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np
import pytest
import torch
from scipy import ndimage
from torch.nn import functional

from brainfuse.errors import CancelledError
from brainfuse.fusion import Fuser, FusionSettings, compose
from brainfuse.fusion.decision import NeighbourMeans, blend_inputs, detail_blend
from brainfuse.fusion.volume import ZWindows
from brainfuse.grid import align_pair
from brainfuse.io import demo_pair
from brainfuse.model.planes import banding
from brainfuse.pipeline import SOFT_DTYPE, PairFusion, fuse_pair, prepare

from .conftest import textured


@pytest.fixture(scope="module")
def fuser():
    return Fuser(device="cpu", threads=1)


@pytest.fixture(scope="module")
def demo():
    return demo_pair()


def _slab(demo, lo=52, hi=64):
    """Slices ``lo:hi`` of the demo pair (real anatomy, z-correlated), prepared."""
    ct, mri = demo
    part = [v.with_array(np.ascontiguousarray(v.array[lo:hi])) for v in (ct, mri)]
    return prepare(align_pair(*part, register="none"), None, None)


def test_windows_are_isotropic_in_mm_and_vanish_for_thick_slices():
    s = FusionSettings()
    demo = ZWindows.for_grid((1.5, 1.5, 1.5), (146, 121), s)
    assert demo.activity == 3  # the 6-pixel box's half width: 3 pixels = 4.5 mm = 3 slices
    assert demo.majority == 1  # the verification's disk (2 pixels = 3 mm) reaches 2 slices
    sigma = 4.0 * 121 / 256  # the blend's in-plane sigma, pixels = slices here
    assert demo.blend.size == 2 * int(2 * sigma + 0.5) + 1
    assert demo.blend[demo.blend.size // 2] == demo.blend.max()
    thin = ZWindows.for_grid((0.5, 0.5, 0.5), (256, 256), s)
    assert thin.activity == 3 and thin.blend.size > demo.blend.size
    # a 512² slice is encoded at 256² (encoder_size): its box is 12 pixels of the slice
    ct = ZWindows.for_grid((0.5, 0.5, 1.0), (512, 512), s)
    assert ct.activity == 3  # 6 mm wide: 3 mm = 3 slices on each side
    assert ZWindows.for_grid((0.5, 0.5, 1.0), (512, 512), s.with_(encoder_size=0)).activity == 2
    thick = ZWindows.for_grid((0.45, 0.45, 7.0), (512, 512), s)
    assert thick.activity == thick.majority == 0  # 7 mm slices: each decided on its own,
    assert thick.blend.size == 3 and thick.blend[0] < 0.4 * thick.blend[1]  # blended a little
    plain = ZWindows.for_grid(
        (1.0, 1.0, 1.0), (256, 256), s.with_(refine="none", consistency=False)
    )
    assert plain.blend.size == 1 and plain.majority == 0


def _old_detail_blend(dm, i1, i2, beta=0.6, c=150.0, kappa=0.5, sigma=4.0):
    """The 2-D blend as written before volumes were decided in 3-D (reference)."""

    def smooth(x, sig):
        half = functional.avg_pool2d(torch.from_numpy(x)[None, None], 2, ceil_mode=True)
        return ndimage.gaussian_filter(half[0, 0].numpy(), 0.5 * sig, truncate=2.0)

    d = dm.astype(np.float32)
    h, w = d.shape
    s = min(h, w) / 256.0
    diff = i1 - i2
    e1 = np.zeros_like(i1)
    e1[1:] = (i1[1:] - i1[:-1]) ** 2
    e1[:, 1:] += np.diff(i1, axis=1) ** 2
    e2 = np.zeros_like(i2)
    e2[1:] = (i2[1:] - i2[:-1]) ** 2
    e2[:, 1:] += np.diff(i2, axis=1) ** 2
    chosen = e2 + d * (e1 - e2)
    level = smooth(diff * diff, sigma * s) + kappa
    detail = smooth(chosen, sigma * s)
    r = level / (level + (c * s * s) * detail + 1e-12)
    frac = torch.from_numpy(np.ascontiguousarray(beta * r * r, np.float32))[None, None]
    frac = functional.interpolate(frac, scale_factor=2, mode="bilinear", align_corners=False)
    return (d + (0.5 - d) * frac[0, 0, :h, :w].numpy()).astype(np.float32)


def test_a_2d_pair_keeps_its_numbers_bit_for_bit(fuser, demo):
    ct, mri = demo
    one = [v.with_array(np.ascontiguousarray(v.array[61:62])) for v in (ct, mri)]
    prepared = prepare(align_pair(*one, register="none"), None, None)
    i1, i2 = np.asarray(prepared.ct01)[0], np.asarray(prepared.mri01)[0]
    dm = (i1 > i2).astype(np.uint8)
    assert np.array_equal(detail_blend(dm, i1, i2), _old_detail_blend(dm, i1, i2))
    zero = NeighbourMeans(1.0, *(np.zeros_like(x) for x in blend_inputs(i1, i2)))
    assert np.array_equal(detail_blend(dm, i1, i2, around=zero), detail_blend(dm, i1, i2))
    # a one-slice grid has no neighbourhood: the pipeline is the 2-D fusion, bit for bit
    fusion = PairFusion(prepared, fuser)
    assert fusion.neighbours is None
    list(fusion.steps())
    flat = fuser.fuse(
        i1, i2, bone=prepared.bone[0], spacing=(1.5, 1.5, 1.5), nodata=prepared.nodata[0]
    )
    assert np.array_equal(fusion.decision_map[0], flat.decision_map)
    # ... up to the pipeline's 16-bit storage of the weight, which it composes from
    stored = flat.soft_map.astype(SOFT_DTYPE)
    assert np.array_equal(fusion.soft_map[0], stored)
    assert np.array_equal(fusion.fused[0], compose(stored, i1, i2))
    assert np.abs(fusion.fused[0] - flat.fused).max() <= 2.5e-4
    # a stack without spacing (pairs, as `evaluate` and scripts pass them): slice by slice
    a = np.stack([textured((48, 48), s) for s in range(3)])
    b = np.stack([textured((48, 48), s + 10) for s in range(3)])
    stack = fuser.fuse(a, b)
    alone = fuser.fuse(a[1], b[1])
    assert np.array_equal(stack.soft_map[1], alone.soft_map)
    assert np.array_equal(stack.fused[1], alone.fused)
    in_3d = fuser.fuse(a, b, spacing=(1.0, 1.0, 1.0))
    assert not np.array_equal(in_3d.soft_map[1], alone.soft_map)


def test_volume_numbers_do_not_depend_on_order_cancel_or_resume(fuser, demo):
    prepared = _slab(demo)
    n = prepared.mri01.shape[0]
    middle = PairFusion(prepared, fuser)
    list(middle.steps())
    w = middle.neighbours.windows
    assert (w.activity, w.majority) == (3, 1)

    stop = threading.Event()
    other = PairFusion(prepared, Fuser(device="cpu", threads=1, batch=2))
    steps = other.steps(first=n - 1, cancel=stop)
    first = next(steps)
    assert first.index == n - 1 and first.done == 1  # the shown slice comes first
    # with the neighbours it needs only: 3 for the activity window, 1 more for the vote
    assert other.neighbours.encoded == 5
    next(steps)
    stop.set()
    with pytest.raises(CancelledError):
        list(steps)
    left = n - int(other.done.sum())
    assert 0 < left <= n - 2  # stopped between batches, what is done stays done
    resumed = list(other.steps(first=2))  # resume elsewhere: one yield per slice left
    assert len(resumed) == left and len({s.index for s in resumed}) == left
    assert other.done.all() and other.neighbours.encoded == n  # no slice encoded twice
    assert other.neighbours.held == 0  # all let go once every slice is fused
    for name in ("decision_map", "soft_map", "fused"):
        assert np.array_equal(getattr(other, name), getattr(middle, name)), name


def test_the_next_batch_is_started_before_this_one_is_decided(demo, monkeypatch):
    """Its regions on the background thread, its activities on a worker: the same numbers."""
    from brainfuse.fusion import fuser as fuser_module

    prepared = _slab(demo)
    threads_seen: set[str] = set()
    real_regions = fuser_module.anatomy_regions

    def spy(*args, **kwargs):
        threads_seen.add(threading.current_thread().name)
        return real_regions(*args, **kwargs)

    monkeypatch.setattr(fuser_module, "anatomy_regions", spy)
    early = PairFusion(prepared, Fuser(device="cpu", threads=2, batch=2))
    list(early.steps())
    assert any(name.startswith("brainfuse-regions") for name in threads_seen)
    assert early.neighbours.held == 0 and early.neighbours.ahead is None
    assert early.neighbours.encoding == []  # nothing left started at the end
    assert early.neighbours.encoded == early.n_slices  # no slice encoded twice
    monkeypatch.setattr(fuser_module, "anatomy_regions", real_regions)

    def at_once(func):  # the regions found on the calling thread, when asked
        done: Future = Future()
        done.set_result(func())
        return done

    monkeypatch.setattr(fuser_module, "submit_background", at_once)
    here = PairFusion(prepared, Fuser(device="cpu", threads=1, batch=3))
    list(here.steps())
    for name in ("decision_map", "soft_map", "fused"):
        assert np.array_equal(getattr(early, name), getattr(here, name)), name


@pytest.mark.slow
def test_a_volume_holds_only_a_sliding_window_of_activities(demo):
    ct, mri = demo
    prepared = prepare(align_pair(ct, mri, register="none"), None, None)
    fusion = PairFusion(prepared, Fuser(device="cpu", threads=1))
    w = fusion.neighbours.windows
    r = w.activity + w.majority
    most = 0
    most_bytes = 0
    for _ in fusion.steps(first=30):
        most = max(most, fusion.neighbours.held)
        most_bytes = max(most_bytes, fusion.neighbours.nbytes)
    n = fusion.n_slices
    slice_bytes = 4 * prepared.mri01.shape[1] * prepared.mri01.shape[2]  # one float32 slice
    # per front: 2 r + 1 activity differences, 2 R + 1 blend inputs (3 at a quarter), 3 maps,
    # 2 b + 1 slices' anatomy regions (4 bool masks: one float32 slice); and a batch's
    # look-ahead (an activity difference, blend inputs and regions a slice)
    per_front = 2 * r + 1 + (w.blend.size * 3 + 3) / 4 + 2 * w.bracket + 1
    assert most_bytes <= (2 * per_front + 2.75 * fusion.fuser.batch) * slice_bytes
    assert most_bytes < 0.2 * 2 * n * slice_bytes  # the two activity volumes: 5 times more
    assert fusion.neighbours.nbytes == 0
    assert fusion.neighbours.encoded == n
    # each of the two fronts holds its 2 r + 1 window and a batch of look-ahead
    assert most <= 2 * (2 * r + 1) + fusion.fuser.batch < n / 3


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["anatomy", "sesf"])
def test_the_demo_volume_shows_no_banding(demo, rule):
    """Neighbouring sagittal rows differ about as much as neighbouring axial rows."""
    ct, mri = demo
    fz = Fuser(device="cpu", threads=1, settings=FusionSettings(rule=rule))
    res = fuse_pair(ct, mri, fuser=fz)
    m = np.asarray(mri.array, float)
    head = m > 0.1 * m.max()
    for name, vol, mask in (
        ("hard, whole", res.decision_map, None),
        ("hard, head", res.decision_map, head),
        ("soft, head", res.soft_map, head),
    ):
        assert banding(vol, mask)["ratio"] < 1.15, name
    if rule == "anatomy":
        return  # its map outside the bone and brain follows each slice's own edges: no bands
    # the same slices decided one by one (no spacing) band, as before
    p = prepare(align_pair(ct, mri), None, None)
    flat = fz.fuse(np.asarray(p.ct01), np.asarray(p.mri01), bone=p.bone)
    assert banding(flat.decision_map, head)["ratio"] > 1.4


def test_the_vote_overrules_a_decision_of_one_slice_alone():
    from brainfuse.fusion.volume import Neighbourhood

    hood = Neighbourhood(5, ZWindows(activity=0, majority=1, blend=np.ones(1, np.float32)))
    low = np.zeros((5, 8, 8), np.float32)
    high = low.copy()
    high[2, :2, :2] = 1.0  # image 1 wins in slice 2 alone: an island one slice thick
    high[1:4, 5:, 5:] = 1.0  # and in three slices: a structure
    high[0, 4, :] = 1.0  # in the first slice alone: at the end a tie keeps it
    for j in range(5):
        hood.put_activity(j, high[j], low[j])
    calls = []

    def verify(diff):
        calls.append(1)
        return (diff > 0).astype(np.uint8)

    middle = hood.hard(2, verify)
    assert not middle[:2, :2].any() and middle[5:, 5:].all()
    assert hood.hard(1, verify)[5:, 5:].all() and hood.hard(0, verify)[4].all()
    assert len(calls) == 4  # each slice verified once (slices 0-3 so far)
    hood.finish(0)
    hood.finish(1)
    assert hood.held == 4  # slice 0 is let go (nothing left to fuse needs it), 1 feeds 2


def test_a_colour_volume_is_decided_in_3d_on_its_luminance(fuser):
    grey = np.stack([textured((40, 40), 3) for _ in range(4)])
    grey += np.linspace(0, 0.2, 4, dtype=np.float32)[:, None, None]  # slices differ a little
    rgb = np.clip(grey[..., None] * np.array([0.9, 0.5, 0.2], np.float32), 0, 1)
    mri = np.stack([textured((40, 40), 7 + k) for k in range(4)])
    whole = fuser.fuse(rgb, mri, spacing=(1.0, 1.0, 1.0))
    assert whole.fused.shape == rgb.shape and whole.rule == "sesf"
    hood = fuser.neighbourhood(mri.shape, (1.0, 1.0, 1.0))
    backwards = {s.index: s for s in fuser.slices(rgb, mri, [3, 2, 1, 0], neighbours=hood)}
    for k in range(4):  # any order, the same numbers
        assert np.array_equal(backwards[k].soft, whole.soft_map[k])
        assert np.array_equal(backwards[k].fused, whole.fused[k])


def _open_base_volume(z: int = 10, n: int = 96):
    """A head in HU whose skull ring is open over a third of its circumference in slices 4
    and 5 (as at the skull base): a textured CT brain (which the deep map alone takes) and
    a flat MRI brain."""
    return _skull_base(z, lambda k: [(0.0, np.pi / 3)] if k in (4, 5) else [], n)


def test_an_open_skull_base_gives_no_bands(fuser):
    from brainfuse.model.bone import bone_prior

    ct, mr, brain = _open_base_volume()
    bone = bone_prior(ct, "hu")
    ct01 = np.clip((ct + 40.0) / 160.0, 0, 1).astype(np.float32)
    inner = brain & ~ndimage.binary_dilation(~brain, iterations=4)

    def flips(dm):
        return [float((dm[k + 1] != dm[k])[inner].mean()) for k in range(dm.shape[0] - 1)]

    volume = fuser.fuse(ct01, mr, bone=bone, spacing=(1.0, 1.0, 1.5))
    assert not volume.decision_map[4:6][:, inner].any()  # the open slices' brain: the MRI
    assert max(flips(volume.decision_map)) <= 0.10
    # slice by slice, the open slices' brain switches to the CT: a band in a reformat
    alone = fuser.fuse(ct01, mr, bone=bone)
    assert max(flips(alone.decision_map)) > 0.3


def _skull_base(z: int, gaps, n: int = 96, scalp: float = 0.05):
    """A head in HU like :func:`_open_base_volume` whose ring has, in slice ``k``, the gaps
    ``gaps(k)``: a list of (centre angle, half width) in radians; ``scalp`` 0: the MRI is
    skull-stripped (as the MNI template), its head outline the brain."""
    y, x = np.mgrid[0:n, 0:n]
    r = np.hypot(y - n / 2 + 0.5, x - n / 2 + 0.5)
    angle = np.arctan2(y - n / 2 + 0.5, x - n / 2 + 0.5)
    ring, brain = (r >= 34) & (r < 39), r < 34
    rng = np.random.default_rng(5)
    ct = np.full((z, n, n), -1000.0)
    mr = np.zeros((z, n, n), np.float32)
    for k in range(z):
        skull = ring.copy()
        for centre, half in gaps(k):
            skull &= np.abs(np.angle(np.exp(1j * (angle - centre)))) >= half
        ct[k][skull] = 1200.0
        ct[k][brain] = 30.0 + 25.0 * rng.standard_normal(brain.sum())
        mr[k][brain] = 0.6
        mr[k][ring] = scalp
    return ct, mr, brain


def _ct_share(fuser, ct, mr, brain, spacing):
    """Per slice, the share of the brain (4 pixels in from the skull) taken from the CT."""
    from brainfuse.model.bone import bone_prior

    bone = bone_prior(ct, "hu")
    ct01 = np.clip((ct + 40.0) / 160.0, 0, 1).astype(np.float32)
    inner = brain & ~ndimage.binary_dilation(~brain, iterations=4)
    dm = fuser.fuse(ct01, mr, bone=bone, spacing=spacing).decision_map
    return np.array([float(d[inner].mean()) for d in dm])


def test_a_skull_base_open_at_the_volumes_end_gives_no_bands(fuser):
    """The ring open over a third of its circumference in the lowest 3 slices (4.5 mm, as at
    the foramen magnum where the CT begins), closed above: no slice below brackets them, but
    the bone sealed in 3-D closes them."""
    ct, mr, brain = _skull_base(10, lambda k: [(0.0, np.pi / 3)] if k < 3 else [])
    share = _ct_share(fuser, ct, mr, brain, (1.0, 1.0, 1.5))
    assert share.max() <= 0.02  # the brain from the MRI in every slice: no band
    # thick slices (no neighbour within 4.5 mm): each slice alone, the open ones band
    alone = _ct_share(fuser, ct, mr, brain, (1.0, 1.0, 10.0))
    assert alone[:3].min() > 0.3 and alone[3:].max() <= 0.02


def test_foramina_open_in_every_slice_give_no_bands(fuser):
    """A gap 8 pixels (mm) wide in every slice, at another place in each (foramina cut
    obliquely), with a skull-stripped MRI (no head outline to fall back on): no slice's
    ring is closed, so no slice brackets another, yet the bone above and below bridges each
    gap, so the inside holds in all."""
    ct, mr, brain = _skull_base(10, lambda k: [(0.9 * k, 4.0 / 36.5)], scalp=0.0)
    assert _ct_share(fuser, ct, mr, brain, (1.0, 1.0, 1.5)).max() <= 0.02
    assert _ct_share(fuser, ct, mr, brain, (1.0, 1.0, 10.0)).min() > 0.3
