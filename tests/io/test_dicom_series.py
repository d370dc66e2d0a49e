"""DICOM folders: grouping, position sorting, spacing, HU, series choice, warnings."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import generate_uid

from brainfuse.errors import AmbiguousInputError, UnreadableInputError
from brainfuse.io import list_series, load
from tests.dicom_factory import SAGITTAL, write_series, write_slice

RNG = np.random.default_rng(20260601)


def _volume(n=7, rows=12, cols=10):
    # Stored values 0..~1300 (air at 24 = -1000 HU after the -1024 intercept).
    vol = RNG.integers(900, 1300, size=(n, rows, cols)).astype(np.uint16)
    vol[:, 0, :] = 24
    return vol


def test_shuffled_series_comes_back_sorted_by_position(tmp_path):
    vol = _volume()
    order = [4, 0, 6, 2, 5, 1, 3]  # file names in this order
    instances = [3, 7, 1, 6, 2, 5, 4]  # InstanceNumbers that disagree with position
    write_series(tmp_path, vol, order=order, instances=instances, dz=2.5)
    v = load(tmp_path)
    np.testing.assert_array_equal(v.array, vol.astype(np.int32) - 1024)
    assert v.spacing == pytest.approx((0.8, 0.8, 2.5))
    assert v.origin == pytest.approx((-10.0, -12.0, -40.0))
    assert v.orientation == "LPS" and v.stored_orientation == "LPS"
    assert v.warnings == []
    # Source identity follows slice order, one SOP Instance UID per slice.
    assert len(set(v.source.sop_instance_uids)) == vol.shape[0]
    files = [f.rsplit("/", 1)[-1] for f in v.source.files]
    assert files == [f"img_{order.index(k):03d}.dcm" for k in range(vol.shape[0])]


def test_ct_intercept_gives_hounsfield_units(tmp_path):
    vol = _volume(n=3)
    write_series(tmp_path, vol, slope=1.0, intercept=-1024.0)
    v = load(tmp_path)
    assert v.modality == "CT" and v.units == "HU"
    assert v.array.dtype == np.int16
    assert np.all(v.array[:, 0, :] == -1000)  # air row
    assert v.window == (40.0, 80.0)
    assert v.source.patient["PatientName"] == "Test^Patient"


def test_fractional_slope_gives_float(tmp_path):
    vol = _volume(n=2)
    write_series(tmp_path, vol, slope=0.5, intercept=-10.0, modality="MR")
    v = load(tmp_path)
    assert v.array.dtype == np.float32
    np.testing.assert_allclose(v.array, vol * 0.5 - 10.0)
    assert v.units == ""


def test_gap_and_uneven_spacing_are_reported(tmp_path):
    vol = _volume(n=5)
    uid = generate_uid()
    for k, z in enumerate([0.0, 2.0, 4.0, 10.0, 12.0]):  # 6 mm gap after slice 3
        write_slice(tmp_path / f"{k}.dcm", vol[k], position=(0, 0, z), series_uid=uid)
    v = load(tmp_path)
    assert v.spacing[2] == pytest.approx(2.0)
    assert any("gap" in w and "6.00 mm" in w for w in v.warnings)

    uneven = tmp_path / "uneven"
    uid = generate_uid()
    for k, z in enumerate([0.0, 2.0, 4.3, 6.0, 8.0]):
        write_slice(uneven / f"{k}.dcm", vol[k], position=(0, 0, z), series_uid=uid)
    v = load(uneven)
    assert any("non-uniform slice spacing" in w for w in v.warnings)


def test_repeated_positions_and_mixed_sizes_are_reported(tmp_path):
    vol = _volume(n=3)
    uid = generate_uid()
    for k in range(3):
        write_slice(tmp_path / f"{k}.dcm", vol[k], position=(0, 0, 2.0 * k), series_uid=uid)
    write_slice(tmp_path / "dup.dcm", vol[0], position=(0, 0, 0.0), series_uid=uid)
    write_slice(tmp_path / "small.dcm", vol[0, :4, :4], position=(0, 0, 8.0), series_uid=uid)
    v = load(tmp_path)
    assert v.shape == (3, 12, 10)
    assert any("repeat a slice position" in w for w in v.warnings)
    assert any("mixed image sizes" in w and "4×4" in w for w in v.warnings)


def test_sagittal_series_is_reoriented_to_lps(tmp_path):
    vol = _volume(n=4, rows=6, cols=5)
    uid = generate_uid()
    # Sagittal: rows run superior→inferior, columns anterior→posterior, slices along x.
    for k in [2, 0, 3, 1]:
        write_slice(
            tmp_path / f"s{k}.dcm",
            vol[k],
            position=(-6.0 + 3.0 * k, -20.0, 30.0),
            orientation=SAGITTAL,
            series_uid=uid,
            modality="MR",
            slope=None,
        )
    v = load(tmp_path)
    assert v.stored_orientation == "PIR"  # normal = row × col points to patient right
    assert v.orientation == "LPS"
    assert v.shape == (6, 5, 4)  # z = the 6 rows, y = the 5 columns, x = the 4 slices
    assert v.spacing == pytest.approx((3.0, 0.8, 0.8))
    # Row 0 of the source (most superior) is now the last axial slice; slice k → column k.
    np.testing.assert_array_equal(v.array[:, :, 1], vol[1][::-1, :])
    # Every voxel keeps its patient position: voxel (i, j, k) of the result.
    ijk = np.array([1, 2, 3, 1.0])
    lps = v.affine @ ijk
    assert lps[:3] == pytest.approx((-6.0 + 3.0 * 1, -20.0 + 0.8 * 2, 30.0 - 0.8 * (6 - 1 - 3)))


def test_two_series_need_a_choice(tmp_path):
    a, b = _volume(n=2), _volume(n=3)
    uid_a, uid_b = generate_uid(), generate_uid()
    write_series(tmp_path / "a", a, series_uid=uid_a)
    write_series(tmp_path / "b", b, series_uid=uid_b, modality="MR", slope=None)
    (tmp_path / "notes.txt").write_text("not an image")
    summaries = list_series(tmp_path)
    assert [(s.uid, s.n_images) for s in summaries] == [(uid_a, 2), (uid_b, 3)] or [
        (s.uid, s.n_images) for s in summaries
    ] == [(uid_b, 3), (uid_a, 2)]
    with pytest.raises(AmbiguousInputError) as err:
        load(tmp_path)
    assert uid_a in str(err.value) and uid_b in str(err.value) and "--series" in str(err.value)
    assert len(err.value.choices) == 2
    by_uid = load(tmp_path, series=uid_b)
    assert by_uid.modality == "MR" and by_uid.shape[0] == 3
    index = [s.uid for s in summaries].index(uid_a)
    assert load(tmp_path, series=index).shape[0] == 2
    assert load(tmp_path, series=str(index)).shape[0] == 2
    with pytest.raises(AmbiguousInputError, match="no series '9'"):
        load(tmp_path, series=9)


def test_folder_without_dicom_and_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnreadableInputError, match="is empty"):
        load(tmp_path / "empty")
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("hello")
    with pytest.raises(UnreadableInputError, match="No DICOM image in folder"):
        load(other)


@pytest.mark.shared
def test_shared_head_ct_series(shared_data):
    folder = shared_data / "dicom" / "ct" / "cranium_ct_series"
    v = load(folder)
    assert v.shape == (108, 256, 256)
    assert v.spacing[2] == pytest.approx(1.5)
    assert v.units == "HU" and v.value_range()[0] == pytest.approx(-1024)
    # Position order: z increases slice by slice, whatever the file names say.
    z = [v.affine @ np.array([0, 0, k, 1.0]) for k in (0, 107)]
    assert z[1][2] - z[0][2] == pytest.approx(107 * 1.5)
    assert v.warnings == []
    # Matches the same voxels stored as NIfTI (LPS, HU).
    nifti = load(shared_data / "nifti" / "cranium_ct.nii.gz")
    np.testing.assert_array_equal(v.array, nifti.array)
    np.testing.assert_allclose(v.affine, nifti.affine, atol=1e-3)


@pytest.mark.shared
def test_shared_sagittal_mr_series(shared_data):
    v = load(shared_data / "dicom" / "mr" / "bbmri_t1_sag_series")
    assert len(v.source.sop_instance_uids) == 6
    assert v.stored_orientation == "PIR" and v.orientation == "LPS"
    assert v.shape == (256, 256, 6)
    assert v.spacing[0] == pytest.approx(9.0, abs=0.05)
    # The six source positions (x ≈ −31 … +14 mm) come out left-ward in column order.
    x = [(v.affine @ np.array([i, 0, 0, 1.0]))[0] for i in range(6)]
    assert np.all(np.diff(x) > 8.9)
