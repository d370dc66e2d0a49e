"""Acceptance: a fused DICOM export sent to the PACS puts its decision-map SEG in the same study
as the fused series (over DIMSE TLS, and over HTTPS with a login)."""

from __future__ import annotations

import pydicom
import pytest

from brainfuse.cli import main
from brainfuse.export.seg import SEG_FILE_NAME
from brainfuse.pacs import Query, add_node
from brainfuse.pacs.secrets import SECRET_ENV
from tests.export.test_seg import _pair_files
from tests.pacs.conftest import https_node, tls_node

pytest.importorskip("highdicom")


@pytest.mark.parametrize("way", ["tls", "https"])
def test_sent_seg_lands_in_the_fused_series_study(way, secure_pacs, tmp_path, monkeypatch):
    _pair_files(tmp_path)
    out = tmp_path / "fused"
    assert main(["fuse", str(tmp_path / "ct"), str(tmp_path / "mr"), "-o", str(out),
                 "--format", "dicom", "--device", "cpu"]) == 0  # fmt: skip
    node = tls_node(secure_pacs) if way == "tls" else https_node(secure_pacs)
    monkeypatch.setenv(SECRET_ENV, secure_pacs.password)
    add_node(node)
    assert main(["pacs", "send", "--node", node.name, str(out)]) == 0
    fused = pydicom.dcmread(out / "0001.dcm", stop_before_pixels=True)
    seg = pydicom.dcmread(out / SEG_FILE_NAME, stop_before_pixels=True)
    from brainfuse.pacs import connect

    (study,) = connect(node).find(Query(study_uid=fused.StudyInstanceUID))
    found = {s.series_uid: (s.modality, s.n_instances) for s in study.series}
    assert found[fused.SeriesInstanceUID] == (fused.Modality, 6)
    assert found[seg.SeriesInstanceUID] == ("SEG", 1)
