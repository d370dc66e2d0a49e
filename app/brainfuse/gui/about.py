"""The Help dialogs: About, keyboard shortcuts and the short user guide, all rich text.

About gives the version, what the tool does and does not claim, the device in use, the
library versions, the weight checksum and the model card's summary.
"""

from __future__ import annotations

import html
import re

from PySide6 import QtCore, QtWidgets

from brainfuse import __version__

__all__ = ["about_text", "markdown_inline", "show_about", "show_guide", "show_shortcuts"]


def _model_card_summary() -> str:
    """First paragraph of the shipped model card, or a note that it is missing."""
    try:
        from brainfuse._runtime.resources import models_dir

        cards = sorted(models_dir().glob("*.md"))
    except FileNotFoundError:
        cards = []
    if not cards:
        return "Model card not found in this installation."
    text = cards[0].read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip() and not p.startswith("#")]
    return paragraphs[0] if paragraphs else cards[0].name


def _weights_checksum() -> str:
    from brainfuse.pipeline.fusers import weights_checksum  # loads torch: only when asked

    return weights_checksum()


def markdown_inline(text: str) -> str:
    """Render one Markdown paragraph as escaped HTML: `code` and **bold**.

    SHA-256 digests are left out (the About box gives the checksum of the installed weights
    once).
    """
    text = re.sub(r"`?\b[0-9a-f]{64}\b`?", "(below)", text)
    out = html.escape(" ".join(text.split()))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def _versions() -> str:
    """Name the versions of Qt, PySide6, PyTorch and NumPy in use."""
    import PySide6

    parts = [f"Qt {QtCore.qVersion()}", f"PySide6 {PySide6.__version__}"]
    try:
        import torch

        parts.append(f"PyTorch {torch.__version__}")
    except ImportError:
        parts.append("PyTorch not installed")
    import numpy

    parts.append(f"NumPy {numpy.__version__}")
    return ", ".join(parts)


def about_text(device: str = "") -> str:
    """HTML shown in the About box, written for the person reading the images.

    ``device`` is where the window's fusion runs (``"CPU (2 threads)"``, ``"CUDA (...)"``);
    empty before the first fusion.
    """
    where = html.escape(device) if device else "chosen at the first fusion (GPU if any)"
    return (
        f"<h3>BrainFuse {html.escape(__version__)}</h3>"
        "<p>BrainFuse overlays a brain CT and an MRI of the same patient into one image: for "
        "each point it keeps the source with the clearer detail (the CT's bone, the MRI's "
        "brain), chosen by a neural network trained without labels. The decision map shows "
        "which source each point comes from.</p>"
        "<p><b>For research and education. Not a medical device. Not for diagnosis.</b> "
        "Read the sources themselves before any clinical decision.</p>"
        f"<p><b>Fusion runs on:</b> {where}<br>"
        f"<b>Libraries:</b> {html.escape(_versions())}</p>"
        f"<p><b>Network weights (SHA-256).</b> <code>{html.escape(_weights_checksum())}</code>"
        "<br>This checksum identifies the model that made every result (it is also recorded "
        "in each export).</p>"
        f"<p><b>Model card.</b> {markdown_inline(_model_card_summary())}</p>"
    )


class _HelpDialog(QtWidgets.QDialog):
    """A scrolling rich-text page with an OK button (fits a 1280x800 screen)."""

    def __init__(self, parent: QtWidgets.QWidget | None, title: str, text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(text)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        column = QtWidgets.QVBoxLayout(self)
        column.addWidget(self.browser)
        column.addWidget(buttons)
        self.resize(620, 640)

    def text(self) -> str:
        """Return the page as plain text (what a test or a screen reader reads)."""
        return self.browser.toPlainText()


def _open(parent: QtWidgets.QWidget | None, title: str, text: str) -> _HelpDialog:
    dialog = _HelpDialog(parent, title, text)
    dialog.open()
    return dialog


def show_about(parent: QtWidgets.QWidget | None = None) -> QtWidgets.QDialog:
    """Open the About box (returned so a test can read it)."""
    ws = getattr(parent, "workspace", None)
    device = str(getattr(ws, "device", "") or "")
    return _open(parent, "About BrainFuse", about_text(device))


def show_shortcuts(window: QtWidgets.QMainWindow) -> QtWidgets.QDialog:
    """Open Help › Keyboard shortcuts: the keys of every action of ``window``."""
    from brainfuse.gui.help_index import shortcuts_html

    return _open(window, "Keyboard shortcuts", shortcuts_html(window))


def show_guide(window: QtWidgets.QMainWindow) -> QtWidgets.QDialog:
    """Open Help › User guide (menu names and keys taken from ``window``'s actions)."""
    from brainfuse.gui.help_index import guide_html

    return _open(window, "BrainFuse user guide", guide_html(window))
