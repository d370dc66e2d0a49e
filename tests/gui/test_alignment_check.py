"""Registration in the window: the check view (checkerboard, blend, flicker, Accept/Redo,
.tfm), and a DICOM CT series moved 8 mm / 6° registered to a NIfTI MRI from the window."""

from __future__ import annotations

import math

import numpy as np
import pydicom
import pytest
import SimpleITK
from PySide6 import QtCore, QtGui, QtWidgets

from brainfuse.grid import load_transform, resample_to, rigid_difference
from brainfuse.gui.check_view import unit
from brainfuse.model.alignment import blend, checkerboard, grid_centre, shift_words

from ..cli.test_fuse_register import write_ct_series, write_nifti
from .test_viewer import _mr_like


def test_check_view_holds_the_fusion_until_accept_and_saves_the_transform(
    window, small_pair, qtbot, tmp_path
):
    from brainfuse.gui.export_dialog import ExportOptions

    ws = window.workspace
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    with qtbot.waitSignal(window.controller.check_requested, timeout=120000):
        window.controller.set_register_mode("rigid")  # Fusion > Alignment > Rigid
    view = window.check_view
    assert view is not None and view.isVisible()
    assert ws.registration == "rigid" and not ws.alignment_accepted and ws.fusion is None
    assert "check it, then Accept" in window.sources_label.text()
    assert "rigid, shift " in view.report.text() and "waiting for Accept" in view.report.text()
    assert not window.runner.is_running("fuse")
    note = window.viewers.panels["fused"].message.text()
    assert "Accept the alignment" in note and "Fusing" not in note
    assert all(label.text() == "–" for label in window.readouts.labels.values())  # nothing stale

    ct = unit(ws.plane_image("ct"), ws.ct_window.levels)
    mri = unit(ws.plane_image("mri"), ws.mr_display_window.levels)
    _, _, w, h = ws.scene_rect()
    for size in (20, 8):
        view.square.setValue(size)
        px = (size * ct.shape[0] / h, size * ct.shape[1] / w)
        expected = checkerboard(ct, mri, px)
        np.testing.assert_array_equal(view.image.image, expected)
        assert (expected == ct).mean() > 0.3 and (expected == mri).mean() > 0.3
    view.mode.setCurrentText("Blend")
    view.blend.setValue(30)
    np.testing.assert_allclose(view.image.image, blend(ct, mri, 0.3), atol=1e-6)
    view.mode.setCurrentText("Flicker")  # the one flicker control
    assert view.timer.isActive()
    first = view.image.image.copy()
    view._flip()  # the timer's tick
    second = view.image.image.copy()
    assert {first.tobytes(), second.tobytes()} == {ct.tobytes(), mri.tobytes()}
    view.mode.setCurrentText("Checkerboard")
    assert not view.timer.isActive()

    # the wheel moves through slices as in a viewer; Ctrl+wheel zooms and keeps the slice
    k = ws.plane_index()
    _wheel(view, -120)
    assert ws.plane_index() == k - 1 and f"{k} / " in view.slice_label.text()
    shown = view.image.image.copy()
    assert not np.array_equal(shown, expected)  # the picture follows the slice
    before = view.box.viewRange()
    _wheel(view, 120, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert ws.plane_index() == k - 1 and view.box.viewRange() != before
    _wheel(view, 120)
    assert ws.plane_index() == k

    tfm = tmp_path / "ct_to_mri.tfm"
    view.save_transform(str(tfm))
    centre = grid_centre(ws.mri_grid)
    angle, shift = rigid_difference(load_transform(tfm), ws.alignment.transform, centre)
    assert angle < 1e-4 and shift < 1e-4  # the .tfm text keeps ~7 digits

    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        view.buttons["Accept"].click()
        assert not view.isVisible()  # Accept closes the check; the viewers show the fusion
    assert ws.alignment_accepted and ws.is_fused()
    out = tmp_path / "fused_dcm"
    with qtbot.waitSignal(window.controller.exported, timeout=60000):
        window.export(ExportOptions(out, "dicom", False, False, False))
    ds = pydicom.dcmread(sorted(out.glob("*.dcm"))[0])
    assert "aligned by rigid shift_mm" in str(ds.DerivationDescription)

    # Redo with file geometry: accepted at once (nothing to check), fused again
    view.redo_mode.setCurrentIndex(view.redo_mode.findData("geometry"))
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        view.buttons["Redo"].click()
    assert ws.registration == "geometry" and ws.alignment_accepted
    # the saved transform aligns the pair again, to be checked and accepted
    with qtbot.waitSignal(window.controller.check_requested, timeout=120000):
        view.load_transform(str(tfm))
    angle, shift = rigid_difference(ws.alignment.transform, load_transform(tfm), centre)
    assert ws.registration == "rigid" and angle < 1e-4 and shift < 1e-4
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        view.accept_alignment()
    assert ws.is_fused()


def _wheel(view, delta: int, modifiers=QtCore.Qt.KeyboardModifier.NoModifier) -> None:
    """Turn the mouse wheel over the middle of the check view's picture."""
    viewport = view.plot.viewport()
    pos = QtCore.QPointF(viewport.rect().center())
    event = QtGui.QWheelEvent(
        pos,
        QtCore.QPointF(viewport.mapToGlobal(pos.toPoint())),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, delta),
        QtCore.Qt.MouseButton.NoButton,
        modifiers,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(viewport, event)


@pytest.mark.shared
def test_a_moved_dicom_ct_series_is_registered_from_the_window(shared_data, tmp_path):
    """The cranium CT series moved by 8 mm / 6°; the MRI is an MR-like contrast of the same
    head, written here as NIfTI on its own 2 mm grid. Registered to within 1 mm / 1°."""
    from brainfuse.gui import Viewer
    from brainfuse.io import load

    base = load(shared_data / "dicom" / "ct" / "cranium_ct_series")
    z, y, x = base.shape
    extent = np.array([x, y, z]) * np.asarray(base.spacing)
    size = np.round(extent / 2.0).astype(int)
    centre = grid_centre(base)
    origin = centre - 2.0 * (size - 1) / 2
    mri_grid = base.with_array(
        np.zeros(tuple(size[::-1]), np.int16), spacing=(2.0,) * 3, origin=tuple(origin)
    )
    mri = resample_to(base.with_array(_mr_like(base.array)), mri_grid)
    mri = mri.with_array(np.rint(mri.array).astype(np.int16), modality="MR", units="")
    mri_path = tmp_path / "mri.nii.gz"
    write_nifti(mri_path, mri)

    move = SimpleITK.Euler3DTransform()
    move.SetCenter(tuple(centre))
    move.SetRotation(0.0, math.radians(2.0), math.radians(5.65))  # 6.0° in all
    move.SetTranslation((4.0, -5.66, 4.0))  # 8.0 mm
    expected = move.GetInverse()  # MRI grid point -> moved CT point
    ident = SimpleITK.Euler3DTransform()
    ident.SetCenter(tuple(centre))
    angle0, shift0 = rigid_difference(expected, ident, centre)
    assert angle0 == pytest.approx(6.0, abs=0.05) and shift0 == pytest.approx(8.0, abs=0.05)
    ct = resample_to(base, base, transform=move)
    ct_dir = tmp_path / "ct_series"
    write_ct_series(ct_dir, ct)

    v = Viewer(show=False)
    try:
        # the CT's 0.96 mm grid is the finer: the MRI's grid asked for (Fusion > Result grid),
        # so the transform runs from the MRI's grid to the moved CT
        v.window.controller.set_reference("mri")
        v.open_pair(ct_dir, mri_path)
        v.wait(300)
        assert v.workspace.registration == "geometry"
        report = v.align("rigid")
        assert v.workspace.alignment.reference == "mri"
        ws = v.workspace
        assert report["mode"] == "rigid" and ws.alignment_accepted and ws.is_fused()
        angle, shift = rigid_difference(ws.alignment.transform, expected, grid_centre(ws.mri_grid))
        print(f"window registration error: {angle:.3f} deg, {shift:.3f} mm; report {report}")
        assert angle < 1.0 and shift < 1.0, (angle, shift)
        # the report gives the move back: the six parameters against the known ones
        want_shift = list(
            np.asarray(expected.TransformPoint(tuple(grid_centre(ws.mri_grid))))
            - grid_centre(ws.mri_grid)
        )
        assert report["translation_mm"] == pytest.approx(want_shift, abs=1.0)
        assert np.linalg.norm(report["translation_mm"]) == pytest.approx(8.0, abs=1.0)
        assert abs(report["rotation_deg"][2]) == pytest.approx(5.65, abs=1.0)
        assert report["metric"] < 0 and report["overlap"] > 0.9
        text = v.window.sources_label.text()
        t = report["translation_mm"]
        assert f"shift {shift_words(t)}" in text
        v.workspace.set_plane("coronal")
        assert v.fused_slice().shape == (ws.shape[0], ws.shape[2])
    finally:
        v.close()
