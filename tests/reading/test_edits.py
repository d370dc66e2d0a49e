"""Edits of the decision map: brush geometry, recomposition, undo/redo, NIfTI files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from brainfuse.errors import BrainFuseError, GeometryMismatchError
from brainfuse.model.image import ImageVolume
from brainfuse.reading.edit_apply import (
    apply_edits,
    apply_to_result,
    load_edits,
    recompose,
    save_edits,
)
from brainfuse.reading.edits import (
    EditVolume,
    describe,
    edit_counts,
    outline,
    provenance_fields,
)
from tests.demo_slices import demo_slices

RADIUS = 10.0  # mm


@pytest.fixture(scope="module")
def demo_result():
    """The real demo CT/MRI pair, four slices through the ventricles, fused by the CNN."""
    from brainfuse.pipeline import fuse_pair

    ct, mri = demo_slices(70, 74)
    return fuse_pair(ct, mri, method="cnn", device="cpu")


def _mri_taken_centre(result, k: int) -> tuple[int, int]:
    """Centre of the 10 mm disk on slice k where the fusion took the MRI the most."""
    from scipy import ndimage

    sx, _sy, _ = result.fused.spacing
    w = ndimage.uniform_filter(
        result.soft_map[k].astype(np.float32), size=int(2 * RADIUS / sx), mode="constant", cval=1.0
    )
    head = ndimage.binary_erosion(result.ct.array[k] > -300, iterations=int(RADIUS / sx) + 2)
    w = np.where(head, w, 2.0)
    j, i = np.unravel_index(np.argmin(w), w.shape)
    return int(j), int(i)


def _disk(shape, spacing, k, j, i, radius):
    kk, jj, ii = np.indices(shape)
    sx, sy, _ = spacing
    return (kk == k) & (((jj - j) * sy) ** 2 + ((ii - i) * sx) ** 2 <= radius**2)


def test_recompose_reproduces_the_engine_bit_for_bit(demo_result):
    r = demo_result
    np.testing.assert_array_equal(recompose(r.soft_map, r.ct01, r.mri01), r.fused.array)


def test_force_ct_disk_takes_the_ct_there_and_changes_nothing_else(demo_result):
    r = demo_result
    k = 2
    j, i = _mri_taken_centre(r, k)
    disk = _disk(r.fused.shape, r.fused.spacing, k, j, i, RADIUS)
    assert np.abs(r.fused.array[disk] - r.ct01[disk]).mean() > 0.05  # the MRI was taken there

    edits = EditVolume(r.fused)
    centre_mm = r.fused.affine @ np.array([i, j, k, 1.0])
    box = edits.paint(centre_mm[:3], RADIUS, "ct", plane="axial")
    assert box is not None and (box[0].start, box[0].stop) == (k, k + 1)
    np.testing.assert_array_equal(edits.labels == 1, disk)
    edited = apply_to_result(r, edits)

    assert np.abs(edited.fused.array[disk] - r.ct01[disk]).max() <= 1 / 255
    np.testing.assert_array_equal(edited.fused.array[~disk], r.fused.array[~disk])
    assert np.all(edited.decision_map.array[disk] == 1)
    np.testing.assert_array_equal(edited.fusion.soft_map, r.fusion.soft_map)  # automatic kept
    assert edited.warnings[-1] == describe(edits) and str(int(disk.sum())) in describe(edits)

    before = edited.fused.array[k].copy()
    edits.paint(centre_mm[:3], RADIUS / 2, "mri", plane="axial")
    assert edit_counts(edits.labels)["mri"] > 0
    assert edits.undo() is not None
    np.testing.assert_array_equal(apply_to_result(r, edits).fused.array[k], before)  # bit for bit
    assert edits.undo() is not None
    assert not edits.labels.any()
    np.testing.assert_array_equal(apply_to_result(r, edits).fused.array, r.fused.array)
    edits.redo()
    np.testing.assert_array_equal(apply_to_result(r, edits).fused.array[k], before)


def _grid(shape=(25, 40, 40), spacing=(0.8, 0.8, 3.0)) -> ImageVolume:
    return ImageVolume(np.zeros(shape, np.float32), spacing=spacing, origin=(-12.0, 7.5, 30.0))


def test_ball_reaches_the_slices_within_its_radius_and_no_further():
    grid = _grid()
    edits = EditVolume(grid)
    k, j, i, r = 10, 20, 20, 7.0
    edits.paint_voxel((k, j, i), r, "ct", plane=None)
    touched = np.flatnonzero(edits.labels.any(axis=(1, 2)))
    assert touched.tolist() == [8, 9, 10, 11, 12]  # |dk| * 3 mm <= 7 mm
    kk, jj, ii = np.indices(grid.shape)
    expected = ((kk - k) * 3.0) ** 2 + ((jj - j) * 0.8) ** 2 + ((ii - i) * 0.8) ** 2 <= r**2
    np.testing.assert_array_equal(edits.labels == 1, expected)
    # The disk at the central slice is the full 7 mm; two slices away (6 mm) only ~3.6 mm.
    assert edits.labels[10, 20].sum() == 2 * int(7.0 / 0.8) + 1
    assert edits.labels[12, 20].sum() == 2 * int(np.sqrt(49 - 36) / 0.8) + 1


def test_disk_on_other_planes_stays_on_one_voxel_plane():
    grid = _grid()
    edits = EditVolume(grid)
    edits.paint_voxel((12.0, 19.6, 20.0), 6.0, "mri", plane="coronal")
    assert np.flatnonzero(edits.labels.any(axis=(0, 2))).tolist() == [20]
    assert np.flatnonzero(edits.labels.any(axis=(0, 1))).size == 2 * int(6.0 / 0.8) + 1
    assert np.flatnonzero(edits.labels.any(axis=(1, 2))).size == 2 * int(6.0 / 3.0) + 1


def test_a_stroke_is_one_undo_step_and_undo_is_exact():
    grid = _grid()
    edits = EditVolume(grid)
    edits.paint_voxel((5, 10, 10), 4.0, "ct")
    snapshot = edits.labels.copy()
    with edits.stroke():
        for x in range(10, 30, 2):
            edits.paint_voxel((5, 12, x), 3.0, "mri")
        edits.paint_voxel((6, 12, 12), 3.0, "auto")
    assert not np.array_equal(edits.labels, snapshot)
    edits.undo()
    np.testing.assert_array_equal(edits.labels, snapshot)
    edits.redo()
    assert edits.counts()["mri"] > 0
    edits.clear()
    assert not edits.labels.any() and edits.can_undo
    edits.undo()
    assert edits.counts()["mri"] > 0
    assert edits.paint_voxel((5, 10, 500), 2.0, "ct") is None  # outside the grid
    with pytest.raises(BrainFuseError, match="brush mode"):
        edits.paint_voxel((5, 10, 10), 2.0, "bone")
    with pytest.raises(ValueError):
        edits.labels[0, 0, 0] = 1  # read-only: paint through the brush


def test_apply_edits_formula_and_provenance():
    soft = np.array([[[0.2, 0.7, 0.5]]], np.float32)
    labels = np.array([[[1, 2, 0]]], np.uint8)
    np.testing.assert_array_equal(apply_edits(soft, labels), [[[1.0, 0.0, 0.5]]])
    assert provenance_fields(np.zeros((1, 1, 3), np.uint8)) == {}
    fields = provenance_fields(labels)
    assert fields["edited_voxels_ct"] == 1 and fields["edited_voxels_mri"] == 1
    assert fields["edits"] == describe(labels)


def test_colour_image_one_recomposes_through_luminance():
    rng = np.random.default_rng(0)
    rgb = rng.random((1, 4, 5, 3)).astype(np.float32)
    mri = rng.random((1, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(recompose(np.ones((1, 4, 5), np.float32), rgb, mri), rgb, atol=1e-6)


def test_edits_round_trip_as_nifti_and_another_grid_is_refused(tmp_path):
    grid = _grid()
    edits = EditVolume(grid)
    edits.paint_voxel((10, 20, 20), 5.0, "ct", plane=None)
    edits.paint_voxel((3, 5, 30), 4.0, "mri")
    path = save_edits(tmp_path / "edits.nii.gz", edits, grid)
    np.testing.assert_array_equal(load_edits(path, grid), edits.labels)

    moved = grid.with_array(grid.array, origin=(-12.0, 9.5, 30.0))
    with pytest.raises(GeometryMismatchError, match="not on the fusion grid") as info:
        load_edits(path, moved)
    assert "\n" not in str(info.value)
    with pytest.raises(GeometryMismatchError):
        load_edits(path, _grid(shape=(24, 40, 40)))
    bad = save_edits(tmp_path / "bad.nii", grid.array.astype(np.uint8), grid)
    from brainfuse.export.nifti import write_nifti

    write_nifti(grid, bad, array=np.full(grid.shape, 3, np.uint8), overwrite=True)
    with pytest.raises(BrainFuseError, match="values other than"):
        load_edits(bad, grid)
    with pytest.raises(BrainFuseError, match="does not exist"):
        load_edits(tmp_path / "none.nii.gz", grid)


def test_edits_module_does_not_import_torch_or_qt():
    code = (
        "import sys, brainfuse.reading.edits, brainfuse.model.planes, brainfuse.reading.measure; "
        "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_outline_marks_the_edge_of_each_edited_region():
    grid = _grid(shape=(3, 30, 30), spacing=(1.0, 1.0, 1.0))
    edits = EditVolume(grid)
    edits.paint_voxel((1, 15, 15), 6.0, "ct")
    edits.paint_voxel((1, 15, 15), 2.0, "mri")
    edge = outline(edits.labels[1])
    ct, mri = edits.labels[1] == 1, edits.labels[1] == 2
    assert set(np.unique(edge)) == {0, 1, 2}
    assert edge[15, 9] == 1 and edge[15, 10] == 0  # leftmost CT pixel, then its inside
    assert edge[15, 13] == 2 and edge[15, 12] == 1  # MRI core's edge, CT ring touching it
    assert np.all(edge[~(ct | mri)] == 0)
    interior = ct & np.roll(ct, 1, 0) & np.roll(ct, -1, 0) & np.roll(ct, 1, 1) & np.roll(ct, -1, 1)
    assert np.all(edge[interior] == 0)
