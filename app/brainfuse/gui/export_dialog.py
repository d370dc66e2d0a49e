"""Export dialog: format (PNG / DICOM / NIfTI), overlay and anonymise options, target path.

The dialog only asks; the window hands the answers to
:func:`brainfuse.export.export_result` in a worker and shows the written path in the
status bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from brainfuse.pipeline.send import ANONYMIZE_DEFAULT

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["FORMATS", "ExportDialog", "ExportOptions", "export_from_window"]

#: format key -> (label, default suffix)
FORMATS = {
    "png": ("PNG image of the fused slice", ".png"),
    "dicom": ("DICOM derived series", ""),
    "nifti": ("NIfTI volume", ".nii.gz"),
}


@dataclass(frozen=True)
class ExportOptions:
    """What the user asked to export."""

    path: Path
    format: str
    overlay: bool
    anonymize: bool
    overwrite: bool = False


class ExportDialog(QtWidgets.QDialog):
    """Modal dialog; :meth:`options` reads the answers after ``exec()`` returns Accepted."""

    def __init__(self, folder: str, *, overlay: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export fused result")
        self.format = QtWidgets.QComboBox()
        for key, (label, _) in FORMATS.items():
            self.format.addItem(label, key)
        self.path = QtWidgets.QLineEdit(str(Path(folder) / "brainfuse_fused.png"))
        browse = QtWidgets.QPushButton("Browse…")
        self.overlay = QtWidgets.QCheckBox("Burn the decision-map overlay into the image")
        self.overlay.setChecked(overlay)
        self.anonymize = QtWidgets.QCheckBox("Anonymise (remove patient and study identity)")
        self.anonymize.setChecked(ANONYMIZE_DEFAULT)  # as on the command line: not anonymised
        self.overwrite = QtWidgets.QCheckBox("Replace an existing file")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QtWidgets.QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Save to", row)
        form.addRow(self.overlay)
        form.addRow(self.anonymize)
        form.addRow(self.overwrite)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Save
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.resize(560, self.sizeHint().height())

    def _format_changed(self) -> None:
        key = self.format.currentData()
        suffix = FORMATS[key][1]
        current = Path(self.path.text())
        stem = current.name.split(".")[0] or "brainfuse_fused"
        self.path.setText(str(current.with_name(stem + suffix)))

    def _browse(self) -> None:
        key = self.format.currentData()
        if key == "dicom":
            chosen = QtWidgets.QFileDialog.getExistingDirectory(self, "Export DICOM to folder")
        else:
            chosen, _ = QtWidgets.QFileDialog.getSaveFileName(
                self, "Export fused result", self.path.text()
            )
        if chosen:
            self.path.setText(chosen)

    def options(self) -> ExportOptions:
        """Return the answers as an :class:`ExportOptions`."""
        return ExportOptions(
            path=Path(self.path.text()).expanduser(),
            format=self.format.currentData(),
            overlay=self.overlay.isChecked(),
            anonymize=self.anonymize.isChecked(),
            overwrite=self.overwrite.isChecked(),
        )


def export_from_window(window: MainWindow, options: ExportOptions | None = None) -> None:
    """Run the window's File › Export: ask (when ``options`` is None), check, then export.

    PNG writes the slice on screen; DICOM and NIfTI write the whole fused volume. An overlay
    is burned in as it is drawn (colour table, opacity, hard/soft map).
    """
    from brainfuse.gui.tasks import ExportRequest
    from brainfuse.model.overlay import OverlayStyle

    ws = window.workspace
    if not (ws.has_grid and ws.is_fused(ws.slice_index)):
        QtWidgets.QMessageBox.information(window, "Export", "Nothing has been fused yet.")
        return
    if options is None:
        dialog = ExportDialog(
            window.settings.last_folder("export"), overlay=ws.overlay_visible, parent=window
        )
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        options = dialog.options()
    slice_index = ws.slice_index if options.format == "png" else None
    if slice_index is None and not ws.is_fused():
        QtWidgets.QMessageBox.information(
            window, "Export", "The fusion of the whole volume is not finished yet."
        )
        return
    window.settings.set_last_folder("export", str(options.path.parent))
    style = OverlayStyle(ws.overlay_opacity, ws.overlay_colormap, ws.soft_map)
    window.controller.export(
        ExportRequest(
            window.controller.pair_result(),
            options.path,
            options.format,
            options.overlay,
            options.anonymize,
            options.overwrite,
            style,
            slice_index,
        )
    )
