"""Issue 15, acceptance 1: the decision-map brush driven with real mouse events on the viewers.

Force CT on a disk of radius 10 mm in a region the fusion took from the MRI: the fused pixels
there equal the windowed CT's (within 1/255) and nothing else changes; undo (Ctrl+Z) restores
the previous fused slice bit for bit; a ball edit reaches the slices within its radius and no
further. The automatic maps of the fusion are never touched.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore
from scipy import ndimage

from .conftest import crop

LEFT = QtCore.Qt.MouseButton.LeftButton


def _mri_taken_centre(ws, radius_mm: float) -> tuple[int, int]:
    """(row, col) of the slice on screen whose whole disk of ``radius_mm`` came from the MRI."""
    k = ws.slice_index
    sx, sy, _ = ws.mri_grid.spacing
    r = int(np.ceil(radius_mm / min(sx, sy))) + 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = (xx * sx) ** 2 + (yy * sy) ** 2 <= (radius_mm + 2 * max(sx, sy)) ** 2
    mri_taken = ndimage.binary_erosion(ws.fusion.decision_map[k] == 0, structure=disk)
    rows, cols = np.nonzero(mri_taken)
    assert rows.size, "no region of this slice was taken from the MRI"
    y, x = ws.shape[1:]
    n = np.argmin((rows - y / 2) ** 2 + (cols - x / 2) ** 2)
    return int(rows[n]), int(cols[n])


def _press_release(qtbot, window, lps, panel: str = "map", moves=()) -> None:
    viewport = window.viewers.viewport()
    pos = window.tools.viewport_pos(panel, lps)
    qtbot.mousePress(viewport, LEFT, pos=pos)
    for m in moves:
        qtbot.mouseMove(viewport, window.tools.viewport_pos(panel, m))
    end = window.tools.viewport_pos(panel, moves[-1]) if moves else pos
    qtbot.mouseRelease(viewport, LEFT, pos=end)


def _distance_mm(ws, k: int, lps) -> np.ndarray:
    """Distance (mm) of every pixel of slice ``k`` to an LPS point."""
    _, y, x = ws.shape
    jj, ii = np.mgrid[0:y, 0:x]
    ijk = np.stack([ii.ravel(), jj.ravel(), np.full(ii.size, k), np.ones(ii.size)])
    points = (ws.mri_grid.affine @ ijk)[:3].T
    return np.linalg.norm(points - np.asarray(lps), axis=1).reshape(y, x)


def test_force_ct_disk_with_the_mouse_then_undo_and_redo(fused_window, qtbot):
    window, ws = fused_window, fused_window.workspace
    k = ws.slice_index
    automatic = (ws.fusion.fused.copy(), ws.fusion.soft_map.copy(), ws.fusion.decision_map.copy())
    before = np.array(ws.slice_image("fused"))
    row, col = _mri_taken_centre(ws, 10.0)
    centre = ws.index_to_mm((col, row, k))
    window.tools.set_tool("brush")
    ws.set_brush(mode="ct", radius_mm=10.0, ball=False)
    assert window.reader_dock.radius.value() == 10.0

    viewport = window.viewers.viewport()
    qtbot.mouseMove(viewport, window.tools.viewport_pos("fused", centre))
    circle = window.tools.panels["fused"].circle
    assert circle.isVisible() and circle.rect().width() == pytest.approx(20.0)  # 10 mm radius
    _press_release(qtbot, window, centre)

    labels = ws.edits.labels
    edited = labels[k] == 1
    assert ws.has_edits
    assert labels.sum() == edited.sum() and not (labels == 2).any()  # this slice only
    distance = _distance_mm(ws, k, centre)
    spacing = max(ws.mri_grid.spacing)
    assert edited[distance <= 10.0 - spacing].all() and not edited[distance > 10.0 + spacing].any()
    after = np.array(ws.slice_image("fused"))
    ct01 = np.asarray(ws.unit_slice("ct"))
    assert np.abs(after[edited] - ct01[edited]).max() <= 1 / 255
    np.testing.assert_array_equal(after[~edited], before[~edited])  # nothing else changes
    assert np.abs(after[edited] - before[edited]).max() > 0.05  # it was the MRI there
    np.testing.assert_array_equal(np.array(ws.slice_image("map"))[edited], 1)
    for array, kept in zip(
        (ws.fusion.fused, ws.fusion.soft_map, ws.fusion.decision_map), automatic, strict=True
    ):
        np.testing.assert_array_equal(array, kept)  # the automatic maps stay apart
    np.testing.assert_array_equal(window.viewers.drawn_image("map"), ws.slice_image("map"))
    # the outline on the map, and on the fused image while the overlay is on
    drawn = window.tools.panels["map"].outline.image
    assert (
        drawn is not None
        and (drawn[..., 3] > 0).sum() == (ws.edit_outline("axial", k) > 0).sum() > 0
    )
    ws.set_overlay(visible=True)
    assert window.tools.panels["fused"].outline.image is not None
    ws.set_overlay(visible=False)
    assert window.tools.panels["fused"].outline.image is None

    window.activateWindow()
    assert window.menus.reader.action_undo.shortcut().toString() == "Ctrl+Z"
    assert window.menus.reader.action_redo.shortcut().toString() == "Ctrl+Shift+Z"
    qtbot.keyClick(window.viewers, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(np.array(ws.slice_image("fused")), before)  # bit for bit
    assert not ws.edits.labels.any() and window.tools.panels["map"].outline.image is None
    assert not ws.has_edits
    shift_ctrl = (
        QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier
    )
    qtbot.keyClick(window.viewers, QtCore.Qt.Key.Key_Z, shift_ctrl)
    np.testing.assert_array_equal(np.array(ws.slice_image("fused")), after)
    assert ws.has_edits

    # a drag is one stroke: one undo removes all of it
    ws.set_brush(mode="mri", radius_mm=4.0)
    end = ws.index_to_mm((col + 12, row, k))
    _press_release(qtbot, window, centre, moves=[ws.index_to_mm((col + 6, row, k)), end])
    assert (ws.edits.labels[k] == 2).sum() > (np.pi * (4 / spacing) ** 2)  # a swept band
    window.menus.reader.action_undo.trigger()
    np.testing.assert_array_equal(np.array(ws.slice_image("fused")), after)


@pytest.fixture(scope="module")
def deep_pair(demo):
    """Twenty mid-brain slices of the demo pair (1.5 mm apart)."""
    ct, mri = demo
    k = ct.n_slices // 2
    return crop(ct, k - 10, k + 10), crop(mri, k - 10, k + 10)


def test_a_ball_reaches_the_slices_within_its_radius_and_no_further(window, qtbot, deep_pair):
    ws = window.workspace
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*deep_pair)
    k = ws.slice_index
    before = ws.fusion.fused.copy()
    row, col = _mri_taken_centre(ws, 7.0)
    centre = ws.index_to_mm((col, row, k))
    window.tools.set_tool("brush")
    ws.set_brush(mode="ct", radius_mm=7.0, ball=True)
    _press_release(qtbot, window, centre, panel="fused")
    dz = ws.mri_grid.spacing[2]
    touched = [int(z) for z in np.nonzero(ws.edits.labels.any(axis=(1, 2)))[0]]
    reach = int(np.floor(7.0 / dz))  # 7 mm: 4 slices of 1.5 mm each side
    assert touched == list(range(k - reach, k + reach + 1)), (touched, k, reach)
    for z in range(ws.n_slices):
        fused = np.array(ws.slice_image("fused", z))
        if z in touched:
            edited = ws.edits.labels[z] == 1
            np.testing.assert_array_equal(fused[~edited], before[z][~edited])
            assert (
                np.abs(fused[edited] - np.asarray(ws.unit_slice("ct", z))[edited]).max() <= 1 / 255
            )
        else:
            np.testing.assert_array_equal(fused, before[z])  # beyond the radius: untouched
    # the ball is a ball: the disk shrinks away from the centre slice
    areas = [int(ws.edits.labels[z].sum()) for z in touched]
    assert areas[reach] == max(areas) and areas[0] < areas[reach] and areas[-1] < areas[reach]


def test_a_disk_painted_on_a_coronal_view_lies_in_that_coronal_plane(window, qtbot, deep_pair):
    ws = window.workspace
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*deep_pair)
    ws.set_plane("coronal")
    k = ws.slice_index
    _, y, x = ws.shape
    centre = ws.index_to_mm((x // 2, y // 2, k))
    ws.set_cursor_mm(centre)
    window.tools.set_tool("brush")
    ws.set_brush(mode="mri", radius_mm=6.0, ball=False)
    _press_release(qtbot, window, centre, panel="fused")
    z, j, i = np.nonzero(ws.edits.labels == 2)
    assert set(j.tolist()) == {y // 2}  # one coronal row of the grid
    assert z.min() < k < z.max() and i.min() < x // 2 < i.max()  # across axial slices
    drawn = window.tools.panels["map"].outline.image
    assert drawn is not None and (drawn[..., 3] > 0).any()  # outlined on the coronal map
