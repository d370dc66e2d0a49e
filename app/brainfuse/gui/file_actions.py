"""File-menu actions beyond opening and exporting: PACS query/retrieve and send.

Put into the File menu by :class:`brainfuse.gui.menus.Menus`. The dialogs themselves
live in :mod:`brainfuse.gui.pacs_dialog`; this module only hooks them to the window and
remembers the folder of the last DICOM export. "Send to PACS" sends the fusion on screen
(:class:`brainfuse.gui.send_dialog.SendResultDialog`), never a folder of an earlier export.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["PacsActions", "last_dicom_export"]


def last_dicom_export(paths: list) -> str | None:
    """Find the folder of a DICOM export among ``paths`` (files written); ``None`` if none."""
    dicom = [Path(p) for p in paths if str(p).lower().endswith(".dcm")]
    return str(dicom[0].parent) if dicom else None


class PacsActions:
    """``Open from PACS…`` and ``Send to PACS…`` in a menu; the last DICOM export's folder.

    Attributes
    ----------
    action_open_pacs, action_send_pacs, action_pacs_nodes : QAction
    last_dicom_export : str or None
        Folder of the latest DICOM export of the window; None before one.
    """

    def __init__(self, window: MainWindow, menu: QtWidgets.QMenu) -> None:
        from brainfuse.gui.pacs_dialog import OpenFromPacsDialog
        from brainfuse.gui.send_dialog import SendResultDialog

        self.last_dicom_export: str | None = None
        window.controller.exported.connect(self._exported)
        self.action_open_pacs = menu.addAction(
            "Open from &PACS…", lambda: OpenFromPacsDialog.open_for(window)
        )
        self.action_send_pacs = menu.addAction(
            "Send to PAC&S…", lambda: SendResultDialog.open_for(window)
        )
        from brainfuse.gui.pacs_nodes import PacsNodesDialog

        self.action_pacs_nodes = menu.addAction(
            "PACS &nodes…", lambda: PacsNodesDialog.open_for(window)
        )

    def _exported(self, paths: list) -> None:
        folder = last_dicom_export(paths)
        if folder is not None:
            self.last_dicom_export = folder
