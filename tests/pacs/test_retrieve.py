"""Retrieving a whole study over each protocol, including a series that is not an image."""

from __future__ import annotations

import pydicom
import pytest

from brainfuse.pacs import connect, get
from tests.dicom_factory import synthetic_mr, write_text_report
from tests.pacs.conftest import dimse_node


@pytest.mark.parametrize("way", ["get", "move", "web"])
def test_whole_study_with_a_report_series(way, configured, orthanc, tmp_path):
    mr = synthetic_mr(tmp_path / "mr", n_slices=4)
    first = pydicom.dcmread(mr[0], stop_before_pixels=True)
    report = write_text_report(tmp_path / "report.dcm", first)
    assert all(r.ok for r in connect(dimse_node(orthanc)).send([*mr, tmp_path / "report.dcm"]))

    out = tmp_path / "study"
    result = get(connect(configured[way]), first.StudyInstanceUID, out)
    assert result.n_files == 5
    assert sorted(p.name for p in out.iterdir()) == ["5_MR_T1-like_MR_written_by_the_PACS_tests",
                                                    "99_SR_report"]  # fmt: skip
    got = pydicom.dcmread(next(result.series[report.SeriesInstanceUID].iterdir()))
    assert got.SOPInstanceUID == report.SOPInstanceUID and got.ValueType == "CONTAINER"
    assert len(list(result.series[first.SeriesInstanceUID].iterdir())) == 4
