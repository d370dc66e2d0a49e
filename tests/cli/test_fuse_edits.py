"""``brainfuse fuse --edits``: an edit volume forces the CT in exactly its region."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.cli import main
from brainfuse.export.nifti import write_nifti
from brainfuse.reading.edit_apply import save_edits
from brainfuse.reading.edits import EditVolume
from tests.demo_slices import demo_slices


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory):
    """Four slices of the real demo CT and MRI as NIfTI files."""
    folder = tmp_path_factory.mktemp("pair")
    ct, mri = demo_slices(66, 70)
    return write_nifti(ct, folder / "ct.nii.gz"), write_nifti(mri, folder / "mri.nii.gz")


def _fused(path) -> np.ndarray:
    from brainfuse.io import load

    return load(path).array


def test_edits_force_the_ct_in_exactly_their_region(pair_files, tmp_path, capsys):
    from brainfuse.fusion import to_unit
    from brainfuse.io import load

    ct_path, mri_path = pair_files
    grid = load(mri_path)
    edits = EditVolume(grid)
    edits.paint_voxel((1.6, 70, 60), 9.0, "ct", plane=None)  # a ball through slices 0-3
    edits_path = save_edits(tmp_path / "edits.nii.gz", edits, grid)
    plain, edited = tmp_path / "plain.nii.gz", tmp_path / "edited.nii.gz"
    common = ["fuse", str(ct_path), str(mri_path), "--device", "cpu"]
    assert main([*common, "-o", str(plain)]) == 0
    assert main([*common, "-o", str(edited), "--edits", str(edits_path)]) == 0
    assert "decision map edited by hand" in capsys.readouterr().err

    a, b = _fused(plain), _fused(edited)
    region = edits.labels == 1
    ct01, _ = to_unit(load(ct_path), None)
    np.testing.assert_array_equal(b[~region], a[~region])  # nothing else changes
    np.testing.assert_array_equal(b[region], ct01[region])  # the CT's pixels there
    changed = a != b
    assert changed.any() and not changed[~region].any()


def test_edits_on_another_grid_are_refused_in_one_line(pair_files, tmp_path, capsys):
    from brainfuse.io import load

    ct_path, mri_path = pair_files
    grid = load(mri_path)
    other = grid.with_array(grid.array[:3])
    bad = save_edits(tmp_path / "other.nii.gz", np.ones(other.shape, np.uint8), other)
    code = main(["fuse", str(ct_path), str(mri_path), "-o", str(tmp_path / "f.nii.gz"),
                 "--edits", str(bad), "--device", "cpu"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not on the fusion grid" in err
    assert main(["fuse", "--demo", "-o", str(tmp_path / "g.nii.gz"),
                 "--edits", str(tmp_path / "none.nii.gz")]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err


def test_every_export_of_an_edited_fusion_records_the_edits(pair_files, tmp_path):
    import json
    import shutil

    import nibabel as nib
    import pydicom
    from PIL import Image

    from brainfuse.export.png import PNG_TEXT_KEY
    from brainfuse.io import load
    from tests.export.test_dicom import dciodvfy

    ct_path, mri_path = pair_files
    grid = load(mri_path)
    edits = EditVolume(grid)
    edits.paint_voxel((2, 70, 60), 8.0, "ct")
    edits.paint_voxel((2, 40, 40), 5.0, "mri")
    n = edits.counts()
    e = save_edits(tmp_path / "e.nii.gz", edits, grid)
    common = ["fuse", str(ct_path), str(mri_path), "--edits", str(e), "--device", "cpu"]
    assert main([*common, "-o", str(tmp_path / "f.nii.gz")]) == 0
    descrip = nib.load(tmp_path / "f.nii.gz").header["descrip"].item().decode()
    assert descrip.endswith("fusion, edited by hand")
    assert main([*common, "-o", str(tmp_path / "f.png"), "--slice", "2"]) == 0
    record = json.loads(Image.open(tmp_path / "f.png").text[PNG_TEXT_KEY])
    assert (record["edited_voxels_ct"], record["edited_voxels_mri"]) == (n["ct"], n["mri"])
    assert main([*common, "-o", str(tmp_path / "dcm"), "--format", "dicom"]) == 0
    files = sorted((tmp_path / "dcm").glob("*.dcm"))
    text = pydicom.dcmread(files[0]).DerivationDescription
    assert f"{n['ct']} voxels forced to CT, {n['mri']} voxels forced to MRI" in text
    if shutil.which("dciodvfy"):
        assert dciodvfy(files[0])[0] == []
