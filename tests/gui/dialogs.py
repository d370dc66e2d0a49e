"""Answer the window's modal dialogs from a test, as a person clicks them."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class DialogAnswers:
    """Clicks, in turn, the button whose text starts with each of ``answers``.

    Every message box answered is recorded in :attr:`seen` as its title, text and
    informative text joined by newlines (what the person read).
    """

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.seen: list[str] = []
        self.timer = QtCore.QTimer()
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QMessageBox):
            return
        if not self.answers:  # not expected: closed (Escape), recorded, so no test hangs
            self.seen.append("UNEXPECTED " + box.text())
            box.reject()
            return
        want = self.answers[0]
        for button in box.buttons():
            if button.text().replace("&", "").startswith(want):
                self.answers.pop(0)
                self.seen.append("\n".join((box.windowTitle(), box.text(), box.informativeText())))
                button.click()
                return
        self.answers.pop(0)  # no such button: recorded and closed, so no test hangs
        self.seen.append(f"NO BUTTON {want!r}: " + "\n".join((box.text(), box.informativeText())))
        box.reject()

    def stop(self) -> None:
        """Stop answering."""
        self.timer.stop()
