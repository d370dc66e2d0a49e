"""The main window's layout (the side panel beside the viewers) and the texts it shows."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtWidgets

from brainfuse.model.alignment import alignment_report, report_text

if TYPE_CHECKING:
    from brainfuse.reading.workspace import Workspace

__all__ = [
    "SidePanel",
    "along_normal",
    "elide",
    "format_position",
    "side_by_side",
    "sources_text",
    "window_title",
]

#: Longest file name the Images box shows whole (characters); longer ones are elided in the
#: middle and the full paths are in the box's tooltip.
NAME_CHARS = 34

_DEMO_NOTE = "Demo: <b>templates</b>, not one patient. Not for diagnosis."


def format_position(mm: np.ndarray) -> str:
    """LPS millimetres as clinicians read them, e.g. ``R 12.0  A 30.5  S 10.0 mm``."""
    x, y, z = (float(v) for v in mm)
    return (
        f"{'L' if x >= 0 else 'R'} {abs(x):.1f}  {'P' if y >= 0 else 'A'} {abs(y):.1f}  "
        f"{'S' if z >= 0 else 'I'} {abs(z):.1f} mm"
    )


def along_normal(plane: str, mm: float) -> str:
    """Write a slice's LPS position along its plane's normal, lettered as the crosshair's.

    >>> along_normal("sagittal", -41.6)
    'R 41.6 mm'
    >>> along_normal("axial", 19.5)
    'S 19.5 mm'
    """
    letters = {"sagittal": ("L", "R"), "coronal": ("P", "A"), "axial": ("S", "I")}[plane]
    return f"{letters[0] if mm >= 0 else letters[1]} {abs(mm):.1f} mm"


def elide(text: str, limit: int = NAME_CHARS) -> str:
    """``text`` cut in the middle with an ellipsis when longer than ``limit`` characters.

    >>> elide("a_very_long_file_name_of_a_template.nii.gz", 20)
    'a_very_lon…te.nii.gz'
    """
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[: limit - 1 - tail] + "…" + text[len(text) - tail :]


def sources_text(ws: Workspace) -> str:
    """Write the rich text of the Images box.

    Each source's name (elided), size and spacing, and the alignment's report (or why there
    is none).
    """
    lines = []
    for role, volume in (("CT", ws.ct), ("MRI", ws.mri)):
        if volume is None:
            lines.append(f"<b>{role}</b>: not loaded")
            continue
        z, y, x = volume.shape
        sx, sy, sz = volume.spacing
        name = html.escape(elide(volume.name, NAME_CHARS - 14))  # one line with the size
        same = f"{sx:.2g}" == f"{sy:.2g}" == f"{sz:.2g}"
        mm = f"{sx:.2g} mm" if same else f"{sx:.2g}×{sy:.2g}×{sz:.2g} mm"
        size = f"{x}×{y}×{z}, {mm}"
        lines.append(f"<b>{role}</b>: {name} · <span style='color:#a0a0a0'>{size}</span>")
    if ws.has_grid and ws.alignment is not None:
        report = html.escape(report_text(alignment_report(ws.alignment)))
        wait = "" if ws.alignment_accepted else " — check it, then Accept"
        lines.append(f"Aligned by {report} ({ws.register_mode} asked){wait}")
    elif ws.has_grid:
        lines.append(f"Aligned by {ws.registration} ({ws.register_mode} asked)")
    elif ws.problem:
        lines.append(f"<span style='color:#ff7070'>Not aligned: {html.escape(ws.problem)}</span>")
    if ws.is_demo:
        lines.append(f"<span style='color:#ffc850'>{_DEMO_NOTE}</span>")
    return "<br>".join(lines)


def window_title(ws: Workspace) -> str:
    """``BrainFuse — <ct> + <mri>`` (or the demo's warning)."""
    title = "BrainFuse"
    if ws.is_demo:
        title += " — demo pair (templates, not one patient)"
    elif ws.ct is not None or ws.mri is not None:
        title += " — " + " + ".join(elide(v.name) for v in (ws.ct, ws.mri) if v is not None)
    return title


class SidePanel(QtWidgets.QScrollArea):
    """The scrollable column beside the viewers: the Images box, then the given widgets.

    Parameters
    ----------
    sources_label : QLabel
        The Images box's text (:func:`sources_text`).
    *widgets : QWidget
        The controls and readouts, top to bottom.
    """

    def __init__(self, sources_label: QtWidgets.QLabel, *widgets: QtWidgets.QWidget) -> None:
        super().__init__()
        sources = QtWidgets.QGroupBox("Images")
        QtWidgets.QVBoxLayout(sources).addWidget(sources_label)
        side = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(side)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(4)
        for widget in (sources, *widgets):
            column.addWidget(widget)
            form = widget.layout()
            if isinstance(form, QtWidgets.QFormLayout):  # rows of label: value, kept tight
                form.setVerticalSpacing(2)
        column.addStretch(1)
        self.setWidget(side)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMinimumWidth(300)
        self.setMaximumWidth(380)


def side_by_side(viewers: QtWidgets.QWidget, side: QtWidgets.QWidget) -> QtWidgets.QSplitter:
    """Put the viewers (stretching, never collapsed) and the side panel side by side."""
    central = QtWidgets.QSplitter()
    central.addWidget(viewers)
    central.addWidget(side)
    central.setStretchFactor(0, 1)
    central.setCollapsible(0, False)
    central.setSizes([10_000, side.maximumWidth()])  # the panel as wide as it may be
    return central
