"""File › Send to PACS…: send the fusion on screen, with its edits, never an old folder.

The dialog shows what will arrive before anything leaves the machine
(:meth:`brainfuse.pipeline.send.SendPlan.confirmation`: patient, study, series description,
instance count); Send exports the result the window shows *now* to a temporary folder and
sends that (:func:`brainfuse.pipeline.send.send_result`). Anonymising is off by default
(:data:`brainfuse.export.ANONYMIZE_DEFAULT`, as on the command line); an anonymised result
is sent only after a second confirmation that it will arrive without a patient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6 import QtWidgets

from brainfuse.gui.pacs_dialog import _PacsDialogBase
from brainfuse.gui.safety import confirm
from brainfuse.model.results import PairResult
from brainfuse.pipeline.send import ANONYMIZE_DEFAULT, plan_send, send_result

if TYPE_CHECKING:
    from brainfuse.gui.main_window import MainWindow

__all__ = ["SendResultDialog", "confirm_without_patient"]


def confirm_without_patient(parent: QtWidgets.QWidget | None, what: str) -> bool:
    """Ask before a result without a patient is sent; True only on the explicit button."""
    return confirm(
        parent,
        "Send without a patient?",
        "This result will arrive in the PACS without a patient.",
        f"{what}\n\nNo one will find it under the patient's name or ID.",
        "Send without patient",
    )


class SendResultDialog(_PacsDialogBase):
    """Send the window's current fusion (edits applied) to a node, after saying what arrives.

    Parameters
    ----------
    result : PairResult
        What the window shows now (:meth:`brainfuse.gui.controller.Controller.pair_result`).

    Attributes
    ----------
    fusion_result : PairResult
        The ``result`` given.
    summary : QLabel
        Patient, study, series description and instance count of what Send delivers.
    anonymize : QCheckBox
        Off by default.
    sent_info : dict or None
        :func:`~brainfuse.pipeline.send.send_result`'s answer after a send.
    """

    def __init__(self, result: PairResult, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Send to PACS", parent)
        self.fusion_result = result
        self.sent_info: dict[str, Any] | None = None
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.anonymize = QtWidgets.QCheckBox("Anonymise (the PACS gets no patient)")
        self.anonymize.setChecked(ANONYMIZE_DEFAULT)
        self.anonymize.toggled.connect(self._describe)
        self.send_button = QtWidgets.QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        form = QtWidgets.QFormLayout()
        form.addRow("PACS", self.node)
        form.addRow("Sends", self.summary)
        form.addRow("", self.anonymize)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self.action_row(self.send_button))
        layout.addWidget(self.status)
        self.resize(640, 220)
        self._describe()

    @classmethod
    def open_for(cls, window: MainWindow) -> SendResultDialog | None:
        """Show the dialog for what ``window`` shows now; None (said) when nothing is fused."""
        try:
            result = window.controller.pair_result()
        except RuntimeError:
            QtWidgets.QMessageBox.information(
                window, "Send to PACS", "Nothing is fused yet: open a CT and an MRI first."
            )
            return None
        dialog = cls(result, window)
        dialog.show()
        return dialog

    def plan_text(self) -> str:
        """Return what Send delivers, as the dialog says it."""
        return plan_send(self.fusion_result, anonymize=self.anonymize.isChecked()).confirmation()

    def _describe(self, *_: object) -> None:
        self.summary.setText(self.plan_text())

    def _set_enabled(self, enabled: bool) -> None:
        self.send_button.setEnabled(enabled)
        self.node.setEnabled(enabled)
        self.anonymize.setEnabled(enabled)

    def send(self) -> None:
        """Export the result to a temporary folder and send it, in the background."""
        anonymize = self.anonymize.isChecked()
        plan = plan_send(self.fusion_result, anonymize=anonymize)
        confirmed = False
        if plan.identity.without_patient:
            if not confirm_without_patient(self, plan.confirmation()):
                self.show_info("Not sent.")
                return
            confirmed = True
        client = self.client()
        if client is None:
            return
        result = self.fusion_result
        self.run_job(
            "Sending",
            lambda progress, cancel: send_result(
                result,
                client,
                anonymize=anonymize,
                confirmed_without_patient=confirmed,
                progress=progress,
                cancel=cancel,
            ),
            self._sent,
        )

    def _sent(self, info: dict[str, Any]) -> None:
        self.sent_info = info
        failed = info["failed"]
        message = f"{info['instances']} instance(s) stored in study {info['study']}."
        if failed:
            self.show_error(message + f" {len(failed)} refused: " + "; ".join(failed))
        else:
            self.show_info(message)
