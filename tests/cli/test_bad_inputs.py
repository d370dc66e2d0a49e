"""The bad-input corpus, made by the tests: every case gives one specific error line and exit 2."""

from __future__ import annotations

import importlib.util

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image

from brainfuse.cli import main
from brainfuse.errors import GeometryMismatchError
from brainfuse.io import check_same_size, load
from tests.dicom_factory import write_series, write_slice

PIXELS = np.full((16, 16), 1000, dtype=np.uint16)


def _truncated_pixels(tmp_path):
    path = write_slice(tmp_path / "trunc.dcm", PIXELS, position=(0, 0, 0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    return path


def _truncated_header(tmp_path):
    path = write_slice(tmp_path / "trunc_head.dcm", PIXELS, position=(0, 0, 0))
    path.write_bytes(path.read_bytes()[:300])
    return path


def _random_bytes(tmp_path):
    path = tmp_path / "random.dcm"
    path.write_bytes(np.random.default_rng(5).bytes(2048))
    return path


def _no_pixel_data(tmp_path):
    path = write_slice(tmp_path / "nopix.dcm", PIXELS, position=(0, 0, 0))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    return path


def _empty_folder(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Patient CT to follow.\n")
    return path


def _zero_bytes(tmp_path):
    path = tmp_path / "zero.dcm"
    path.write_bytes(b"")
    return path


def _four_d(tmp_path):
    path = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 6, 12), np.int16), np.eye(4)), str(path))
    return path


def _zero_dim(tmp_path):
    path = tmp_path / "zero_dim.nii"
    nib.save(nib.Nifti1Image(np.zeros((8, 0, 6), np.int16), np.eye(4)), str(path))
    return path


def _two_series(tmp_path):
    folder = tmp_path / "two"
    vol = np.stack([PIXELS] * 2)
    write_series(folder / "a", vol, series_uid="1.2.826.0.1.3680043.8.498.901")
    write_series(folder / "b", vol, series_uid="1.2.826.0.1.3680043.8.498.902")
    return folder


def _unsupported_syntax(tmp_path):
    path = write_slice(tmp_path / "hevc.dcm", PIXELS, position=(0, 0, 0))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.HEVCMP51
    ds.PixelData = pydicom.encaps.encapsulate([b"\x00" * 64])
    ds.save_as(path, enforce_file_format=True)
    return path


def _missing(tmp_path):
    return tmp_path / "no_such_scan.dcm"


def _broken_png(tmp_path):
    path = tmp_path / "3_ct.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return path


CASES = {
    "truncated pixel data": (_truncated_pixels, "trunc.dcm holds 312 bytes of pixel data"),
    "truncated header": (_truncated_header, "trunc_head.dcm has no pixel data (the file may"),
    "random bytes named .dcm": (_random_bytes, "random.dcm is not a DICOM file"),
    "DICOM without pixel data": (_no_pixel_data, "nopix.dcm has no pixel data"),
    "empty folder": (_empty_folder, "empty is empty"),
    "text file": (_text_file, "notes.txt is not a DICOM file"),
    "zero-byte file": (_zero_bytes, "is empty (0 bytes)"),
    "4-D NIfTI": (_four_d, "is a 4-D NIfTI (8×8×6×12): choose a volume with --volume"),
    "zero-length dimension": (_zero_dim, "zero-length dimension (8×0×6)"),
    "two series": (_two_series, "holds 2 DICOM series; choose one with --series"),
    "unsupported transfer syntax": (_unsupported_syntax, "compressed with 'HEVC/H.265"),
    "missing path": (_missing, "no_such_scan.dcm does not exist"),
    "corrupt PNG": (_broken_png, "is not a readable PNG image"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_exit_2(case, tmp_path, capsys):
    make, expected = CASES[case]
    path = make(tmp_path)
    status = main(["info", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.startswith("brainfuse: error: ") and err.count("\n") == 1, err
    assert expected in err
    assert "Traceback" not in err


def test_unsupported_syntax_names_the_syntax(tmp_path, capsys):
    path = _unsupported_syntax(tmp_path)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert pydicom.uid.HEVCMP51.name in err and str(pydicom.uid.HEVCMP51) in err


def test_images_of_different_sizes(tmp_path, capsys):
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "1_ct.png")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(tmp_path / "1_mri.png")
    a, b = load(tmp_path / "1_ct.png"), load(tmp_path / "1_mri.png")
    with pytest.raises(GeometryMismatchError) as err:
        check_same_size(a, b)
    assert "1_ct.png is 64×64" in str(err.value) and "1_mri.png is 64×48" in str(err.value)
    check_same_size(a, load(tmp_path / "1_ct.png"))  # same size: no error


def test_fuse_refuses_images_of_different_sizes(tmp_path, capsys):
    if importlib.util.find_spec("brainfuse.cli.fuse") is None:
        pytest.skip("the fuse subcommand is not in this checkout yet")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "1_ct.png")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(tmp_path / "1_mri.png")
    status = main(
        [
            "fuse",
            str(tmp_path / "1_ct.png"),
            str(tmp_path / "1_mri.png"),
            "-o",
            str(tmp_path / "f.png"),
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "64" in err and "48" in err
    assert not (tmp_path / "f.png").exists()
