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
from typing import TYPE_CHECKING, Any

from PySide6 import QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.model.intensity import Window
from brainfuse.reading.session import (
    SUFFIX,
    OpenedSession,
    Session,
    SessionSourceError,
    SourceRecord,
    add_recent_session,
    open_session,
    recent_sessions,
    save_session,
)

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["add_session_actions", "open_session_in", "save_session_from", "session_of"]


def _opener(window: MainWindow, path: str) -> Callable[[], None]:
    return lambda: _ask_open(window, path)


def session_of(window: MainWindow) -> Session:
    """Describe what the window shows as a :class:`~brainfuse.reading.session.Session`.

    Raises
    ------
    BrainFuseError
        No pair on a grid yet, or a source was not loaded from a file (the demo pair).
    """
    ws = window.workspace
    if not ws.has_grid or ws.ct is None or ws.mri is None:
        raise BrainFuseError("Open a CT and an MRI before saving a session.")
    ct_w, mr_w = ws.ct_window, ws.mr_window
    return Session(
        sources={"ct": SourceRecord.of_volume(ws.ct), "mri": SourceRecord.of_volume(ws.mri)},
        registration={
            "mode": ws.register_mode,  # what was asked (auto, geometry, rigid, none)
            "applied": None if ws.alignment is None else ws.alignment.mode,  # what ran
            "reference": "mri" if ws.alignment is None else ws.alignment.reference,
        },
        windows={
            "ct": {"center": ct_w.center, "width": ct_w.width, "preset": ws.ct_preset},
            "mri": None if mr_w is None else {"center": mr_w.center, "width": mr_w.width},
        },
        fusion={"method": "cnn", "device": window.settings.device()},
        view={
            "plane": ws.view_plane,
            "slice": ws.slice_index,
            "cursor_mm": [float(v) for v in ws.cursor_mm],
            "layout": str(getattr(ws, "layout", "four")),
        },
        overlay={
            "visible": ws.overlay_visible,
            "opacity": ws.overlay_opacity,
            "colormap": ws.overlay_colormap,
            "soft": ws.soft_map,
        },
        measurements=list(ws.measurements),
        transform=None if ws.alignment is None else ws.alignment.transform,
        edits=None if ws.edits is None else ws.edits.labels,
    )


def save_session_from(window: MainWindow, path: str | Path) -> Path:
    """Write the window's session to ``path`` (``.brainfuse`` added) and list it as recent."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    written = save_session(path, session_of(window), grid=window.workspace.mri_grid)
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

    def restore() -> None:
        ws.grid_changed.disconnect(restore)
        _restore(window, opened)

    ws.grid_changed.connect(restore)
    # The accepted registration is re-applied as saved (not registered again, which could
    # land a little elsewhere); without one the saved alignment mode runs.
    applied = s.registration.get("applied")
    transform = opened.load_transform() if applied == "rigid" else None
    window.controller.set_pair(sources["ct"], sources["mri"], transform=transform)


def _restore(window: MainWindow, opened: OpenedSession) -> None:
    """Windows, view, overlay, measurements and edits of the session, on the new grid."""
    ws = window.workspace
    s = opened.session
    ct: dict[str, Any] = s.windows.get("ct") or {}
    if ct.get("preset"):
        ws.set_ct_window(ct["preset"])
    elif ct:
        ws.set_ct_window(Window(ct["center"], ct["width"], kind="manual", units=ws.units("ct")))
    mri = s.windows.get("mri")
    ws.set_mr_window(None if not mri else Window(mri["center"], mri["width"], kind="manual"))
    overlay = s.overlay or {}
    ws.set_overlay(
        visible=overlay.get("visible"),
        opacity=overlay.get("opacity"),
        colormap=overlay.get("colormap"),
        soft=overlay.get("soft"),
    )
    view = s.view or {}
    if view.get("plane") in ("axial", "coronal", "sagittal"):
        ws.set_plane(view["plane"])
    if view.get("layout") in ("four", "three"):
        ws.set_layout(view["layout"])
    if "slice" in view:
        ws.set_slice(int(view["slice"]))
    if view.get("cursor_mm") is not None:
        ws.set_cursor_mm(view["cursor_mm"])
    grid = ws.mri_grid
    labels = None if grid is None else opened.load_edits(grid)
    if labels is not None:
        ws.set_edit_labels(labels)
    ws.set_measurements(s.measurements)
    window.statusBar().showMessage(f"Opened session {opened.path}", 8000)


def _ask_save(window: MainWindow) -> None:
    start = window.settings.last_folder("session")
    path, _ = QtWidgets.QFileDialog.getSaveFileName(
        window, "Save session", start, f"BrainFuse session (*{SUFFIX})"
    )
    if path:
        _guarded(window, lambda: save_session_from(window, path), f"Saved session {path}")


def _ask_open(window: MainWindow, path: str | None = None) -> None:
    if path is None:
        start = window.settings.last_folder("session")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            window, "Open session", start, f"BrainFuse session (*{SUFFIX})"
        )
    if path:
        _guarded(window, lambda: open_session_in(window, path), "")


def _guarded(window: MainWindow, action, done: str) -> None:
    try:
        action()
    except SessionSourceError as exc:
        QtWidgets.QMessageBox.warning(window, "BrainFuse", str(exc))
        return
    except BrainFuseError as exc:
        QtWidgets.QMessageBox.critical(window, "BrainFuse", str(exc))
        return
    if done:
        window.statusBar().showMessage(done, 8000)


def add_session_actions(window: MainWindow, menu: QtWidgets.QMenu) -> None:
    """``Save session…``, ``Open session…`` and ``Recent sessions`` in ``menu``."""
    window.action_save_session = menu.addAction("Save &session…", lambda: _ask_save(window))
    window.action_open_session = menu.addAction("Open sess&ion…", lambda: _ask_open(window))
    recent = menu.addMenu("Recent sessio&ns")

    def fill() -> None:
        recent.clear()
        paths = recent_sessions()
        if not paths:
            recent.addAction("(none)").setEnabled(False)
        for p in paths:
            recent.addAction(str(p), _opener(window, str(p)))

    recent.aboutToShow.connect(fill)
    window.recent_sessions_menu = recent
