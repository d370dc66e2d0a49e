"""The window's worker error boundary: a decoder failure or a Rust panic in any worker gives one
readable dialog naming the file, and the window keeps running (issue 17 in the window)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PySide6 import QtWidgets

from tests.hostile.factory import CASES


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
    qtbot.wait(200)
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
    qtbot.wait(200)
    assert len(dialogs) == 1, dialogs
    text = dialogs[0]
    assert text.startswith("The CT and MRI could not be put on one grid.")
    assert f"Could not align {ct.name} and {mri.name}: " in text
    assert "decoder failed on corrupt data" in text
    assert window.isVisible() and not window.workspace.has_grid
