"""``brainfuse info``: fields per input, series/volume options, several inputs, exit codes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from brainfuse._runtime.resources import demo_dir
from brainfuse.cli import main
from tests.dicom_factory import write_series


def _fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        if line.startswith("  "):
            key, _, value = line.strip().partition(" ")
            fields[key] = value.strip()
    return fields


def test_info_on_a_ct_series(tmp_path, capsys):
    vol = np.full((4, 10, 12), 1064, dtype=np.uint16)
    vol[:, 0, 0] = 24
    write_series(tmp_path / "ct", vol, order=[2, 0, 3, 1], dz=3.0)
    assert main(["info", str(tmp_path / "ct")]) == 0
    out = capsys.readouterr().out
    fields = _fields(out)
    assert out.splitlines()[0] == str(tmp_path / "ct")
    assert fields["format"] == "DICOM (Explicit VR Little Endian)"
    assert fields["modality"] == "CT"
    assert fields["shape"] == "4 × 10 × 12 (z, y, x)"
    assert fields["slices"] == "4"
    assert fields["spacing"] == "0.8 × 0.8 × 3 mm (x, y, z)"
    assert fields["orientation"] == "LPS (stored LPS)"
    assert fields["values"] == "-1000 … 40 HU"
    assert fields["window"] == "40 / 80 HU"
    assert fields["description"] == "test CT"
    assert fields["warnings"] == "none"


def test_info_on_the_demo_pair_and_table(capsys):
    paths = [str(demo_dir() / "demo_ct.nii.gz"), str(demo_dir() / "demo_mri.nii.gz")]
    assert main(["info", "--table", *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    ct, mri = (line.split("\t") for line in lines)
    assert ct[1:3] == ["NIfTI-1", "CT"] and mri[1:3] == ["NIfTI-1", "MR"]
    assert ct[5] == "LPS (stored LPS)" and ct[6].endswith(" HU")


def test_info_volume_and_modality_options(tmp_path, capsys):
    path = tmp_path / "four.nii.gz"
    nib.save(
        nib.Nifti1Image(np.arange(4 * 3 * 2 * 3).reshape(4, 3, 2, 3).astype(np.int16), np.eye(4)),
        str(path),
    )
    assert main(["info", str(path), "--volume", "2", "--modality", "PT"]) == 0
    fields = _fields(capsys.readouterr().out)
    assert fields["modality"] == "PT"
    assert fields["shape"] == "2 × 3 × 4 (z, y, x)"
    assert "volume 2 of 3" in fields["warnings"]
    assert fields["orientation"] == "LPS (stored RAS)"


def test_info_keeps_going_past_a_bad_input(tmp_path, capsys):
    good = tmp_path / "a_mri.png"
    from PIL import Image

    Image.fromarray(np.zeros((5, 6), np.uint8)).save(good)
    bad = tmp_path / "zero.dcm"
    bad.write_bytes(b"")
    assert main(["info", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == f"brainfuse: error: File {bad} is empty (0 bytes)."
    assert _fields(out)["modality"] == "MR"
    assert "(no geometry in file)" in _fields(out)["spacing"]


@pytest.mark.shared
def test_info_over_all_shared_volumes(shared_data, capsys):
    paths = sorted(
        str(p)
        for p in [*(shared_data / "dicom").rglob("*.dcm"), *(shared_data / "nifti").iterdir()]
        if "cranium_ct_series" not in str(p)
    )
    paths.append(str(shared_data / "dicom" / "ct" / "cranium_ct_series"))
    paths.append(str(shared_data / "dicom" / "mr" / "bbmri_t1_sag_series"))
    status = main(["info", "--table", *paths])
    out, err = capsys.readouterr()
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    # Only the two true 4-D files are refused, each on one line naming its shape.
    assert status == 2
    assert err.count("\n") == 2 and "128×96×24×2" in err and "32×20×12×2" in err
    assert len(rows) == len(paths) - 2
    series = rows[str(shared_data / "dicom" / "ct" / "cranium_ct_series")]
    assert series[2:5] == ["CT", "108 × 256 × 256 (z, y, x)", "0.957 × 0.957 × 1.5 mm (x, y, z)"]
    assert series[6] == "-1024 … 2986 HU"
    sag = rows[str(shared_data / "dicom" / "mr" / "bbmri_t1_sag_series")]
    assert sag[5] == "LPS (stored PIR)"
