"""What the window must not let pass unseen: notices that stay, and the questions it asks.

* :class:`NoticeBar`: a band above the viewers that stays while its reason holds (a source
  without patient data, different patients fused on request, an alignment the geometry
  check doubts), unlike a status-bar message that is gone after a few seconds.
* :func:`confirm_different_patients`: the refusal of a pair of two patients, naming both,
  with an explicit second confirmation (naming both again) as the only way to fuse them.
* :func:`ask_unsaved`: Save / Discard / Cancel before unsaved edits or measurements would be
  dropped (quit, another pair, another session).
"""

from __future__ import annotations

from PySide6 import QtWidgets

from brainfuse.model.patient import PatientCheck, patient_label

__all__ = ["NoticeBar", "ask_unsaved", "confirm", "confirm_different_patients", "warning_box"]


def warning_box(
    parent: QtWidgets.QWidget | None, title: str, text: str, info: str
) -> QtWidgets.QMessageBox:
    """Make a warning message box (bold ``text``, plain ``info``); the caller adds buttons."""
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(f"<b>{text}</b>")
    box.setInformativeText(info)
    return box


def confirm(
    parent: QtWidgets.QWidget | None, title: str, text: str, info: str, action: str
) -> bool:
    """Ask a warning question; True only when the button ``action`` is clicked (Cancel is default)."""
    box = warning_box(parent, title, text, info)
    yes = box.addButton(action, QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is yes


class NoticeBar(QtWidgets.QLabel):
    """Persistent warnings above the viewers, one line each, hidden when there is none.

    Each notice has a key (``"identity"``, ``"alignment"``); :meth:`put` replaces it, ``None``
    removes it. The text wraps inside the band.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setObjectName("notice-bar")
        self.setStyleSheet(
            "#notice-bar { background: #5c2320; color: #ffe0d8; padding: 4px 8px;"
            " font-weight: bold; }"
        )
        self._notices: dict[str, str] = {}
        self.hide()

    def put(self, key: str, text: str | None) -> None:
        """Show ``text`` under ``key`` (replacing what was there); ``None`` or ``""`` clears it."""
        if text:
            self._notices[key] = text
        else:
            self._notices.pop(key, None)
        self.setText("\n".join(f"⚠ {t}" for t in self._notices.values()))
        self.setVisible(bool(self._notices))

    def notices(self) -> list[str]:
        """Return the notices shown, top to bottom."""
        return list(self._notices.values())


def confirm_different_patients(parent: QtWidgets.QWidget | None, check: PatientCheck) -> bool:
    """Refuse a pair of two patients, naming both; True only on an explicit confirmation.

    The first dialog says the pair was not fused (default button: keep it so). "Fuse
    anyway…" opens a second one that names both patients again and says the override is
    recorded in every export; only its own button returns True.
    """
    ct, mri = patient_label(check.ct), patient_label(check.mri)
    box = warning_box(
        parent,
        "Different patients",
        "Not fused: the CT and the MRI are of two different patients.",
        f"CT: patient {ct}\nMRI: patient {mri}",
    )
    keep = box.addButton("Do not fuse", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    anyway = box.addButton("Fuse anyway…", QtWidgets.QMessageBox.ButtonRole.ActionRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    if box.clickedButton() is not anyway:
        return False
    return confirm(
        parent,
        "Fuse two patients?",
        f"Fuse the CT of patient {ct} with the MRI of patient {mri}?",
        "The picture will mix two people. The window keeps a warning on screen, and every "
        "export and PACS send records “DIFFERENT PATIENTS fused on request”.",
        f"Fuse {ct} with {mri}",
    )


def ask_unsaved(parent: QtWidgets.QWidget | None, before: str) -> str:
    """Ask Save / Discard / Cancel before unsaved edits or measurements would be dropped.

    Parameters
    ----------
    before : str
        What the user asked for, e.g. ``"quitting"``, ``"opening another MRI"``.

    Returns
    -------
    str
        ``"save"``, ``"discard"`` or ``"cancel"`` (also when the dialog is closed).
    """
    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Question)
    box.setWindowTitle("Unsaved edits")
    box.setText(f"<b>Save your brush edits and measurements before {before}?</b>")
    box.setInformativeText("Discard loses them; they are not in any file yet.")
    buttons = QtWidgets.QMessageBox.StandardButton
    box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
    box.setDefaultButton(buttons.Save)
    box.setEscapeButton(buttons.Cancel)
    answer = box.exec()
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(buttons(answer), "cancel")
