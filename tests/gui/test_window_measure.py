"""Issue 15 in the window: ruler and region drawn with the mouse, scale bars (acceptance 3), and
edits saved by the window reproduced by ``brainfuse fuse --edits`` bit for bit (acceptance 2)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6 import QtCore

from brainfuse.reading.measure import Region, Ruler, scale_bar

from .test_window_brush import _mri_taken_centre, _press_release

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_a_40_mm_ruler_drawn_with_the_mouse_reads_40_mm(fused_window, qtbot):
    window, ws = fused_window, fused_window.workspace
    k = ws.slice_index
    sx, sy, _ = ws.mri_grid.spacing
    _, y, x = ws.shape
    start = ws.index_to_mm((x / 2 - 20 / sx, y / 2, k))
    end = ws.index_to_mm((x / 2 + 20 / sx, y / 2, k))  # 40 mm to the left of the patient
    assert np.linalg.norm(end - start) == pytest.approx(40.0)
    window.tools.set_tool("ruler")
    mid = (start + end) / 2
    _press_release(qtbot, window, start, panel="ct", moves=[mid, end])
    assert len(ws.measurements) == 1 and isinstance(ws.measurements[0], Ruler)
    length = ws.measurements[0].length_mm(ws.mri_grid)
    assert abs(length - 40.0) <= max(sx, sy), length  # 40.0 mm ± one voxel
    text = window.reader_dock.table_text()
    assert text.splitlines()[1].split("\t")[5] == f"{length:.1f}"
    assert window.reader_dock.table.rowCount() == 1
    assert len(window.tools.panels["ct"].drawn) == 2  # the line and its label

    # a rectangle region: its table rows give HU for the CT and raw values for the MRI
    window.tools.set_tool("rectangle")
    corner = ws.index_to_mm((x / 2 + 10 / sx, y / 2 + 10 / sy, k))
    _press_release(qtbot, window, mid, panel="fused", moves=[corner])
    region = ws.measurements[1]
    assert isinstance(region, Region) and region.shape == "rectangle"
    stats = {s.source: s for s in region.stats(ws.measurement_sources())}
    mask = region.mask(ws.mri_grid)
    assert stats["ct"].units == "HU" and stats["ct"].pixels == mask.sum() > 30
    rows = window.reader_dock.table_text().splitlines()
    assert len(rows) == 1 + 1 + 2 and rows[2].split("\t")[4] == "ct"
    assert window.reader_dock.table.rowCount() == 3

    # a scale bar on every viewer, a round length at most a quarter of the view
    for name, p in window.tools.panels.items():
        mm_per_px = abs(p.box.viewPixelSize()[0])
        expected, _ = scale_bar(mm_per_px, p.box.boundingRect().width() / 4.0)
        assert p.scale_bar_mm() == expected, name

    window.reader_dock.copy()
    from PySide6 import QtWidgets

    assert QtWidgets.QApplication.clipboard().text() == window.reader_dock.table_text()


@pytest.fixture
def pair_files(tmp_path, small_pair):
    from brainfuse.export.nifti import write_nifti

    ct, mri = small_pair
    return write_nifti(ct, tmp_path / "ct.nii.gz"), write_nifti(mri, tmp_path / "mri.nii.gz")


def test_edits_saved_by_the_window_reproduce_its_export_on_the_command_line(
    window, qtbot, tmp_path, pair_files
):
    import pydicom

    from brainfuse.cli import main
    from brainfuse.gui.export_dialog import ExportOptions
    from brainfuse.gui.reader_panel import save_edits_to
    from brainfuse.io import load

    ct_path, mri_path = pair_files
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.open_ct(str(ct_path))
        window.open_mri(str(mri_path))
    qtbot.waitUntil(lambda: window.workspace.is_fused(), timeout=60000)
    ws = window.workspace
    row, col = _mri_taken_centre(ws, 10.0)
    window.tools.set_tool("brush")
    ws.set_brush(mode="ct", radius_mm=10.0, ball=True)
    _press_release(qtbot, window, ws.index_to_mm((col, row, ws.slice_index)))
    n = ws.edits.counts()
    assert n["ct"] > 0
    edits = save_edits_to(window, tmp_path / "edits.nii.gz")

    shown = tmp_path / "window.nii.gz"
    window.export(ExportOptions(shown, "nifti", overlay=False, anonymize=False))
    qtbot.waitUntil(lambda: shown.is_file(), timeout=30000)
    headless = tmp_path / "cli.nii.gz"
    args = ["fuse", str(ct_path), str(mri_path), "--edits", str(edits), "--device", "cpu"]
    assert main([*args, "-o", str(headless)]) == 0
    np.testing.assert_array_equal(load(headless).array, load(shown).array)  # bit for bit
    np.testing.assert_array_equal(
        load(shown).array[ws.slice_index], np.asarray(ws.slice_image("fused"))
    )

    folder = tmp_path / "dicom"
    window.export(ExportOptions(folder, "dicom", overlay=False, anonymize=True))
    qtbot.waitUntil(lambda: window.last_dicom_export == str(folder), timeout=30000)
    first = sorted(folder.glob("*.dcm"))[0]
    text = pydicom.dcmread(first).DerivationDescription
    assert f"decision map edited by hand: {n['ct']} voxels forced to CT" in text
    if shutil.which("dciodvfy"):
        from tests.export.test_dicom import dciodvfy

        assert dciodvfy(first)[0] == []
