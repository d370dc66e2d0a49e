"""The real window, driven offscreen: load, fuse, link, slice, overlay, readouts, cancel, errors,
export."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse import metrics
from brainfuse.export.render import overlay_decision_map
from brainfuse.gui.export_dialog import ExportOptions
from brainfuse.model.intensity import to_255
from brainfuse.reading.workspace import LAYERS

from .conftest import crop, settle


def _panel_pixels(window, name: str) -> np.ndarray:
    """What panel ``name`` draws on screen, as an (H, W, 4) uint8 array."""
    from superqt.utils import qimage_to_array

    box = window.viewers.box(name)
    rect = window.viewers.mapFromScene(box.sceneBoundingRect()).boundingRect()
    return qimage_to_array(window.viewers.grab(rect).toImage())


def test_demo_pair_fuses_off_the_gui_thread_and_fills_four_viewers(fused_window, small_pair):
    ws = fused_window.workspace
    z, y, x = small_pair[1].shape
    assert ws.shape == (z, y, x) and ws.is_fused()
    k = ws.slice_index
    ws.set_overlay(visible=False)
    for name in LAYERS:
        assert fused_window.viewers.drawn_image(name).shape == (y, x), name
    np.testing.assert_array_equal(fused_window.viewers.drawn_image("ct"), ws.ct_grid.array[k])
    np.testing.assert_array_equal(fused_window.viewers.drawn_image("mri"), ws.mri_grid.array[k])
    np.testing.assert_array_equal(fused_window.viewers.drawn_image("fused"), ws.fusion.fused[k])
    ws.set_overlay(visible=True)  # the decision map burned in as exports burn it in
    burned = overlay_decision_map(
        ws.fusion.fused[k], ws.fusion.decision_map[k], opacity=ws.overlay_opacity
    )
    np.testing.assert_array_equal(fused_window.viewers.drawn_image("fused"), burned)
    main = threading.get_ident()
    for kind in ("align", "fuse"):
        assert fused_window.runner.thread_ids[kind] != main, kind
    # the images are placed in mm with the grid's spacing
    rect = fused_window.viewers.panels["fused"].image.mapRectToParent(
        fused_window.viewers.panels["fused"].image.boundingRect()
    )
    sx, sy, _ = ws.mri_grid.spacing
    assert rect.width() == pytest.approx(x * sx) and rect.height() == pytest.approx(y * sy)
    assert dict(fused_window.readouts.FIELDS)["device"] == "Device"
    assert fused_window.readouts.labels["device"].text() == ws.device != ""


def test_a_fused_slice_redraws_the_fusion_panels_only(fused_window, qtbot):
    """Issue 18: at 512 x 512 each panel is milliseconds of the window's own thread."""
    import gc

    ws, panels = fused_window.workspace, fused_window.viewers.panels
    shown = {name: panels[name].image.image for name in LAYERS}
    ws.slice_fused(ws.slice_index)
    for name in LAYERS:
        redrawn = panels[name].image.image is not shown[name]
        assert redrawn == (name in ("map", "fused")), name
    # the model is loaded: what exists now is left out of later garbage collections
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=60000)


def test_panning_one_viewer_pans_the_others(fused_window):
    viewers = fused_window.viewers
    before = viewers.box("mri").viewRange()
    viewers.box("ct").translateBy(x=12.0, y=-7.0)
    QtWidgets.QApplication.processEvents()
    after = viewers.box("mri").viewRange()
    assert after[0][0] == pytest.approx(before[0][0] + 12.0)
    assert after[1][0] == pytest.approx(before[1][0] - 7.0)
    for name in LAYERS:
        np.testing.assert_allclose(viewers.box(name).viewRange(), after, atol=1e-6)


def test_slice_slider_and_page_keys_change_every_viewer(fused_window, qtbot):
    ws = fused_window.workspace
    ws.set_overlay(visible=False)  # the fused panel draws the fused image itself
    slider = fused_window.slice_control.slider
    target = (ws.slice_index + 2) % ws.n_slices
    slider.setValue(target)
    assert ws.slice_index == target
    for name, expected in (
        ("ct", ws.ct_grid.array[target]),
        ("mri", ws.mri_grid.array[target]),
        ("fused", ws.fusion.fused[target]),
        ("map", ws.fusion.decision_map[target]),
    ):
        np.testing.assert_array_equal(fused_window.viewers.drawn_image(name), expected)
    fused_window.activateWindow()
    qtbot.keyClick(fused_window.viewers, QtCore.Qt.Key.Key_PageDown)
    assert ws.slice_index == target - 1 and slider.value() == target - 1
    fused_window.viewers.box("ct").slice_step.emit(1)  # a wheel step
    assert ws.slice_index == target


def test_overlay_toggle_and_opacity_change_the_fused_drawing(fused_window, qtbot):
    ws = fused_window.workspace
    assert (
        ws.fusion.decision_map[ws.slice_index].any()
        and not ws.fusion.decision_map[ws.slice_index].all()
    )
    fused_window.overlay_control.visible.setChecked(True)
    fused_window.overlay_control.opacity.setValue(80)
    on = _panel_pixels(fused_window, "fused")
    fused_window.overlay_control.opacity.setValue(20)
    faint = _panel_pixels(fused_window, "fused")
    fused_window.activateWindow()
    qtbot.keyClick(fused_window.viewers, QtCore.Qt.Key.Key_O)  # the overlay shortcut
    assert not ws.overlay_visible and not fused_window.overlay_control.visible.isChecked()
    off = _panel_pixels(fused_window, "fused")
    assert fused_window.viewers.drawn_image("fused").ndim == 2  # grey again, no colour layer
    assert np.abs(on.astype(int) - off).mean() > np.abs(faint.astype(int) - off).mean() > 0.5


def test_ssim_psnr_labels_match_brainfuse_metrics(fused_window, qtbot):
    ws = fused_window.workspace
    k = ws.slice_index

    def s255(a):
        return to_255(a[k])

    p = ws.fusion.prepared
    f, a, b = s255(ws.fusion.fused), to_255(p.ct01[k]), to_255(p.mri01[k])
    labels = fused_window.readouts.labels
    ssim = f"{metrics.ssim(f, a, b):.4f}"
    qtbot.waitUntil(lambda: labels["ssim"].text() == ssim, timeout=10000)
    assert labels["psnr"].text() == f"{metrics.psnr(f, a, b):.2f} dB"
    # the demo CT is in HU: bone from HU >= 300, scored against the CT as windowed
    hu = ws.fusion.prepared.ct.array[k]
    bone = metrics.bone_kept(f, a, ct_scale="hu", ct_hu=hu)
    brain = metrics.brain_kept(f, a, b, ct_scale="hu", ct_hu=hu)
    assert labels["bone_kept"].text() == f"{bone:.3f}" and bone > 0.9
    assert labels["brain_kept"].text() == ("–" if np.isnan(brain) else f"{brain:.3f}")
    assert labels["qabf"].text() == "–"
    with qtbot.waitSignal(fused_window.readouts_updated, timeout=10000):
        qtbot.mouseClick(fused_window.readouts.extra_button, QtCore.Qt.MouseButton.LeftButton)
    assert fused_window.runner.thread_ids["metrics"] != threading.get_ident()
    assert labels["qabf"].text() == f"{metrics.qabf(f, a, b):.4f}"
    assert labels["mi"].text() == f"{metrics.mutual_information(f, a, b):.3f} bits"


def test_window_preset_refuses_with_the_new_window(fused_window, qtbot):
    with qtbot.waitSignal(fused_window.fusion_finished, timeout=120000):
        fused_window.window_control.preset.setCurrentIndex(2)
        fused_window.window_control.preset.activated.emit(2)  # user picks "Bone"
    ws = fused_window.workspace
    used = ws.fusion.prepared.windows["ct"]
    assert used.center == 500.0 and used.width == 2000.0 and used.kind == "preset:bone"
    lo, hi = fused_window.viewers.panels["ct"].image.getLevels()
    assert (lo, hi) == (-500.0, 1500.0)


def test_cancel_stops_a_volume_fusion(window, demo, qtbot, fusion_gate):
    ct, mri = demo
    k = ct.n_slices // 2
    pair = crop(ct, k - 20, k + 20), crop(mri, k - 20, k + 20)
    ws = window.workspace
    window.set_pair(*pair)
    qtbot.waitUntil(fusion_gate.reached, timeout=60000)  # held after 2 slices
    assert window.cancel_button.isVisible()
    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    fusion_gate.release()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30000)
    settle()  # the worker has ended and all it sent is delivered: nothing can arrive later
    done = int(ws.fusion.done.sum())
    # the worker stops at its next cancel point: at most the slice it holds lands, no new batch
    assert fusion_gate.done[1] <= done <= fusion_gate.done[1] + 1 < ws.n_slices
    assert not window.cancel_button.isVisible()


def test_bad_file_shows_a_readable_error_and_the_app_keeps_running(window, qtbot, tmp_path):
    bad = tmp_path / "not_a_scan.dcm"
    bad.write_bytes(b"this is not DICOM at all" * 10)
    shown = []
    QtWidgets.QMessageBox.critical, original = (
        lambda *a, **k: shown.append(a[2]) or QtWidgets.QMessageBox.StandardButton.Ok,
        QtWidgets.QMessageBox.critical,
    )
    try:
        window.open_ct(str(bad))
        qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    finally:
        QtWidgets.QMessageBox.critical = original
    assert "The CT could not be opened" in shown[0] and "not_a_scan.dcm" in shown[0]
    assert window.isVisible() and window.workspace.ct is None
    # nothing is left stuck (the model's warm-up, started with the window, may still end)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=60000)


def test_export_writes_png_and_nifti_and_reports_the_path(fused_window, qtbot, tmp_path):
    png = tmp_path / "fused.png"
    fused_window.export(ExportOptions(png, "png", overlay=True, anonymize=True))
    qtbot.waitUntil(lambda: png.is_file(), timeout=20000)
    qtbot.waitUntil(lambda: str(png) in fused_window.statusBar().currentMessage(), timeout=5000)
    from PIL import Image

    y, x = fused_window.workspace.shape[1:]
    assert Image.open(png).size == (x, y)
    nii = tmp_path / "fused.nii.gz"
    fused_window.export(ExportOptions(nii, "nifti", overlay=False, anonymize=False))
    qtbot.waitUntil(lambda: nii.is_file(), timeout=20000)
    import nibabel as nib

    assert nib.load(nii).shape[:3] == (x, y, fused_window.workspace.n_slices)
    folder = tmp_path / "dicom"
    fused_window.export(ExportOptions(folder, "dicom", overlay=False, anonymize=True))
    qtbot.waitUntil(lambda: "DICOM" in fused_window.statusBar().currentMessage(), timeout=30000)
    import pydicom

    files = sorted(folder.glob("*.dcm"))
    # one file per slice, and the decision map as a DICOM Segmentation of the series
    assert len(files) == fused_window.workspace.n_slices + 1
    assert (folder / "decision_map_seg.dcm").is_file()
    ds = pydicom.dcmread(files[0])
    assert ds.Rows == y and ds.Columns == x


def test_click_moves_the_linked_crosshair_and_hover_reads_hu(fused_window):
    ws = fused_window.workspace
    viewers = fused_window.viewers
    x0, y0, w, h = ws.scene_rect()
    viewers.box("mri").clicked.emit(x0 + w / 3, y0 + h / 4)
    sx, sy = ws.mm_to_scene(ws.cursor_mm)
    assert (sx, sy) == pytest.approx((x0 + w / 3, y0 + h / 4))
    for panel in viewers.panels.values():
        assert (panel.vline.value(), panel.hline.value()) == pytest.approx((sx, sy))
    viewers.hovered.emit(sx, sy)
    i, j, _ = np.rint(ws.mm_to_index(ws.cursor_mm)).astype(int)
    hu = ws.ct_grid.array[ws.slice_index, j, i]
    assert f"CT {hu:.0f} HU" in fused_window.position_label.text()
    assert viewers.panels["ct"].readout.text() == f"{hu:.0f} HU"


def test_right_drag_changes_the_ct_window(fused_window):
    ws = fused_window.workspace
    before = ws.ct_window
    fused_window.viewers.box("ct").window_dragged.emit(50.0, -25.0)
    assert ws.ct_window.width > before.width and ws.ct_window.center > before.center
    assert ws.ct_preset is None
    assert fused_window.window_control.preset.currentText() == "Custom"
    fused_window.workspace.reset_windows()
    assert ws.ct_window == before


def test_folder_with_two_series_offers_a_choice(window, qtbot, tmp_path, monkeypatch):
    import shutil

    from pydicom.data import get_testdata_file

    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(get_testdata_file(name), folder / name)
    asked = []

    def choose(parent, title, label, items, *args):
        asked.append(list(items))
        return next(i for i in items if "MR" in i), True

    monkeypatch.setattr(QtWidgets.QInputDialog, "getItem", choose)
    window.open_mri(str(folder))
    qtbot.waitUntil(lambda: window.workspace.mri is not None, timeout=20000)
    assert len(asked) == 1 and len(asked[0]) == 2
    assert window.workspace.mri.modality == "MR"


def test_dropping_a_file_on_the_ct_viewer_opens_it_as_ct(window, qtbot, demo, tmp_path):
    import nibabel as nib

    path = tmp_path / "ct.nii.gz"
    volume = demo[0]
    nib.save(nib.Nifti1Image(volume.array[:3].T.copy(), np.diag([-1.5, -1.5, 1.5, 1])), path)
    from PySide6 import QtGui

    viewers = window.viewers
    centre = viewers.mapFromScene(viewers.box("ct").sceneBoundingRect().center())
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    event = QtGui.QDropEvent(
        QtCore.QPointF(centre),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    viewers.dropEvent(event)
    qtbot.waitUntil(lambda: window.workspace.ct is not None, timeout=20000)
    assert window.workspace.ct.path.endswith("ct.nii.gz")
    assert ("ct", str(path)) in window.settings.recent()


def test_opening_a_new_pair_mid_fusion_drops_the_old_results(window, demo, qtbot):
    ct, mri = demo
    k = ct.n_slices // 2
    window.set_pair(crop(ct, k - 15, k + 15), crop(mri, k - 15, k + 15))
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.fusion is not None and ws.fusion.done.any(), timeout=60000)
    small = crop(ct, k, k + 2), crop(mri, k, k + 2)
    old = window.runner.tasks["fuse"]
    with qtbot.waitSignal(window.fusion_finished, timeout=60000):
        window.set_pair(*small)
        assert old.cancel.is_set()  # at once, not when the new pair is aligned
    assert ws.shape == small[1].shape and ws.is_fused()


def test_the_window_offers_and_reports_the_alignment(window, small_pair, qtbot):
    ws = window.workspace
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    assert ws.register_mode == "auto" and ws.registration == "geometry"  # as brainfuse fuse
    assert "Aligned by geometry" in window.sources_label.text()
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.controller.set_register_mode("none")  # the Fusion > Alignment menu
    assert ws.registration == "none" and "Aligned by none" in window.sources_label.text()
    with pytest.raises(ValueError, match="unknown alignment"):
        ws.set_register_mode("affine")


def test_menus_follow_the_workspace_rule_device_and_alignment(window, settings, qtbot):
    ws = window.workspace
    # the model loads in the background; let it end so no load is left running afterwards
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=60000)
    assert (
        window.menus.rule_actions["anatomy"].isChecked()
        and window.menus.device_actions["auto"].isChecked()
    )
    ws.set_engine(rule="sesf", device="cpu")  # a script, a session or another view chose
    assert (
        window.menus.rule_actions["sesf"].isChecked()
        and window.menus.device_actions["cpu"].isChecked()
    )
    assert settings.rule() == "anatomy"  # the preference for new windows is the user's own
    ws.set_register_mode("rigid")
    assert window.menus.register_actions["rigid"].isChecked()
    assert not window.menus.register_actions["auto"].isChecked()
    window.menus.register_actions["none"].trigger()  # the menu itself
    assert ws.register_mode == "none"
    window.menus.device_actions["auto"].trigger()
    assert ws.fusion_device == "auto" and settings.device() == "auto"


def test_rule_menu_refuses_with_the_other_rule_and_says_which_ran(fused_window, qtbot):
    ws = fused_window.workspace
    labels = fused_window.readouts.labels
    qtbot.waitUntil(lambda: labels["rule"].text() == "anatomy", timeout=10000)
    anatomy_map = ws.fusion.decision_map.copy()
    sesf = fused_window.findChild(QtGui.QAction, "rule_sesf")
    with qtbot.waitSignal(fused_window.fusion_finished, timeout=120000):
        sesf.trigger()
    assert fused_window.settings.rule() == "sesf" and ws.fusion.rule == "sesf"
    qtbot.waitUntil(lambda: labels["rule"].text() == "sesf", timeout=10000)
    assert not np.array_equal(anatomy_map, ws.fusion.decision_map)
    fused_window.findChild(QtGui.QAction, "rule_anatomy").trigger()  # back to the default
