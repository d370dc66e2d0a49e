"""The workspace ⇄ session-record mapping: what a saved session holds of what is on screen.

:func:`session_of` describes a :class:`~brainfuse.reading.workspace.Workspace` as a
:class:`~brainfuse.reading.session.Session` (the file's content); :func:`apply_view` puts a
session's windows, view, overlay, measurements and edits back on a workspace whose pair is on
its grid again. Loading, aligning and fusing the sources in between is the shell's work (the
window does it in its workers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainfuse.errors import BrainFuseError
from brainfuse.fusion.settings import FusionSettings
from brainfuse.model.intensity import Window
from brainfuse.reading.session import Session
from brainfuse.reading.session_fusion import SessionFusion
from brainfuse.reading.session_sources import SourceRecord
from brainfuse.reading.workspace import Workspace

__all__ = ["apply_view", "session_of"]


def session_of(ws: Workspace) -> Session:
    """Describe what the workspace shows as a :class:`~brainfuse.reading.session.Session`.

    Raises
    ------
    BrainFuseError
        No pair on a grid yet, or a source was not loaded from a file (the demo pair).
    """
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
        fusion=SessionFusion.of_workspace(
            ws,
            method="cnn",
            settings=FusionSettings(rule=ws.fusion_rule),
            device=ws.fusion_device,
        ).record(),
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


def apply_view(ws: Workspace, s: Session, edits: np.ndarray | None = None) -> None:
    """Put a session's windows, view, overlay, measurements and ``edits`` on ``ws``.

    Call it once the session's pair is on its grid (the cursor and slice are grid places).

    Parameters
    ----------
    ws : Workspace
    s : Session
    edits : (Z, Y, X) ndarray of int8, optional
        The session's edit labels on the workspace's grid
        (:meth:`~brainfuse.reading.session.OpenedSession.load_edits`).
    """
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
    if edits is not None:
        ws.set_edit_labels(edits)
    ws.set_measurements(s.measurements)
