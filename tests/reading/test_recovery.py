"""Unsaved work: the workspace's flag, the autosave clock, and recovery after a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from brainfuse.errors import GeometryMismatchError, UnreadableInputError
from brainfuse.export.nifti import write_nifti
from brainfuse.model.image import ImageVolume
from brainfuse.reading.measure import Region, Ruler
from brainfuse.reading.recovery import (
    Autosaver,
    clear_recovery,
    pending_recovery,
    recovery_folder,
    write_recovery,
)
from brainfuse.reading.session import SourceRecord
from brainfuse.reading.workspace import Workspace


def _pair():
    rng = np.random.default_rng(0)
    kw = {"spacing": (1.0, 1.0, 2.0), "origin": (-10.0, 20.0, 5.0)}
    ct = ImageVolume(rng.integers(-1000, 1500, (4, 12, 12)).astype(np.int16), modality="CT", **kw)
    mri = ImageVolume(rng.integers(0, 400, (4, 12, 12)).astype(np.uint16), modality="MR", **kw)
    return ct, mri


def _workspace() -> Workspace:
    ws = Workspace()
    ct, mri = _pair()
    ws.set_sources(ct=ct, mri=mri)
    ws.set_grid(ct, mri)
    return ws


def test_unsaved_flips_on_edits_and_measurements_and_clears_on_save():
    ws = _workspace()
    seen: list[bool] = []
    ws.unsaved_changed.connect(seen.append)
    assert not ws.unsaved
    ws.undo()  # nothing to undo: nothing changed
    assert not ws.unsaved
    ws.set_brush(radius_mm=3.0)
    ws.begin_stroke()
    ws.paint(ws.index_to_mm((6.0, 6.0, 2.0)))
    ws.end_stroke()
    assert ws.unsaved and seen == [True]
    ws.mark_saved()
    assert not ws.unsaved and seen == [True, False]
    ws.add_measurement(Ruler("axial", 1, (1.0, 1.0), (5.0, 5.0)))
    assert ws.unsaved
    ws.mark_saved()
    ws.set_measurements([])  # clearing them is a change too
    assert ws.unsaved
    ct, mri = _pair()
    ws.set_sources(ct=ct, mri=mri)  # a new pair starts clean (the window asks before)
    assert not ws.unsaved and seen[-1] is False


@pytest.fixture
def scans(tmp_path):
    ct, mri = _pair()
    paths = write_nifti(ct, tmp_path / "ct.nii.gz"), write_nifti(mri, tmp_path / "mri.nii.gz")
    return {"ct": SourceRecord.of(paths[0]), "mri": SourceRecord.of(paths[1])}, ct


def test_autosave_waits_for_a_change_and_the_interval(scans, tmp_path):
    sources, grid = scans
    now = [100.0]
    labels = np.zeros(grid.shape, np.uint8)
    saver = Autosaver(
        lambda: {"sources": sources, "edits": labels, "grid": grid},
        folder=tmp_path / "rec",
        clock=lambda: now[0],
    )
    assert saver.tick() is None  # nothing changed
    saver.changed()
    path = saver.tick()
    assert path is not None and path.parent == tmp_path / "rec"
    assert path.name == f"recovery-{os.getpid()}.npz"
    labels[1, 2, 3] = 1
    saver.changed()
    now[0] += 29.0
    assert saver.tick() is None  # within 30 s of the last write
    now[0] += 1.0
    assert saver.tick() == path
    saver.saved()
    assert not path.exists()
    assert pending_recovery(tmp_path / "rec") is None  # own, running process: never offered


def test_the_default_folder_is_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("BRAINFUSE_DATA_DIR", str(tmp_path / "data"))
    assert recovery_folder() == tmp_path / "data" / "recovery"


_KILLED = """
import os, signal, sys
import numpy as np
from brainfuse.io import load
from brainfuse.reading.measure import Region, Ruler
from brainfuse.reading.recovery import write_recovery
from brainfuse.reading.session import SourceRecord

ct_path, mri_path, folder = sys.argv[1:4]
grid = load(mri_path)
labels = np.zeros(grid.shape, np.uint8)
labels[2, 3:6, 4:8] = 1
labels[1, 8, 8] = 2
write_recovery(
    {"ct": SourceRecord.of(ct_path), "mri": SourceRecord.of(mri_path)},
    edits=labels,
    grid=grid,
    measurements=[Ruler("axial", 2, (1.0, 2.0), (8.0, 9.5)),
                  Region("axial", 1, "ellipse", (2.0, 2.0), (9.0, 9.0))],
    fusion={"method": "cnn", "rule": "sesf"},
    folder=folder,
)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_work_is_restored_after_a_killed_process(tmp_path):
    from brainfuse.io import load

    ct, mri = _pair()
    ct_path, mri_path = (
        write_nifti(ct, tmp_path / "ct.nii.gz"),
        write_nifti(mri, tmp_path / "m.nii"),
    )
    folder = tmp_path / "rec"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED), str(ct_path), str(mri_path), str(folder)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    found = pending_recovery(folder)
    assert found is not None and found.ok and found.has_edits
    assert found.fusion == {"method": "cnn", "rule": "sesf"}
    assert found.measurements == [
        Ruler("axial", 2, (1.0, 2.0), (8.0, 9.5)),
        Region("axial", 1, "ellipse", (2.0, 2.0), (9.0, 9.0)),
    ]
    grid = load(mri_path)
    labels = found.edits_on(grid)
    assert labels is not None and labels.sum() == 12 * 1 + 2 and labels[1, 8, 8] == 2
    with pytest.raises(GeometryMismatchError):
        found.edits_on(grid.with_array(grid.array, origin=(0.0, 0.0, 0.0)))
    assert "Unsaved edits and 2 measurement(s)" in found.describe()

    mri_path.write_bytes(mri_path.read_bytes() + b"\0")  # the scan changed since
    changed = pending_recovery(folder)
    assert changed is not None and not changed.ok and "has changed" in changed.describe()
    with pytest.raises(UnreadableInputError):
        changed.edits_on(grid)
    changed.discard()
    assert pending_recovery(folder) is None


def test_edits_must_lie_on_the_grid(scans, tmp_path):
    sources, grid = scans
    with pytest.raises(GeometryMismatchError):
        write_recovery(sources, edits=np.zeros((2, 2, 2), np.uint8), grid=grid, folder=tmp_path)
    clear_recovery(tmp_path)  # nothing there: no error
