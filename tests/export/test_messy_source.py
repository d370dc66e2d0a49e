"""Fused DICOM from a source whose Patient/Study attributes break the standard (issue 17,
acceptance 3): the export is valid (dciodvfy: 0 errors) and says what it left out."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from brainfuse.cli import main
from brainfuse.errors import ExportError
from brainfuse.export.dicom_values import invalid_reason
from tests.dicom_factory import write_series

from .conftest import DCIODVFY
from .test_dicom import dciodvfy

MESSY = {
    "PatientSex": "0000",  # enumerated M/F/O
    "StudyDate": "20231301",  # month 13
    "StudyDescription": "Follow-up head scan " * 5,  # LO longer than 64 characters
    "PatientAge": "45 years",  # AS is nnnD/W/M/Y
    "StudyTime": "256000",  # hour 25
    "PatientName": "A^B^C^D^E^F",  # six components
}


def _series(folder, modality, rng):
    _z, y, x = np.mgrid[:6, :24, :24]
    head = ((y - 12) ** 2 + (x - 12) ** 2 < 80).astype(np.uint16)
    values = head * (1100 if modality == "CT" else 700) + rng.integers(0, 30, (6, 24, 24))
    kwargs = {"slope": 1.0, "intercept": -1024.0} if modality == "CT" else {"slope": None}
    return write_series(folder, values.astype(np.uint16), modality=modality, dz=2.0, **kwargs)


def _make_messy(files):
    for path in files:
        ds = pydicom.dcmread(path)
        with pytest.warns(UserWarning):  # pydicom itself objects to these values
            for keyword, value in MESSY.items():
                setattr(ds, keyword, value)
        ds.save_as(path, enforce_file_format=True)


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (apt package dicom3tools) is not on PATH")
def test_fused_export_from_a_messy_source_passes_dciodvfy(tmp_path, capsys):
    rng = np.random.default_rng(3)
    ct_files = _series(tmp_path / "ct", "CT", rng)
    mr_files = _series(tmp_path / "mr", "MR", rng)
    _make_messy(mr_files)
    _make_messy(ct_files)  # one patient: the series takes the CT's (equally messy) module
    source_errors, _ = dciodvfy(mr_files[0])
    assert len(source_errors) >= 4, source_errors  # the source really is messy

    out = tmp_path / "fused"
    status = main(
        [
            *("fuse", str(tmp_path / "ct"), str(tmp_path / "mr"), "-o", str(out)),
            *("--format", "dicom", "--reference", "mri"),  # the messy MR is the reference
        ]
    )
    assert status == 0, capsys.readouterr().err
    files = sorted(out.iterdir())
    assert len(files) == 7 and files[-1].name == "decision_map_seg.dcm"  # 6 slices, the SEG
    for f in files:
        errors, _ = dciodvfy(f)
        assert errors == [], (f, errors)
    ds = pydicom.dcmread(files[0])
    assert ds.SOPClassUID == pydicom.uid.MRImageStorage
    assert ds.PatientSex == "" and "PatientSex" in ds  # type 2: kept, empty
    assert "StudyDescription" not in ds and "PatientAge" not in ds
    assert ds.PatientID == "TEST-001"  # valid attributes still copied
    description = ds.DerivationDescription
    for name in ("Patient's Sex", "Study Date", "Study Description", "Patient's Age"):
        assert name in description, description
    assert "0000" not in description and "20231301" not in description  # names, not values
    for keyword in MESSY:
        assert invalid_reason(keyword, ds.get(keyword)) is None


def test_user_given_patient_values_must_be_valid():
    from brainfuse.export.dicom import build_series
    from brainfuse.model.image import ImageVolume

    fused = ImageVolume(array=np.zeros((1, 4, 4), np.float32), has_geometry=False)
    with pytest.raises(ExportError, match="Patient's Sex given is not valid"):
        next(build_series(fused, reference=None, provenance={}, patient={"PatientSex": "0000"}))
    ds = next(build_series(fused, reference=None, provenance={}, patient={"PatientSex": "F"}))
    assert ds.PatientSex == "F"


@pytest.mark.parametrize(
    ("keyword", "value", "valid"),
    [
        ("PatientSex", "0000", False),
        ("PatientSex", "O", True),
        ("StudyDate", "20231301", False),
        ("StudyDate", "20230229", False),  # not a leap year
        ("StudyDate", "20240229", True),
        ("StudyDescription", "x" * 65, False),
        ("StudyDescription", "x" * 64, True),
        ("ImageOrientationPatient", [1, 0, 0, 0, 1], False),  # VM 6
        ("ScanningSequence", ["GR", "IR"], True),
        ("ScanningSequence", "XX", False),
        ("PatientWeight", pydicom.valuerep.DSfloat("72.5"), True),
    ],
)
def test_invalid_reason(keyword, value, valid):
    assert (invalid_reason(keyword, value) is None) == valid
