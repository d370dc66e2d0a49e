"""The Help dialogs: About, keyboard shortcuts and the short user guide, all rich text.

About gives the version, the model card summary and the weight checksum.
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


def about_text() -> str:
    """HTML shown in the About box."""
    return (
        f"<h3>BrainFuse {html.escape(__version__)}</h3>"
        "<p>Fusion of brain CT and MRI: unsupervised CNN encoder features, a deep-feature "
        "spatial-frequency decision map with consistency verification, "
        "F = DM·CT + (1 − DM)·MRI.</p>"
        f"<p><b>Model card.</b> {markdown_inline(_model_card_summary())}</p>"
        f"<p><b>Weights (SHA-256).</b> <code>{html.escape(_weights_checksum())}</code></p>"
        "<p>For research and education; not a medical device. Not for diagnosis.</p>"
    )


def _rich_box(parent: QtWidgets.QWidget | None, title: str, text: str) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(parent)
    box.setWindowTitle(title)
    box.setTextFormat(QtCore.Qt.TextFormat.RichText)
    box.setText(text)
    box.setStandardButtons(QtWidgets.QMessageBox.StandardButton.Ok)
    return box


def show_about(parent: QtWidgets.QWidget | None = None) -> QtWidgets.QMessageBox:
    """Open the About box (rich text; returned so a test can read it)."""
    box = _rich_box(parent, "About BrainFuse", about_text())
    box.open()
    return box


def show_shortcuts(parent: QtWidgets.QWidget | None = None) -> QtWidgets.QMessageBox:
    """Open Help › Keyboard shortcuts."""
    from brainfuse.gui.words import shortcuts_html

    box = _rich_box(parent, "Keyboard shortcuts", shortcuts_html())
    box.open()
    return box


def show_guide(parent: QtWidgets.QWidget | None = None) -> QtWidgets.QMessageBox:
    """Open Help › User guide."""
    from brainfuse.gui.words import guide_html

    box = _rich_box(parent, "BrainFuse user guide", guide_html())
    box.open()
    return box
