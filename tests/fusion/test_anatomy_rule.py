"""The ``anatomy`` rule on synthetic pairs the tests make: bone ring kept whole, background 0,
the decision map independent of the CT's display window, and the rule reported."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from brainfuse.fusion import Fuser, FusionSettings
from brainfuse.fusion.anatomy import dominant_edges, intracranial
from brainfuse.fusion.settings import AnatomyRule
from brainfuse.metrics import bone_kept, brain_kept
from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import bone_mask

N = 128


def _head_hu() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CT in HU (skull ring 1200 HU, brain 20-45 HU, scalp 40 HU, air -1000), a T2-like
    MRI of the same head (dark skull, bright textured brain and scalp) and the ring mask."""
    y, x = np.mgrid[0:N, 0:N]
    r = np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5)
    rng = np.random.default_rng(3)
    ring = (r >= 44) & (r < 50)
    brain = r < 44
    scalp = (r >= 50) & (r < 54)
    ct = np.full((N, N), -1000.0)
    ct[scalp] = 40.0
    ct[ring] = 1200.0 + rng.normal(0, 20, ring.sum())
    ct[brain] = 30.0 + 10.0 * np.sin(x[brain] / 5.0) + rng.normal(0, 3, brain.sum())
    mr = np.zeros((N, N))
    mr[scalp] = 0.8
    mr[ring] = 0.05
    mr[brain] = 0.55 + 0.25 * np.sin(y[brain] / 3.0) * np.cos(x[brain] / 4.0)
    mr[brain & (np.abs(x - N / 2) < 6)] = 0.95  # a bright ventricle-like band
    return ct, mr.astype(np.float32), ring


def _window(hu: np.ndarray, center: float, width: float) -> np.ndarray:
    return np.clip((hu - (center - width / 2)) / width, 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def fuser() -> Fuser:
    return Fuser(threads=1)  # default settings: the anatomy rule


def test_anatomy_keeps_the_bone_ring_whole_and_the_brain_from_the_mri(fuser):
    ct_hu, mr, ring = _head_hu()
    ct01 = _window(ct_hu, 40, 80)
    bone = bone_mask(ct_hu, "hu")
    assert np.array_equal(bone, ring)
    res = fuser.fuse(ct01, mr, bone=bone)
    assert res.rule == "anatomy"
    assert res.decision_map[ring].all()  # every bone pixel from the CT
    f255, c255, m255 = (np.round(255 * x) for x in (res.fused, ct01, mr))
    assert bone_kept(f255, c255, ct_scale="hu", ct_hu=ct_hu) == 1.0
    assert brain_kept(f255, c255, m255, ct_scale="hu", ct_hu=ct_hu) >= 0.99
    inside = intracranial(ring)
    # the inner table's rim (the CT's partial-volume edge) from the CT, the brain past it
    # from the MRI: no CT patch in the brain
    width = round(FusionSettings().anatomy.inner_table)  # pixels, not scaled
    rim = inside & ndimage.binary_dilation(ring, iterations=width)
    assert rim.any() and res.decision_map[rim].all()
    assert not res.decision_map[inside & ~rim].any()
    # sesf on the same pair loses part of the flat ring to the MRI's dark band
    sesf = Fuser(settings=FusionSettings(rule="sesf"), threads=1).fuse(ct01, mr, bone=bone)
    assert sesf.rule == "sesf"
    assert bone_kept(np.round(255 * sesf.fused), c255, ct_scale="hu", ct_hu=ct_hu) < 1.0


def test_background_is_never_ct(fuser):
    ct_hu, mr, _ = _head_hu()
    ct01 = _window(ct_hu, 40, 80)
    res = fuser.fuse(ct01, mr, bone=bone_mask(ct_hu, "hu"))
    air = np.maximum(ct01, mr) < 8 / 255
    assert air.sum() > 0.2 * air.size
    assert not res.decision_map[air].any() and not res.soft_map[air].any()
    # the frame along the image border (zero padding of the encoder) is gone too
    assert not res.decision_map[[0, -1], :].any() and not res.decision_map[:, [0, -1]].any()


def test_decision_map_does_not_depend_on_the_ct_display_window(fuser):
    """Same CT (HU) in the brain and the bone window: identical maps, the fused image is the
    same map composing the other window."""
    ct_hu, mr, _ = _head_hu()
    bone = bone_mask(ct_hu, "hu")
    fixed = _window(ct_hu, 40, 80)
    results = {}
    for name, (c, w) in {"brain": (40, 80), "bone": (500, 2000)}.items():
        shown = _window(ct_hu, c, w)
        results[name] = fuser.fuse(shown, mr, bone=bone, decide=(fixed, mr))
    a, b = results["brain"], results["bone"]
    assert np.array_equal(a.decision_map, b.decision_map)
    assert np.array_equal(a.soft_map, b.soft_map)
    shown = _window(ct_hu, 500, 2000)
    expected = b.soft_map * shown + (1 - b.soft_map) * mr
    assert np.allclose(b.fused, expected, atol=1e-6)
    assert not np.array_equal(a.fused, b.fused)


def test_pipeline_decides_on_the_fixed_window_and_reports_the_rule(fuser):
    from brainfuse.pipeline import fuse_pair

    ct_hu, mr, _ = _head_hu()
    ct = ImageVolume(ct_hu[None].astype(np.float32), modality="CT", units="HU")
    mri = ImageVolume((mr[None] * 1000).astype(np.float32), modality="MR")
    brain = fuse_pair(ct, mri, register="none", fuser=fuser)
    bone_w = fuse_pair(ct, mri, register="none", ct_window="bone", fuser=fuser)
    assert brain.fusion.rule == bone_w.fusion.rule == "anatomy"
    assert np.array_equal(brain.decision_map.array, bone_w.decision_map.array)
    assert np.array_equal(brain.soft_map, bone_w.soft_map)
    assert not np.allclose(brain.fused.array, bone_w.fused.array)


def test_without_a_ct_the_sesf_rule_runs_and_says_so(fuser):
    ct_hu, mr, _ = _head_hu()
    ct01 = _window(ct_hu, 40, 80)
    res = fuser.fuse(ct01, mr)  # no bone prior
    assert res.rule == "sesf"
    assert "sesf" in res.rule_note("anatomy")
    rgb = np.stack([ct01, ct01 * 0.5, 1 - ct01], axis=-1)
    assert fuser.fuse(rgb, mr, bone=bone_mask(ct_hu, "hu")).rule == "sesf"  # colour: no CT


def test_unknown_rule_is_refused():
    from brainfuse.errors import BrainFuseError

    with pytest.raises(BrainFuseError, match="unknown fusion rule"):
        FusionSettings(rule="bones")


def test_the_rule_that_ran_is_in_every_export(fuser, tmp_path):
    import nibabel as nib
    from PIL import Image

    from brainfuse.export import export_result
    from brainfuse.pipeline import fuse_pair

    ct_hu, mr, _ = _head_hu()
    ct = ImageVolume(ct_hu[None].astype(np.float32), modality="CT", units="HU")
    mri = ImageVolume((mr[None] * 1000).astype(np.float32), modality="MR")
    result = fuse_pair(ct, mri, register="none", fuser=fuser)
    export_result(result, tmp_path / "f.png")
    assert "rule anatomy" in Image.open(tmp_path / "f.png").text["Description"]
    export_result(result, tmp_path / "f.nii.gz")
    descrip = nib.load(tmp_path / "f.nii.gz").header["descrip"].tobytes().decode()
    assert "cnn anatomy" in descrip


def test_on_development_pairs_anatomy_keeps_bone_and_brain(shared_data, fuser):
    """One slice of each development case (8-bit atlas CT): both anatomy numbers >= .95,
    where the paper's rule keeps well under half of the bone."""
    from PIL import Image

    from brainfuse.metrics import fusion_metrics

    pairs = shared_data / "pairs" / "ct-mri"
    sesf = Fuser(settings=FusionSettings(rule="sesf"), threads=1)
    kept = {"anatomy": [], "sesf": []}
    for pid in ("2010", "21009", "28010", "32010", "34010", "37010", "41010"):
        ct = np.asarray(Image.open(pairs / f"{pid}_ct.png").convert("L"))
        mr = np.asarray(Image.open(pairs / f"{pid}_mri.png").convert("L"))
        for name, fz in (("anatomy", fuser), ("sesf", sesf)):
            res = fz.fuse(ct / 255.0, mr / 255.0, bone=bone_mask(ct, "8-bit"))
            assert res.rule == name
            scores = fusion_metrics(np.round(255 * res.fused), ct, mr, ct_scale="8-bit")
            kept[name].append((scores["bone_kept"], scores["brain_kept"]))
    anatomy, paper = np.nanmean(kept["anatomy"], axis=0), np.nanmean(kept["sesf"], axis=0)
    assert anatomy[0] >= 0.95 and anatomy[1] >= 0.95
    assert paper[0] < 0.6


def test_a_new_window_recomposes_without_the_encoder(fuser):
    """PairFusion.recomposed gives what a fresh fusion in the new window gives."""
    from brainfuse.grid import align_pair
    from brainfuse.pipeline import PairFusion, fuse_pair, prepare

    ct_hu, mr, _ = _head_hu()
    ct = ImageVolume(ct_hu[None].astype(np.float32), modality="CT", units="HU")
    mri = ImageVolume((mr[None] * 1000).astype(np.float32), modality="MR")
    aligned = align_pair(ct, mri, register="none")
    done = PairFusion(prepare(aligned), fuser)
    list(done.steps())
    calls = []
    fuser_activity = fuser.activity
    fuser.activity = lambda *a: calls.append(1) or fuser_activity(*a)
    try:
        again = done.recomposed(prepare(aligned, "bone", None))
    finally:
        fuser.activity = fuser_activity
    assert not calls  # no encoder run
    fresh = fuse_pair(ct, mri, register="none", ct_window="bone", fuser=fuser)
    assert np.array_equal(again.decision_map, fresh.decision_map.array)
    np.testing.assert_allclose(again.fused, fresh.fused.array, atol=1e-6)
    assert again.result().windows["ct"].kind == "preset:bone"


def test_dominant_edges_finds_the_image_whose_own_edges_are_clearly_stronger():
    """A strong step in image 1, a weak one in image 2 elsewhere, flat beside both."""
    i1 = np.zeros((64, 64), np.float32)
    i2 = np.zeros((64, 64), np.float32)
    i1[:, 20:] = 0.8  # strong vertical edge at column 20 in image 1 only
    i2[40:, :] = 0.1  # weak horizontal edge at row 40 in image 2 only
    i2[:, 50:] += 0.3  # and an edge at column 50 in image 2, where image 1 is flat
    s1, s2 = dominant_edges(i1, i2, ratio=2.0, radius=1.0)
    assert s1[10, 19:21].all() and not s2[10, 19:21].any()
    assert s2[10, 49:51].all() and not s1[10, 49:51].any()
    assert s2[39:41, 5].all()  # a weak edge still wins where the other image is flat
    assert not (s1 | s2)[10, 35]  # no edge in either image: neither
    # a pair whose edges are equally strong is left to the deep-feature map
    e1, e2 = dominant_edges(i1, i1.copy(), ratio=2.0)
    assert not e1.any() and not e2.any()


def test_anatomy_takes_the_mri_scalp_where_its_edges_dominate(fuser):
    """Outside the skull the MRI's layered scalp (bright fat over dark muscle) has edges the
    CT's flat soft tissue lacks: those pixels come from the MRI, however the deep map chose."""
    ct_hu, mr, _ = _head_hu()
    y, x = np.mgrid[0:N, 0:N]
    r = np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5)
    mr = mr.copy()
    mr[(r >= 52) & (r < 54)] = 0.3  # two layers in the MRI's scalp, one in the CT's
    ct01 = _window(ct_hu, 40, 80)
    bone = bone_mask(ct_hu, "hu")
    res = fuser.fuse(ct01, mr, bone=bone)
    off = FusionSettings(anatomy=AnatomyRule(edge_ratio=0.0))
    deep_only = Fuser(settings=off, threads=1).fuse(ct01, mr, bone=bone)
    _, mri_edges = dominant_edges(ct01, mr, 2.0)
    scalp = mri_edges & (r >= 51) & (r < 54)
    assert scalp.sum() > 100
    assert not res.decision_map[scalp].any()
    assert deep_only.decision_map[scalp].any()  # the deep map alone took CT in places


def test_dominant_edges_at_the_encoder_size_agree_with_full_resolution():
    """A 512 x 512 slice measured block-averaged by 2 (the encoder's factor) finds nearly the
    same dominant edges as at full resolution (the CT's pixel noise, averaged away, is the
    difference)."""
    ct_hu, mr, _ = _head_hu()
    ct01 = _window(ct_hu, 40, 80)
    big1, big2 = (ndimage.zoom(x, 4, order=1) for x in (ct01, mr))  # 512 x 512
    full = dominant_edges(big1, big2, 2.0, 1.0, factor=1)
    half = dominant_edges(big1, big2, 2.0, 1.0, factor=2)
    assert half[0].shape == big1.shape
    for f, h in zip(full, half, strict=True):
        assert f.sum() > 5000
        assert (f == h).mean() > 0.95


def test_bright_parenchyma_below_the_bone_level_keeps_the_mri_brain(fuser):
    """An 8-bit CT stored with a narrow window: bone saturated at 255, grey and white matter
    at 205-245 (above the plain ``>= 200`` threshold). The prior grown from saturated bone
    leaves that brain to the MRI; the plain threshold would have pasted it from the CT."""
    from brainfuse.metrics import brain_clean, skull_kept
    from brainfuse.model.bone import bone_prior

    ct_hu, mr, ring = _head_hu()
    y, x = np.mgrid[0:N, 0:N]
    brain = np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5) < 44
    ct = np.zeros((N, N))
    ct[ring] = 255.0
    ct[ct_hu == 40.0] = 90.0  # scalp
    # parenchyma 205-245, apart from the ring by a 2-pixel CSF gap
    inner = brain & (np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5) < 42)
    ct[inner] = 225.0 + 20.0 * np.sin(x[inner] / 5.0) * np.cos(y[inner] / 7.0)
    ct[brain & ~inner] = 150.0
    ct = np.round(ct)
    bone = bone_prior(ct, "8-bit")
    assert np.array_equal(bone, ring)
    assert bone_mask(ct, "8-bit")[inner].all()  # the plain threshold calls the brain bone
    res = fuser.fuse(ct / 255.0, mr, bone=bone)
    f255, m255 = np.round(255 * res.fused), np.round(255 * mr)
    assert skull_kept(f255, ct) == 1.0
    assert brain_clean(f255, ct, m255) >= 0.99
    assert not res.decision_map[inner & ~ndimage.binary_dilation(ring, iterations=3)].any()
    old = fuser.fuse(ct / 255.0, mr, bone=bone_mask(ct, "8-bit"))
    assert brain_clean(np.round(255 * old.fused), ct, m255) < 0.5


def test_a_ct_no_data_wedge_takes_the_mri(fuser):
    """A wedge of the slice where the CT was cut when resliced (padding, -1024 HU) over the
    MRI's head: the MRI there, not the CT's black nor its straight edge."""
    from brainfuse.model.bone import no_data

    ct_hu, mr, _ = _head_hu()
    y, x = np.mgrid[0:N, 0:N]
    wedge = y < 0.6 * x - 20  # a straight cut from the top-right corner
    ct_hu = ct_hu.copy()
    ct_hu[wedge] = -1024.0
    empty = no_data(ct_hu, "hu")
    head = np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5) < 54
    assert empty[wedge].all() and not empty[head & ~wedge].any()  # the air around: no data too
    ct01 = _window(ct_hu, 40, 80)
    res = fuser.fuse(ct01, mr, bone=bone_mask(ct_hu, "hu"), nodata=empty)
    assert not res.decision_map[wedge].any() and not res.soft_map[wedge].any()
    assert np.array_equal(res.fused[wedge], mr[wedge])
    without = fuser.fuse(ct01, mr, bone=bone_mask(ct_hu, "hu"))
    assert np.abs(without.fused[wedge] - mr[wedge]).max() > 0.2


def test_where_a_skull_stripped_mri_has_no_data_the_ct_is_taken(fuser):
    """An MRI with nothing outside the brain (skull-stripped, zeros): the CT's scalp and
    skull are taken whole, its fat too (black in the brain window, so without the rule
    "background" and the MRI's); a dark pocket the MRI's brain encloses is still the MRI's."""
    from brainfuse.model.bone import CT_NO_DATA, MRI_NO_DATA, source_no_data

    ct_hu, mr, ring = _head_hu()
    y, x = np.mgrid[0:N, 0:N]
    r = np.hypot(y - N / 2 + 0.5, x - N / 2 + 0.5)
    fat = (r >= 52) & (r < 54)
    ct_hu[fat] = -100.0
    stripped = np.where(r < 44, mr, 0.0).astype(np.float32)
    pocket = np.hypot(y - N / 2 + 0.5, x - N / 2 + 20.5) < 3
    stripped[pocket] = 0.0  # as dark as the floor, but inside the brain
    codes = source_no_data(ct_hu, "hu", stripped, 0.0)
    scalp = (r >= 50) & (r < 54)
    assert (codes[scalp | ring] == MRI_NO_DATA).all()
    assert (codes[r >= 56] == CT_NO_DATA).all()  # the air around: the CT's fill, no tissue
    assert not codes[r < 44].any()  # the brain, its dark pocket included
    assert not source_no_data(np.clip(ct_hu + 1000, 0, 255), "8-bit", stripped, 0.0).any()
    ct01 = _window(ct_hu, 40, 80)
    res = fuser.fuse(ct01, stripped, bone=bone_mask(ct_hu, "hu"), nodata=codes)
    assert res.decision_map[scalp].all() and (res.soft_map[scalp] == 1.0).all()
    np.testing.assert_array_equal(res.fused[scalp], ct01[scalp])
    assert not res.decision_map[pocket].any()  # the MRI's own dark pixel, not the CT's brain
    without = fuser.fuse(ct01, stripped, bone=bone_mask(ct_hu, "hu"))
    assert not without.decision_map[fat].any()  # dark in both: background, the MRI's


def test_the_edge_strength_sobel_is_scipys_bit_for_bit():
    """Small, zero and saturated values, odd shapes, both axes: the same float32 bits."""
    from brainfuse.fusion.anatomy import _sobel

    rng = np.random.default_rng(7)
    for trial in range(60):
        h, w = (int(v) for v in rng.integers(3, 140, 2))
        x = (rng.random((h, w)) ** rng.uniform(1, 30)).astype(np.float32)
        if trial % 3 == 0:
            x[rng.random((h, w)) < 0.3] = 0.0
        if trial % 5 == 0:
            x[rng.random((h, w)) < 0.2] = 1.0
        for axis in (0, 1):
            ours, theirs = _sobel(x, axis), ndimage.sobel(x, axis=axis)
            assert ours.dtype == theirs.dtype == np.float32
            assert ours.view(np.uint32).tobytes() == theirs.view(np.uint32).tobytes()
