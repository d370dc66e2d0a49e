"""File › Save session / Open session / Recent sessions: the window's view of :mod:`brainfuse.reading.session`.

Saving records what is on screen (sources with their SHA-256, alignment, windows, fusion
device, slice and cursor, overlay, measurements, edits). Opening checks every source first:
when one is missing or has changed, the warning names it and nothing is applied. Otherwise
the sources load in a worker, the pair aligns and fuses as usual, and the rest of the
session is applied the moment the new grid exists (before its fusion starts, so the saved
windows are the ones fused and the saved slice is fused first).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.reading.session import (
    SUFFIX,
    OpenedSession,
    SessionSourceError,
    add_recent_session,
    open_session,
    recent_sessions,
    save_session,
)
from brainfuse.reading.session_fusion import FusionSettings, SessionFusion
from brainfuse.reading.session_map import apply_view, session_of

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["SessionActions", "ask_save", "open_session_in", "save_session_from"]


def _opener(window: MainWindow, path: str) -> Callable[[], None]:
    return lambda: _ask_open(window, path)


def save_session_from(window: MainWindow, path: str | Path) -> Path:
    """Write the window's session to ``path`` (``.brainfuse`` added) and list it as recent."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    written = save_session(path, session_of(window.workspace), grid=window.workspace.mri_grid)
    window.workspace.mark_saved()  # nothing left to ask about, nothing to recover
    add_recent_session(written[0])
    return written[0]


def open_session_in(window: MainWindow, path: str | Path) -> OpenedSession:
    """Open a session in the window: load, align and fuse its sources, then restore the view.

    Returns at once (the work runs in the window's workers).

    Raises
    ------
    SessionSourceError
        A source is missing or changed; its message names it. Nothing was applied.
    UnreadableInputError
        Not a readable session file.
    """
    opened = open_session(path)
    if not opened.ok:
        raise SessionSourceError(opened.warning())
    add_recent_session(opened.path)
    window.runner.start(
        "load-session",
        lambda *, cancel: opened.load_sources(),
        label="Opening session",
        subject=str(opened.path),
        on_return=lambda sources: _start(window, opened, sources),
    )
    return opened


def _start(window: MainWindow, opened: OpenedSession, sources: dict) -> None:
    ws = window.workspace
    s = opened.session
    ws.set_register_mode(s.registration.get("mode", "auto"))
    # The session's rule, device, brush and grid, whatever the preference says (an older
    # session without them: the preference, and a status line says so).
    fusion = SessionFusion.from_session(s, preferred=FusionSettings(rule=ws.fusion_rule))
    window.controller.use_engine(rule=fusion.settings.rule, device=fusion.device)
    fusion.apply_brush(ws)
    if fusion.note():
        window.statusBar().showMessage(f"Session: {fusion.note()}", 15000)

    def restore() -> None:
        ws.grid_changed.disconnect(restore)
        _restore(window, opened)

    ws.grid_changed.connect(restore)
    # The accepted registration is re-applied as saved (not registered again, which could
    # land a little elsewhere); without one the saved alignment mode runs.
    applied = s.registration.get("applied")
    transform = opened.load_transform() if applied == "rigid" else None
    window.controller.set_pair(
        sources["ct"], sources["mri"], transform=transform, reference=fusion.reference
    )


def _restore(window: MainWindow, opened: OpenedSession) -> None:
    """Windows, view, overlay, measurements and edits of the session, on the new grid."""
    ws = window.workspace
    grid = ws.mri_grid
    apply_view(ws, opened.session, None if grid is None else opened.load_edits(grid))
    window.statusBar().showMessage(f"Opened session {opened.path}", 8000)


def ask_save(window: MainWindow) -> bool:
    """Ask where to save the session and save it; True when it was written."""
    start = window.settings.last_folder("session")
    path, _ = QtWidgets.QFileDialog.getSaveFileName(
        window, "Save session", start, f"BrainFuse session (*{SUFFIX})"
    )
    if path:
        return _guarded(window, lambda: save_session_from(window, path), f"Saved session {path}")
    return False


def _ask_open(window: MainWindow, path: str | None = None) -> None:
    if not window.may_drop_work("opening another session"):
        return
    if path is None:
        start = window.settings.last_folder("session")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            window, "Open session", start, f"BrainFuse session (*{SUFFIX})"
        )
    if path:
        _guarded(window, lambda: open_session_in(window, path), "")


def _guarded(window: MainWindow, action, done: str) -> bool:
    try:
        action()
    except SessionSourceError as exc:
        QtWidgets.QMessageBox.warning(window, "BrainFuse", str(exc))
        return False
    except BrainFuseError as exc:
        QtWidgets.QMessageBox.critical(window, "BrainFuse", str(exc))
        return False
    if done:
        window.statusBar().showMessage(done, 8000)
    return True


class SessionActions:
    """``Save session…``, ``Open session…`` and ``Recent sessions`` in a menu."""

    def __init__(self, window: MainWindow, menu: QtWidgets.QMenu) -> None:
        self.action_save_session = menu.addAction("Save &session…", lambda: ask_save(window))
        self.action_open_session = menu.addAction("Open sess&ion…", lambda: _ask_open(window))
        self.recent_sessions_menu = menu.addMenu("Recent sessio&ns")
        self.recent_sessions_menu.aboutToShow.connect(lambda: self._fill(window))

    def _fill(self, window: MainWindow) -> None:
        recent = self.recent_sessions_menu
        recent.clear()
        paths = recent_sessions()
        if not paths:
            recent.addAction("(none)").setEnabled(False)
        for p in paths:
            recent.addAction(str(p), _opener(window, str(p)))
