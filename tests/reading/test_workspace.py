"""The Qt-free workspace: geometry, slice/cursor, windows, fused slices, overlay state."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.fusion import Fuser
from brainfuse.grid import align_pair
from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import default_window, load_ct_presets, mr_auto_window
from brainfuse.pipeline import PairFusion, prepare
from brainfuse.reading.workspace import CT_PRESETS, Window, Workspace


def _pair(direction=None, shape=(5, 6, 8), spacing=(0.5, 0.8, 2.0)):
    rng = np.random.default_rng(0)
    kw = {
        "spacing": spacing,
        "origin": (-10.0, 20.0, 5.0),
        "direction": np.eye(3) if direction is None else direction,
    }
    ct = ImageVolume(
        rng.integers(-1000, 1500, shape).astype(np.int16), modality="CT", units="HU", **kw
    )
    mri = ImageVolume(rng.integers(0, 400, shape).astype(np.uint16), modality="MR", **kw)
    return ct, mri


def _workspace(**kw) -> Workspace:
    ws = Workspace()
    ct, mri = _pair(**kw)
    ws.set_sources(ct=ct, mri=mri)
    ws.set_grid(ct, mri)
    return ws


def test_grid_starts_at_the_centre_slice_and_cursor():
    ws = _workspace()
    assert ws.shape == (5, 6, 8)
    assert ws.slice_index == 2
    np.testing.assert_allclose(ws.mm_to_index(ws.cursor_mm), [3.5, 2.5, 2.0])


def test_index_and_mm_round_trip_through_the_affine():
    ws = _workspace()
    mm = ws.index_to_mm((2, 3, 4))
    np.testing.assert_allclose(mm, [-10 + 2 * 0.5, 20 + 3 * 0.8, 5 + 4 * 2.0])
    np.testing.assert_allclose(ws.mm_to_index(mm), [2, 3, 4])


def test_scene_rect_is_in_mm_with_true_aspect():
    ws = _workspace()
    x0, y0, w, h = ws.scene_rect()
    assert (w, h) == pytest.approx((8 * 0.5, 6 * 0.8))
    assert (x0, y0) == pytest.approx((-0.25, -0.4))
    # scene <-> mm is consistent on the current slice
    mm = ws.scene_to_mm(1.0, 1.6)
    assert ws.mm_to_scene(mm) == pytest.approx((1.0, 1.6))


def test_radiological_labels_for_lps_and_ras_grids():
    radiological = {
        "axial": {"left": "R", "right": "L", "top": "A", "bottom": "P"},
        "coronal": {"left": "R", "right": "L", "top": "S", "bottom": "I"},
        "sagittal": {"left": "A", "right": "P", "top": "S", "bottom": "I"},
    }
    for direction in (np.eye(3), np.diag([-1.0, -1.0, 1.0])):  # LPS and RAS voxel order
        ws = _workspace(direction=direction)
        for plane, letters in radiological.items():
            assert ws.screen_labels(plane) == letters, (plane, direction)


def test_slice_is_clamped_and_moves_the_cursor():
    ws = _workspace()
    seen = []
    ws.slice_changed.connect(seen.append)
    ws.set_slice(99)
    assert ws.slice_index == 4 and seen == [4]
    assert ws.mm_to_index(ws.cursor_mm)[2] == pytest.approx(4)
    ws.set_slice(-3)
    assert ws.slice_index == 0


def test_cursor_sets_the_slice_and_reads_values_in_source_units():
    ws = _workspace()
    mm = ws.index_to_mm((7, 5, 1))
    ws.set_cursor_mm(mm)
    assert ws.slice_index == 1
    assert ws.value_at("ct") == float(ws.ct_grid.array[1, 5, 7])
    assert ws.units("ct") == "HU"
    assert ws.value_at("ct", ws.index_to_mm((20, 0, 0))) is None  # outside the grid
    assert ws.value_at("fused") is None  # not fused yet


def test_windows_presets_auto_and_drag():
    ws = _workspace()
    ws.set_ct_window("bone")
    assert ws.ct_window == CT_PRESETS["bone"] and ws.ct_window.levels == (-500.0, 1500.0)
    ws.set_ct_window(ws.ct_window.dragged(-5000.0, 10.0))
    assert ws.ct_preset is None and ws.ct_window.width == 1.0 and ws.ct_window.center == 510.0
    with pytest.raises(KeyError, match="unknown CT window preset"):
        ws.set_ct_window("lung-ish")
    auto = ws.mr_display_window
    assert auto == mr_auto_window(ws.mri_grid.array)  # the fusion's formula, not another one
    ws.set_mr_window(Window(100.0, 50.0))
    assert ws.mr_display_window == Window(100.0, 50.0)
    ws.reset_windows()
    assert ws.ct_window == CT_PRESETS["brain"] and ws.mr_display_window == auto


def test_mr_auto_window_spans_robust_percentiles_above_the_background():
    a = np.concatenate([np.zeros(500), np.arange(1, 1001, dtype=float)])
    w = mr_auto_window(a)
    assert w.kind == "percentile"
    assert w.levels == pytest.approx(tuple(np.percentile(np.arange(1, 1001), [0.5, 99.5])))


def test_an_8_bit_ct_is_shown_and_fused_as_it_is_never_hu_windowed():
    ct, mri = _pair()
    ct8 = ImageVolume(
        np.clip(ct.array // 8 + 128, 0, 255).astype(np.uint8), modality="CT", format="PNG"
    )
    mri8 = ImageVolume(mri.array.astype(np.uint8), modality="MR", format="PNG")
    ws = Workspace()
    ws.set_sources(ct=ct8, mri=mri8)
    ws.set_grid(ct8, mri8)
    assert not ws.ct_in_hu and ws.ct_window.kind == "8-bit" and ws.ct_window.levels == (0, 255)
    assert ws.mr_display_window == default_window(mri8) and ws.fusion_windows() == (None, None)
    with pytest.raises(ValueError, match="Hounsfield"):
        ws.set_ct_window("bone")
    ws.reset_windows()
    assert ws.ct_window.kind == "8-bit"


def _fusion(ws: Workspace, ct_window=None, mr_window=None) -> PairFusion:
    aligned = align_pair(ws.ct_grid, ws.mri_grid, register="none")
    return PairFusion(prepare(aligned, ct_window, mr_window), Fuser("average", threads=1))


def test_fused_slices_are_served_from_the_pipeline_fusion():
    ws = _workspace()
    events = []
    ws.fusion_changed.connect(events.append)
    fusion = _fusion(ws, *ws.fusion_windows())
    ws.start_fusion(fusion)
    steps = fusion.steps(first=2)
    step = next(steps)
    ws.slice_fused(step.index, 1.0)
    assert step.index == 2 and events == [None, 2] and ws.is_fused(2) and not ws.is_fused()
    np.testing.assert_array_equal(ws.slice_image("fused"), fusion.fused[2])
    np.testing.assert_array_equal(ws.slice_image("map"), fusion.decision_map[2])
    np.testing.assert_array_equal(ws.unit_slice("ct"), fusion.prepared.ct01[2])
    ws.set_overlay(soft=True, opacity=1.7, visible=False, colormap="inferno")
    np.testing.assert_array_equal(ws.slice_image("map"), fusion.soft_map[2])
    assert (ws.overlay_opacity, ws.overlay_visible, ws.overlay_colormap) == (1.0, False, "inferno")
    ws.set_overlay(colormap="no-such-map")
    assert ws.overlay_colormap == "viridis"  # only colour tables the export can draw
    assert ws.slice_image("fused", 3) is None
    for _ in steps:
        pass
    assert ws.is_fused()
    ws.invalidate_fusion()
    assert events[-1] is None and not ws.is_fused(2)
    with pytest.raises(KeyError):
        ws.slice_image("pet")


def test_windows_changed_since_fusion_is_model_logic():
    ws = _workspace()
    assert not ws.windows_changed_since_fusion()  # nothing fused
    ws.start_fusion(_fusion(ws, *ws.fusion_windows()))
    assert ws.fusion_windows() == ("brain", None)
    assert not ws.windows_changed_since_fusion()
    ws.set_ct_window("bone")
    assert ws.windows_changed_since_fusion()
    ws.set_ct_window("brain")
    ws.set_mr_window(Window(100.0, 50.0))
    assert ws.windows_changed_since_fusion()
    ws.start_fusion(_fusion(ws, *ws.fusion_windows()))
    assert not ws.windows_changed_since_fusion()
    ws.set_mr_window(None)
    assert ws.windows_changed_since_fusion()  # back to auto: the fusion used a manual one


def test_grid_checks_the_pair():
    ws = _workspace()
    ct, mri = _pair()
    with pytest.raises(ValueError, match="differ in shape"):
        ws.set_grid(ct, mri.with_array(mri.array[:2]))
    with pytest.raises(ValueError, match="grid"):
        ws.start_fusion(_fusion(_workspace(shape=(2, 6, 8))))
    empty = Workspace()
    assert empty.slice_image("ct") is None and empty.value_at("ct") is None
    with pytest.raises(RuntimeError, match="no common grid"):
        empty.scene_rect()


def test_shipped_ct_presets_are_the_clinical_ones(tmp_path):
    assert {k: (w.center, w.width) for k, w in CT_PRESETS.items()} == {
        "brain": (40.0, 80.0),
        "subdural": (75.0, 215.0),
        "bone": (500.0, 2000.0),
    }
    bad = tmp_path / "p.json"
    bad.write_text('{"lung": {"center": -600, "width": 0}}')
    with pytest.raises(ValueError, match="positive width"):
        load_ct_presets(bad)


def test_plane_views_go_through_the_cursor_and_step_along_their_normal():
    ws = _workspace()
    ct = ws.ct_grid
    ws.set_cursor_mm(ws.index_to_mm((5, 2, 1)))  # column 5, row 2, slice 1
    assert ws.plane_index("sagittal") == 5 and ws.plane_index("coronal") == 2
    np.testing.assert_array_equal(ws.plane_image("ct", "sagittal"), ct.array[::-1, :, 5])
    np.testing.assert_array_equal(ws.plane_image("ct", "coronal"), ct.array[::-1, 2, :])
    before = ws.cursor_mm.copy()
    ws.step(-2, "sagittal")  # two columns towards the patient's right
    np.testing.assert_allclose(ws.cursor_mm - before, [-2 * 0.5, 0.0, 0.0])
    assert ws.plane_index("sagittal") == 3 and ws.slice_index == 1
    ws.set_plane("coronal")
    assert ws.plane_count() == 6 and ws.plane_position_mm() == pytest.approx(20 + 2 * 0.8)
    with pytest.raises(ValueError, match="unknown plane"):
        ws.set_plane("oblique")
    assert ws.plane_image("fused", "sagittal") is None  # nothing fused yet


def test_rule_device_and_alignment_are_workspace_state_with_signals():
    ws = Workspace()
    assert (ws.fusion_rule, ws.fusion_device, ws.register_mode) == ("anatomy", "auto", "auto")
    engine, modes = [], []
    ws.engine_changed.connect(lambda: engine.append((ws.fusion_rule, ws.fusion_device)))
    ws.register_mode_changed.connect(modes.append)
    ws.set_engine(rule="sesf")
    ws.set_engine(device="cpu")
    ws.set_engine(rule="sesf", device="cpu")  # no change: no signal
    ws.set_register_mode("rigid")
    ws.set_register_mode("rigid")
    assert engine == [("sesf", "auto"), ("sesf", "cpu")] and modes == ["rigid"]
    with pytest.raises(ValueError, match="unknown fusion rule"):
        ws.set_engine(rule="average")
    with pytest.raises(ValueError, match="unknown device"):
        ws.set_engine(device="tpu")
    assert (ws.fusion_rule, ws.fusion_device) == ("sesf", "cpu")
