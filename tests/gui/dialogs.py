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
        if not isinstance(box, QtWidgets.QMessageBox) or not self.answers:
            return
        want = self.answers[0]
        for button in box.buttons():
            if button.text().replace("&", "").startswith(want):
                self.answers.pop(0)
                self.seen.append("\n".join((box.windowTitle(), box.text(), box.informativeText())))
                button.click()
                return
        raise AssertionError(
            f"no button {want!r} in {[b.text() for b in box.buttons()]}: {box.text()}"
        )

    def stop(self) -> None:
        """Stop answering."""
        self.timer.stop()
