"""File-menu actions beyond opening and exporting: PACS query/retrieve and send.

Built into the File menu by :func:`brainfuse.gui.layout.build_menus`. The dialogs themselves
live in :mod:`brainfuse.gui.pacs_dialog`; this module only hooks them to the window and
remembers the folder of the last DICOM export (what "Send to PACS" offers first).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["add_pacs_actions", "last_dicom_export"]


def last_dicom_export(paths: list) -> str | None:
    """Find the folder of a DICOM export among ``paths`` (files written); ``None`` if none."""
    dicom = [Path(p) for p in paths if str(p).lower().endswith(".dcm")]
    return str(dicom[0].parent) if dicom else None


def add_pacs_actions(window: MainWindow, menu: QtWidgets.QMenu) -> None:
    """``Open from PACS…`` and ``Send to PACS…`` in ``menu``; track the last DICOM export.

    The window gets ``action_open_pacs``, ``action_send_pacs`` and ``last_dicom_export``
    (folder of the latest DICOM export, ``None`` before one).
    """
    from brainfuse.gui.pacs_dialog import OpenFromPacsDialog, SendToPacsDialog

    window.last_dicom_export = None

    def exported(paths: list) -> None:
        folder = last_dicom_export(paths)
        if folder is not None:
            window.last_dicom_export = folder

    window.controller.exported.connect(exported)
    window.action_open_pacs = menu.addAction(
        "Open from &PACS…", lambda: OpenFromPacsDialog.open_for(window)
    )
    window.action_send_pacs = menu.addAction(
        "Send to PAC&S…", lambda: SendToPacsDialog.open_for(window, window.last_dicom_export)
    )
    from brainfuse.gui.pacs_nodes import PacsNodesDialog

    window.action_pacs_nodes = menu.addAction(
        "PACS &nodes…", lambda: PacsNodesDialog.open_for(window)
    )
