"""Issue 14 in the window: no stale state, a layout that never clips, words a radiologist
reads, three linked planes, and an alignment that can be checked (offscreen, pytest-qt)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from brainfuse.model import planes
from brainfuse.model.image import ImageVolume
from brainfuse.reading.workspace import LAYERS

from .conftest import crop, settle

SHA = re.compile(r"\b[0-9a-f]{64}\b")


def _messages(window) -> dict[str, str]:
    return {p.name: p.message.text() for p in window.viewers.shown()}


def _no_dialogs(monkeypatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "critical", lambda _parent, _title, text: shown.append(text)
    )
    return shown


# ---------------------------------------------------------------------- stale state
def test_cancel_of_a_refusion_leaves_a_clear_recoverable_state(window, demo, qtbot, fusion_gate):
    ct, mri = demo
    k = ct.n_slices // 2
    ws = window.workspace
    fusion_gate.hold = {1, 2}  # the fusion and the re-fusion, each after two slices
    window.set_pair(crop(ct, k - 20, k + 20), crop(mri, k - 20, k + 20))
    qtbot.waitUntil(fusion_gate.reached, timeout=60000)
    first = ws.fusion
    ws.set_ct_window("bone")  # a re-fusion with the new window (debounced)
    window.flush_pending()
    fusion_gate.release(1)  # the first fusion, replaced, may end
    qtbot.waitUntil(lambda: fusion_gate.reached(2), timeout=60000)
    assert ws.fusion is not first
    # the bar starts again for the new window, and says so (not progress silently lost)
    assert window.progress.format().startswith("New window, fusing again")
    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    fusion_gate.release(2)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30000)
    settle()
    runs = ws.not_fused()
    assert runs and ws.fusion_cancelled
    status = window.statusBar().currentMessage()
    assert status.startswith("Cancelled — slices ") and status.endswith("not fused; Fuse again")
    assert f"{runs[0][0] + 1}–{runs[0][1] + 1}" in status
    assert window.fuse_again_button.isVisible()
    seen = set()
    for _ in range(30):  # scroll 30 slices: no viewer claims a fusion is running
        window.step_slice(-1 if ws.slice_index > 0 else 1)
        seen.add(ws.slice_index)
        messages = _messages(window)
        assert "Fusing…" not in messages.values(), messages
        if not ws.is_fused(ws.slice_index):
            assert "cancelled" in messages["fused"] and "Fuse again" in messages["fused"]
    assert any(not ws.is_fused(s) for s in seen)
    done_before = ws.fusion.done.copy()
    kept = ws.fusion.fused[done_before].copy()
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        qtbot.mouseClick(window.fuse_again_button, QtCore.Qt.MouseButton.LeftButton)
    assert ws.is_fused() and not ws.fusion_cancelled and not window.fuse_again_button.isVisible()
    assert ws.fusion.prepared.windows["ct"].kind == "preset:bone"
    np.testing.assert_array_equal(ws.fusion.fused[done_before], kept)  # resumed, not redone
    assert "Fusing…" not in _messages(window).values()


def test_position_readout_follows_wheel_page_keys_and_arrows(fused_window, qtbot):
    ws = fused_window.workspace
    viewers = fused_window.viewers
    ws.set_slice(1)
    x0, y0, w, h = ws.scene_rect()
    viewers.hovered.emit(x0 + w / 2, y0 + h / 2)  # the mouse rests over a viewer

    def s_mm() -> float:
        match = re.search(r"([SI]) (\d+\.\d) mm", fused_window.position_label.text())
        return float(match.group(2)) * (1 if match.group(1) == "S" else -1)

    dz = ws.mri_grid.spacing[2]
    start = s_mm()
    viewers.box("ct").slice_step.emit(1)  # wheel
    assert s_mm() == pytest.approx(start + dz, abs=0.06)
    fused_window.activateWindow()
    qtbot.keyClick(fused_window.viewers, QtCore.Qt.Key.Key_PageUp)
    assert s_mm() == pytest.approx(start + 2 * dz, abs=0.06)
    qtbot.keyClick(fused_window.viewers, QtCore.Qt.Key.Key_Down)
    assert s_mm() == pytest.approx(start + dz, abs=0.06)
    k = ws.slice_index
    i, j, _ = np.rint(ws.mm_to_index(ws.scene_to_mm(x0 + w / 2, y0 + h / 2))).astype(int)
    assert f"CT {ws.ct_grid.array[k, j, i]:.0f} HU" in fused_window.position_label.text()


def test_decision_map_readout_follows_hard_soft(fused_window):
    ws = fused_window.workspace
    k = ws.slice_index
    soft, hard = ws.fusion.soft_map[k], ws.fusion.decision_map[k]
    j, i = np.argwhere((soft > 0.2) & (soft < 0.8) & (np.abs(soft - hard) > 0.1))[0]
    sx, sy, _ = ws.mri_grid.spacing
    fused_window.viewers.hovered.emit(i * sx, j * sy)
    readout = fused_window.viewers.panels["map"].readout
    assert readout.text() == f"{float(hard[j, i]):.3g}"
    fused_window.overlay_control.kind.setCurrentIndex(1)  # soft
    assert ws.soft_map and readout.text() == f"{float(soft[j, i]):.3g}"
    fused_window.overlay_control.kind.setCurrentIndex(0)
    assert readout.text() == f"{float(hard[j, i]):.3g}"


def test_a_2d_3d_mismatch_leaves_one_consistent_cleared_state(
    fused_window, qtbot, tmp_path, monkeypatch
):
    from PIL import Image

    shown = _no_dialogs(monkeypatch)
    window = fused_window
    labels = window.readouts.labels
    qtbot.waitUntil(lambda: labels["ssim"].text() != "–", timeout=20000)
    old_mri = window.workspace.mri.name
    png = tmp_path / "one_slice.png"
    Image.fromarray((np.arange(64 * 64) % 251).reshape(64, 64).astype(np.uint8)).save(png)
    window.open_ct(str(png))
    qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=30000)
    ws = window.workspace
    assert not ws.has_grid and ws.problem and ws.fusion is None
    text = window.sources_label.text()
    assert "one_slice.png" in text and old_mri[:10] in text and "Not aligned" in text
    assert "Aligned by" not in text
    assert all(labels[key].text() == "–" for key in ("ssim", "psnr", "qabf", "mi"))
    for panel in window.viewers.panels.values():
        assert panel.image.image is None
        assert panel.message.text() == ws.problem
    assert "--" not in shown[0] and "--" not in ws.problem  # menu names, no CLI flags
    assert window.menus.action_fuse_again.isEnabled()  # aligns again: no dead end


def test_fuse_again_is_disabled_with_nothing_loaded(window, small_pair, qtbot):
    assert not window.menus.action_fuse_again.isEnabled()
    window.menus.action_fuse_again.trigger()  # and does nothing
    assert not window.runner.is_running("fuse")
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    assert window.menus.action_fuse_again.isEnabled()


# ---------------------------------------------------------------------- layout
def test_layout_never_clips_at_1280x800_with_a_120_character_name(window, small_pair, qtbot):
    ct, mri = small_pair
    name = ("MNI152_ICBM_2009c_nonlinear_asymmetric_T1_template_" * 3)[:113] + ".nii.gz"
    assert len(name) == 120
    long_mri = mri.with_array(mri.array, path=f"/data/templates/{name}", description="")
    window.resize(1280, 800)
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(ct, long_mri)
    QtWidgets.QApplication.processEvents()
    assert window.width() <= 1280 and window.height() <= 800
    assert name in window.sources_label.toolTip()
    assert "…" in window.sources_label.text()
    scroll = window.side_panel
    viewport = scroll.viewport()
    side = scroll.widget()
    controls = [
        w
        for w in side.findChildren(QtWidgets.QWidget)
        if w.isVisibleTo(side)
        and isinstance(
            w,
            (
                QtWidgets.QAbstractButton,
                QtWidgets.QComboBox,
                QtWidgets.QAbstractSlider,
                QtWidgets.QLabel,
                QtWidgets.QSpinBox,
            ),
        )
    ]
    assert len(controls) > 15
    for w in controls:
        top_left = w.mapTo(viewport, QtCore.QPoint(0, 0))
        assert top_left.x() >= 0 and top_left.x() + w.width() <= viewport.width(), (
            w.objectName() or type(w).__name__,
            getattr(w, "text", lambda: "")(),
        )
    # short of room, the panel scrolls instead of squeezing
    window.resize(1280, 500)
    QtWidgets.QApplication.processEvents()
    assert side.height() > viewport.height() and scroll.verticalScrollBar().maximum() > 0
    text = window.slice_control.label.text()
    ws = window.workspace
    assert re.fullmatch(r"\d+ / \d+ · [SI] \d+\.\d mm", text), text
    assert text.startswith(f"{ws.slice_index + 1} / {ws.n_slices} · ")
    z = ws.index_to_mm((0, 0, ws.slice_index))[2]  # lettered as the crosshair's position
    assert text.endswith(f"{'S' if z >= 0 else 'I'} {abs(z):.1f} mm")


def _double_click(qtbot, viewers, box) -> None:
    """Two left clicks within the double-click interval, at the box's centre."""
    centre = viewers.mapFromScene(box.sceneBoundingRect().center())
    for _ in range(2):
        qtbot.mouseClick(viewers.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=centre)
    QtWidgets.QApplication.processEvents()


def test_double_click_maximises_a_viewer_and_back(fused_window, qtbot):
    viewers = fused_window.viewers
    box = viewers.box("ct")
    _double_click(qtbot, viewers, box)
    assert viewers.maximized == "ct" and [p.name for p in viewers.shown()] == ["ct"]
    assert box.sceneBoundingRect().width() > 0.8 * viewers.width()
    assert viewers.drawn_image("ct") is not None
    qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 50)
    _double_click(qtbot, viewers, box)
    assert viewers.maximized is None and len(viewers.shown()) == 4
    assert box.sceneBoundingRect().width() < 0.6 * viewers.width()


# ---------------------------------------------------------------------- words
def test_words_a_radiologist_reads(window, qtbot):
    from brainfuse.gui.about import about_text
    from brainfuse.gui.settings import cuda_problem
    from brainfuse.gui.words import for_window

    for key in ("ssim", "psnr", "qabf", "mi"):
        tip = window.readouts.labels[key].toolTip()
        assert "CT" in tip and "MRI" in tip and "Higher is better" in tip, key
    assert window.overlay_control.kind.toolTip().startswith("Display only")
    about = about_text()
    assert "`" not in about and len(SHA.findall(about)) == 1
    menus = {a.text().replace("&", ""): a for a in window.menuBar().actions()}
    help_items = [a.text().replace("&", "") for a in menus["Help"].menu().actions()]
    assert {"Keyboard shortcuts", "User guide", "About BrainFuse"} <= set(help_items)
    window.menus.device_menu.aboutToShow.emit()
    cuda = window.menus.device_actions["cuda"]
    problem = cuda_problem()
    assert cuda.isEnabled() == (problem is None)
    if problem is not None:
        assert problem in cuda.toolTip() and problem in cuda.text()
    message = (
        "a.png is 64×64 and b.nii is 10×10×10: images of different sizes cannot be fused "
        "pixel for pixel. Use --register geometry (both files carry patient geometry) or "
        "--register rigid."
    )
    assert "--" not in for_window(message) and "Fusion › Alignment › Rigid" in for_window(message)


# ---------------------------------------------------------------------- three planes
def _marked_pair() -> tuple[ImageVolume, ImageVolume, np.ndarray]:
    """A pair on an anisotropic, RAS-ordered grid with one bright voxel; its LPS position."""
    shape = (12, 40, 48)
    kw = {
        "spacing": (0.9, 1.2, 3.0),
        "origin": (60.0, 40.0, -20.0),
        "direction": np.diag([-1.0, -1.0, 1.0]),  # voxel order R, A, S
    }
    rng = np.random.default_rng(1)
    ct = rng.normal(40.0, 5.0, shape).astype(np.float32)
    mri = rng.normal(300.0, 20.0, shape).astype(np.float32)
    ijk = (30, 11, 7)  # column, row, slice
    ct[ijk[2], ijk[1], ijk[0]] = 3000.0
    mri[ijk[2], ijk[1], ijk[0]] = 2000.0
    ct_v = ImageVolume(ct, modality="CT", units="HU", **kw)
    mri_v = ImageVolume(mri, modality="MR", **kw)
    lps = (ct_v.affine @ np.array([*ijk, 1.0]))[:3]
    return ct_v, mri_v, lps


def test_a_voxel_at_a_known_lps_position_is_under_the_crosshair_in_three_planes(window, qtbot):
    ct, mri, lps = _marked_pair()
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(ct, mri)
    ws = window.workspace
    ws.set_cursor_mm(lps)
    for layer in ("ct", "mri"):
        ws.set_layout("three", layer)
        everything = window.viewers.shown()
        shown = [p for p in everything if p.layer == layer]
        assert sorted(p.plane for p in shown) == ["axial", "coronal", "sagittal"]
        (fourth,) = [p for p in everything if p.layer != layer]  # no empty quadrant
        assert fourth.layer == "map" and window.viewers.drawn_image(fourth.name) is not None
        for panel in shown:
            image = window.viewers.drawn_image(panel.name)
            rs, cs = planes.slice_at(ws.mri_grid, panel.plane, 0).pixel_spacing
            col, row = panel.vline.value() / cs, panel.hline.value() / rs
            r, c = round(row), round(col)
            assert (r, c) == (row, col) or abs(row - r) + abs(col - c) < 1e-6
            assert image[r, c] == image.max() > 1000, (layer, panel.plane)
            index = ws.plane_index(panel.plane)
            np.testing.assert_allclose(
                planes.plane_to_lps(ws.mri_grid, panel.plane, index, r, c), lps, atol=1e-6
            )
            letters = {k: v.text() for k, v in panel.orient.items()}
            assert letters["left"] in "RA" and letters["top"] in "AS"
    # a click in the sagittal view moves the crosshair of the others, in mm
    sagittal = next(p for p in window.viewers.shown() if p.plane == "sagittal")
    rs, cs = planes.slice_at(ws.mri_grid, "sagittal", 0).pixel_spacing
    sagittal.box.clicked.emit(5 * cs, 3 * rs)
    moved = planes.plane_to_lps(ws.mri_grid, "sagittal", ws.plane_index("sagittal"), 3, 5)
    np.testing.assert_allclose(ws.cursor_mm, moved, atol=1e-6)
    axial = next(p for p in window.viewers.shown() if p.plane == "axial")
    assert (axial.vline.value(), axial.hline.value()) == pytest.approx(
        ws.mm_to_scene(moved, "axial")
    )
    # four panels in the coronal plane: every layer, fused ones too, through the cursor
    window.menus.plane_actions["coronal"].trigger()
    ws.set_layout("four")
    assert ws.plane == "coronal" and {p.layer for p in window.viewers.shown()} == set(LAYERS)
    rows_cols = planes.plane_shape(ws.mri_grid, "coronal")[1:]
    for name in LAYERS:
        assert window.viewers.drawn_image(name).shape[:2] == rows_cols, name


def test_viewer_plane_is_what_fused_slice_returns(small_pair):
    from brainfuse.gui import Viewer

    v = Viewer(show=False)
    try:
        v.open_pair(*small_pair)
        v.wait(120)
        grid = v.workspace.mri_grid
        assert v.plane == "axial"
        np.testing.assert_array_equal(v.fused_slice(), v.workspace.fusion.fused[v.slice_index])
        v.plane = "sagittal"
        index = v.workspace.plane_index("sagittal")
        expected = planes.slice_at(grid.with_array(v.workspace.fusion.fused), "sagittal", index)
        np.testing.assert_array_equal(v.fused_slice(), expected.image)
        assert v.fused_slice().shape == planes.plane_shape(grid, "sagittal")[1:]
        with pytest.raises(ValueError):
            v.plane = "oblique"
    finally:
        v.close()
