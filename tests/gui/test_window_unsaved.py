"""Unsaved edits are never lost without asking: Save/Discard/Cancel, autosave, restore after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.gui.conftest import settle
from tests.gui.dialogs import DialogAnswers

REPO = Path(__file__).resolve().parents[2]


def _paint_square(ws, mode: str = "ct") -> np.ndarray:
    _, y, x = ws.mri_grid.shape
    mask = np.zeros((y, x), bool)
    mask[y // 3 : y // 2, x // 3 : x // 2] = True
    ws.paint_slice_mask(mask, mode, ws.slice_index)
    return mask


def test_quit_with_edits_asks_and_cancel_keeps_the_window(qtbot, fused_window):
    _paint_square(fused_window.workspace)
    assert fused_window.workspace.unsaved
    answers = DialogAnswers("Cancel")
    fused_window.close()
    answers.stop()
    assert "Save your brush edits" in answers.seen[0]
    assert fused_window.isVisible()  # nothing lost: still open
    answers = DialogAnswers("Discard")
    fused_window.close()
    answers.stop()
    assert len(answers.seen) == 1 and not fused_window.isVisible()


def test_opening_another_source_with_edits_asks_first(qtbot, fused_window, tmp_path):
    ws = fused_window.workspace
    mask = _paint_square(ws)
    answers = DialogAnswers("Cancel", "Cancel")
    fused_window.open_mri(str(tmp_path / "other.nii.gz"))
    fused_window.open_demo()
    answers.stop()
    settle()
    assert len(answers.seen) == 2 and "opening another MRI" in answers.seen[0]
    assert "opening the demo" in answers.seen[1]
    assert ws.edits is not None and ws.edits.labels[ws.slice_index][mask].all()
    assert not fused_window.runner.is_running()  # nothing was started


def test_viewer_paint_marks_unsaved(small_pair):
    from brainfuse.gui import Viewer

    viewer = Viewer(show=False)
    try:
        viewer.open_pair(*small_pair)
        viewer.wait(120)
        assert not viewer.unsaved
        mask = np.zeros(viewer.fused_slice().shape[:2], bool)
        mask[10:20, 10:20] = True
        viewer.paint(mask, "mri")
        assert viewer.unsaved
        with pytest.raises(ValueError, match="the mask is"):
            viewer.paint(mask[:5], "ct")
    finally:
        viewer.workspace.mark_saved()
        viewer.close()


_CRASHING = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from brainfuse.gui import Viewer
    from brainfuse.reading.recovery import recovery_folder

    v = Viewer(show=False)
    v.open_pair(sys.argv[1], sys.argv[2])
    v.wait(120)
    mask = np.zeros(v.fused_slice().shape[:2], bool)
    mask[40:80, 50:90] = True
    v.paint(mask, "ct")
    deadline = time.monotonic() + 60
    while not list(recovery_folder().glob("recovery-*.npz")):
        v.app.processEvents()
        time.sleep(0.05)
        assert time.monotonic() < deadline, "no autosave within 60 s"
    print("autosaved", flush=True)
    time.sleep(600)
    """
)


def test_autosave_is_restored_after_a_killed_process(qtbot, window, shared_data, tmp_path):
    from brainfuse.reading.recovery import recovery_folder

    ct = shared_data / "pairs" / "ct-mri" / "2004_ct.png"
    mri = shared_data / "pairs" / "ct-mri" / "2004_mri.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(REPO / "app") + os.pathsep + str(REPO),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASHING, str(ct), str(mri)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "autosaved"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    left = recovery_folder() / f"recovery-{child.pid}.npz"
    assert left.is_file()
    answers = DialogAnswers("Restore")
    restored = window.recovery.offer()
    answers.stop()
    assert restored is not None and "Unsaved edits" in answers.seen[0]
    assert str(ct) in answers.seen[0]
    ws = window.workspace
    qtbot.waitUntil(lambda: ws.edits is not None and ws.has_edits, timeout=60000)
    assert ws.edits.labels[ws.slice_index][40:80, 50:90].all()  # 1 = CT, as painted
    assert int(ws.edits.labels.sum()) == 40 * 40
    assert ws.unsaved  # still not in any session: quitting asks
    assert not left.exists()


def test_a_changed_source_is_not_restored(qtbot, window, shared_data, tmp_path):
    from brainfuse.reading.recovery import write_recovery
    from brainfuse.reading.session import SourceRecord

    src = tmp_path / "ct.png"
    src.write_bytes((shared_data / "pairs" / "ct-mri" / "2004_ct.png").read_bytes())
    record = SourceRecord.of(str(src), modality="CT")
    folder = tmp_path / "rec"
    path = write_recovery({"ct": record, "mri": record}, edits=None, grid=None, folder=folder)
    dead = path.with_name("recovery-999999.npz")
    path.rename(dead)
    src.write_bytes(src.read_bytes() + b"x")
    os.environ["BRAINFUSE_DATA_DIR"], old = str(tmp_path), os.environ["BRAINFUSE_DATA_DIR"]
    try:
        from brainfuse.reading.recovery import recovery_folder

        (recovery_folder()).mkdir(parents=True, exist_ok=True)
        dead.rename(recovery_folder() / dead.name)
        answers = DialogAnswers("OK")
        assert window.recovery.offer() is None
        answers.stop()
    finally:
        os.environ["BRAINFUSE_DATA_DIR"] = old
    assert "has changed" in answers.seen[0]
