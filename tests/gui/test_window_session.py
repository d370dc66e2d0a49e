"""Issue 15, acceptance 4: a session saved by the window and reopened in a fresh window gives
the same fused slice and measurements; a changed source is named in a warning and nothing is
loaded. Also: Save view as image writes the panels with a caption."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.reading.measure import Region, Ruler
from brainfuse.reading.session import SessionSourceError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def pair_files(tmp_path, small_pair):
    from brainfuse.export.nifti import write_nifti

    ct, mri = small_pair
    return write_nifti(ct, tmp_path / "ct.nii.gz"), write_nifti(mri, tmp_path / "mri.nii.gz")


def _edited_viewer(pair_files):
    from brainfuse.gui.viewer import Viewer
    from brainfuse.model.intensity import Window

    v = Viewer(show=False)
    v.open_pair(*pair_files)
    v.wait(timeout=180)
    ws = v.workspace
    v.slice_index = 2
    ws.set_ct_window(Window(60.0, 120.0, units="HU"))
    ws.set_overlay(opacity=0.7, soft=True)
    v.wait(timeout=180)
    centre = ws.index_to_mm((60, 70, 2))
    ws.set_brush(mode="ct", radius_mm=8.0, ball=True)
    ws.paint(centre)
    ws.add_measurement(Ruler("axial", 2, (40.0, 30.0), (40.0, 70.0)))
    ws.add_measurement(Region("axial", 2, "ellipse", (50.0, 50.0), (70.0, 80.0)))
    return v


def test_a_saved_session_reopens_the_same_view_in_a_fresh_window(pair_files, tmp_path, config):
    from brainfuse.gui.viewer import Viewer
    from brainfuse.reading.session import recent_sessions

    first = _edited_viewer(pair_files)
    try:
        fused, table = first.fused_slice(), first.window.reader_dock.table_text()
        decision, measurements = first.decision_slice(), first.measurements
        saved = first.save_session(tmp_path / "reading")
        assert saved.name == "reading.brainfuse" and recent_sessions()[0] == saved
        picture = first.save_view(tmp_path / "view.png")
        one = first.save_view(tmp_path / "fused.png", panel="fused")
    finally:
        first.close()
    from PIL import Image

    from brainfuse.gui.view_image import view_caption

    caption = view_caption(first.workspace)
    assert "CNN decision map (edited by hand)" in caption and "C60/W120 HU" in caption
    assert "axial slice 3/6" in caption and "ct.nii.gz + mri.nii.gz" in caption
    full, single = Image.open(picture), Image.open(one)
    assert full.size[0] > single.size[0] and full.size[1] > single.size[1]

    second = Viewer(show=False)
    try:
        second.open_session(saved)
        second.wait(timeout=180)
        ws = second.workspace
        assert ws.slice_index == 2 and ws.ct_window.center == 60.0 and ws.soft_map
        assert ws.overlay_opacity == pytest.approx(0.7) and ws.has_edits
        np.testing.assert_array_equal(second.fused_slice(), fused)  # bit for bit
        np.testing.assert_array_equal(second.decision_slice(), decision)
        assert second.measurements == measurements and len(measurements) == 2
        assert second.window.reader_dock.table_text() == table
    finally:
        second.close()


def test_a_changed_source_is_named_and_nothing_is_loaded(pair_files, tmp_path, config, monkeypatch):
    from PySide6 import QtWidgets

    from brainfuse.gui.session_actions import _ask_open
    from brainfuse.gui.viewer import Viewer

    first = _edited_viewer(pair_files)
    try:
        saved = first.save_session(tmp_path / "reading.brainfuse")
    finally:
        first.close()
    ct_path, _ = pair_files
    data = bytearray(ct_path.read_bytes())
    data[-10] ^= 0xFF
    ct_path.write_bytes(bytes(data))
    second = Viewer(show=False)
    try:
        with pytest.raises(SessionSourceError) as caught:
            second.open_session(saved)
        assert str(ct_path.name) in str(caught.value) and "not applied" in str(caught.value)
        warnings = []
        monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
        _ask_open(second.window, str(saved))  # what File > Open session… does
        assert len(warnings) == 1 and ct_path.name in warnings[0]
        second.wait(timeout=30)
        ws = second.workspace
        assert ws.ct is None and ws.mri is None and not ws.has_grid and not ws.measurements
    finally:
        second.close()


def test_a_reopened_session_reapplies_its_accepted_transform(pair_files, tmp_path, config):
    """The accepted registration comes back as saved, not registered again (issue 15)."""
    import SimpleITK

    from brainfuse.gui.viewer import Viewer

    moved = SimpleITK.Euler3DTransform()
    moved.SetParameters((0.0, 0.0, 0.05, 2.0, -1.5, 0.0))  # 2.9° about z, 2.0/-1.5 mm
    first = Viewer(show=False)
    try:
        first.open_pair(*pair_files)
        first.wait(timeout=180)
        assert first.workspace.alignment.mode == "geometry"  # same grid: nothing to register
        first.window.controller.apply_transform(moved, accepted=True)
        first.wait(timeout=180)
        fused = first.fused_slice()
        saved = first.save_session(tmp_path / "moved")
    finally:
        first.close()
    second = Viewer(show=False)
    try:
        second.open_session(saved)
        second.wait(timeout=180)
        again = second.workspace.alignment.transform
        assert again is not None
        np.testing.assert_allclose(again.GetParameters(), moved.GetParameters(), atol=1e-9)
        np.testing.assert_array_equal(second.fused_slice(), fused)
    finally:
        second.close()


def test_a_reopened_session_keeps_its_rule_whatever_the_preference(pair_files, tmp_path, config):
    """Issue 23: the session records the rule and brush; reopened under the other rule
    preference it gives the same map (the preference alone would not)."""
    from brainfuse.gui.viewer import Viewer

    first = _edited_viewer(pair_files)
    try:
        first.window.controller.set_rule("sesf")
        first.wait(timeout=180)
        assert first.workspace.fusion_rule == "sesf"
        fused, decision = first.fused_slice(), first.decision_slice()
        saved = first.save_session(tmp_path / "sesf")
    finally:
        first.close()

    second = Viewer(show=False)  # its preference: the default rule, anatomy
    try:
        assert second.workspace.fusion_rule == "anatomy"
        second.open_session(saved)
        second.wait(timeout=180)
        ws = second.workspace
        assert ws.fusion_rule == "sesf" and ws.brush_mode == "ct" and ws.brush_ball
        np.testing.assert_array_equal(second.decision_slice(), decision)
        np.testing.assert_array_equal(second.fused_slice(), fused)
        # the control: the same pair and edits under the preference's rule give another map
        second.window.controller.set_rule("anatomy")
        second.wait(timeout=180)
        assert not np.array_equal(second.decision_slice(), decision)
    finally:
        second.close()
