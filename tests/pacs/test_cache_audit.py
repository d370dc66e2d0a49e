"""Patient data at rest: the retrieve cache is private (0700/0600), bounded (the least recently
used study goes first), shown and emptied by ``brainfuse pacs cache``; the audit log has one
line per query, retrieve and send, with UIDs and counts and no patient identity."""

from __future__ import annotations

import json
import os
import secrets
import stat

import pydicom

from brainfuse.cli import main
from brainfuse.pacs import (
    Query,
    add_node,
    cache_dir,
    cache_usage,
    cached_series,
    connect,
    set_cache_limit,
)
from brainfuse.pacs.audit import audit_path
from tests.dicom_factory import synthetic_mr
from tests.pacs.conftest import dimse_node


def _study(orthanc, folder, patient_id: str) -> tuple[str, str, int]:
    """Send a 10-slice MR of its own study; (study UID, series UID, bytes of its files)."""
    paths = synthetic_mr(folder, n_slices=10, patient_id=patient_id)
    assert all(r.ok for r in connect(dimse_node(orthanc)).send(paths))
    ds = pydicom.dcmread(paths[0], stop_before_pixels=True)
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, sum(p.stat().st_size for p in paths)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_cache_is_private_bounded_and_cleared(orthanc, tmp_path, capsys):
    client = connect(dimse_node(orthanc))
    studies = [_study(orthanc, tmp_path / f"mr{i}", f"CACHE-{i}") for i in range(3)]
    size = studies[0][2]
    set_cache_limit(int(2.5 * size))  # room for two studies, not three
    for study_uid, series_uid, _ in studies[:2]:
        folder, from_cache = cached_series(client, study_uid, series_uid)
        assert not from_cache
    assert _mode(cache_dir()) == 0o700 and _mode(folder) == 0o700
    assert {_mode(f) for f in folder.iterdir()} == {0o600}
    first = cache_dir() / studies[0][1]
    again, from_cache = cached_series(client, studies[0][0], studies[0][1])  # a use: now newest
    assert from_cache and again == first
    cached_series(client, studies[2][0], studies[2][1])
    kept = {p.name for p in cache_dir().iterdir()}
    assert kept == {studies[0][1], studies[2][1]}  # the least recently used (study 1) went
    assert cache_usage().n_studies == 2

    assert main(["pacs", "cache"]) == 0
    out = capsys.readouterr().out
    assert str(cache_dir()) in out and "2 studies, 2 series" in out and "of at most" in out
    assert main(["pacs", "cache", "--clear"]) == 0
    assert cache_dir().is_dir() and list(cache_dir().iterdir()) == []
    assert "0 studies, 0 series, 0.0 MB" in capsys.readouterr().out
    assert main(["pacs", "cache", "--limit", "lots"]) == 2


def test_the_audit_log_has_one_line_per_action_and_no_identity(orthanc, tmp_path, capsys):
    add_node(dimse_node(orthanc))
    patient_id = f"AUDIT-{secrets.token_hex(4)}"  # a server CI reuses holds earlier runs
    paths = synthetic_mr(tmp_path / "mr", n_slices=4, patient_id=patient_id)
    study = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
    assert main(["pacs", "send", str(tmp_path / "mr")]) == 0
    assert main(["pacs", "find", "--patient-id", patient_id]) == 0
    assert main(["pacs", "get", "--study", study, "--out", str(tmp_path / "back")]) == 0
    assert main(["pacs", "get", "--study", "1.2.3.4", "--out", str(tmp_path / "none")]) == 2
    assert main(["pacs", "echo"]) == 0  # no patient data moves: not an audited action
    text = audit_path().read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(x["action"], x["outcome"]) for x in lines] == [
        ("send", "ok"), ("query", "ok"), ("retrieve", "ok"), ("retrieve", "failed")]  # fmt: skip
    assert [x["study"] for x in lines] == [study, "", study, "1.2.3.4"]
    assert [x["count"] for x in lines] == [4, 1, 4, 0]
    assert {x["node"] for x in lines} == {"orthanc"}
    assert all(x["time"].endswith("+00:00") for x in lines)
    assert patient_id not in text and "Pacs^Test" not in text and "mr" not in text
    assert _mode(audit_path()) == 0o600 and _mode(audit_path().parent) == 0o700
    assert connect(dimse_node(orthanc)).find(Query(study_uid=study))
    assert len(audit_path().read_text().splitlines()) == 5
