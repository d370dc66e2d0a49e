"""The window's worker error boundary: a decoder failure or a Rust panic in any worker gives one
readable dialog naming the file, and the window keeps running (issue 17 in the window)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PySide6 import QtWidgets

from tests.hostile.factory import CASES

from .conftest import settle


def _case(case_id: str):
    return next(c for c in CASES if c.id == case_id)


@pytest.fixture
def dialogs(monkeypatch):
    """Texts of the critical message boxes the window shows (none is left open)."""
    shown: list[str] = []
    monkeypatch.setattr(
        QtWidgets.QMessageBox,
        "critical",
        lambda *a, **k: shown.append(a[2]) or QtWidgets.QMessageBox.StandardButton.Ok,
    )
    return shown


def test_a_decoder_panic_while_opening_gives_one_dialog_naming_the_file(
    window, qtbot, tmp_path, dialogs
):
    hostile = _case("rle/random-seed1").write(tmp_path, np.random.default_rng(0))
    window.open_ct(str(hostile))
    qtbot.waitUntil(lambda: bool(dialogs), timeout=20000)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=20000)
    settle()  # every worker ended and what it sent delivered: no second dialog can come
    assert len(dialogs) == 1, dialogs
    text = dialogs[0]
    assert text.startswith("The CT could not be opened.") and str(hostile) in text
    assert "damaged or truncated" in text and "Traceback" not in text
    assert window.isVisible() and window.workspace.ct is None


def test_a_rust_panic_inside_the_alignment_worker_is_one_readable_dialog(
    window, qtbot, tmp_path, dialogs, small_pair, monkeypatch
):
    hostile = _case("rle/random-seed1").write(tmp_path, np.random.default_rng(0))

    def panicking_align(*args, **kwargs):
        return pydicom.dcmread(hostile).pixel_array  # pyo3 PanicException: no Exception

    monkeypatch.setattr("brainfuse.gui.tasks.align", panicking_align)
    ct, mri = small_pair
    window.set_pair(ct, mri)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=20000)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=20000)
    settle()  # every worker ended and what it sent delivered: no second dialog can come
    assert len(dialogs) == 1, dialogs
    text = dialogs[0]
    assert text.startswith("The CT and MRI could not be put on one grid.")
    assert f"Could not align {ct.name} and {mri.name}: " in text
    assert "decoder failed on corrupt data" in text
    assert window.isVisible() and not window.workspace.has_grid


def test_a_bug_in_a_worker_is_one_dialog_with_its_log_and_copy_details(
    window, qtbot, small_pair, monkeypatch, tmp_path, dialogs
):
    monkeypatch.setenv("BRAINFUSE_STATE_DIR", str(tmp_path / "state"))
    seen: list[dict[str, object]] = []

    def exec_(box: QtWidgets.QMessageBox) -> int:  # what a person sees, and Copy details pressed
        copy = next(b for b in box.buttons() if b.text() == "Copy details")
        copy.click()
        seen.append(
            {
                "text": box.text(),
                "line": box.informativeText(),
                "details": box.detailedText(),
                "clipboard": QtWidgets.QApplication.clipboard().text(),
                "closed_by_copy": box.clickedButton() is copy,
            }
        )
        return 0

    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", exec_)

    def broken_align(*args, **kwargs):
        raise AttributeError("'AlignmentReport' object has no attribute 'rigid'")

    monkeypatch.setattr("brainfuse.gui.tasks.align", broken_align)
    window.set_pair(*small_pair)
    qtbot.waitUntil(lambda: bool(seen), timeout=20000)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=20000)
    assert dialogs == []  # not shown as the input's fault
    (shown,) = seen
    logs = list((tmp_path / "state" / "logs").glob("brainfuse-*.log"))
    assert len(logs) == 1
    assert str(shown["line"]).startswith("internal error: AttributeError: 'AlignmentReport'")
    assert str(shown["line"]).endswith(f"details in {logs[0]}, please report")
    assert "in broken_align" in str(shown["details"])
    assert shown["clipboard"] == shown["details"]
    assert logs[0].read_text().strip() == str(shown["details"]).strip()
    assert shown["closed_by_copy"] is False
