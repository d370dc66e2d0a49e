"""The About box: version, model card summary, weight checksum."""

from __future__ import annotations

import html

from PySide6 import QtWidgets

from brainfuse import __version__

__all__ = ["about_text", "show_about"]


def _model_card_summary() -> str:
    """First paragraph of the shipped model card, or a note that it is missing."""
    try:
        from brainfuse.resources import models_dir

        cards = sorted(models_dir().glob("*.md"))
    except FileNotFoundError:
        cards = []
    if not cards:
        return "Model card not found in this installation."
    text = cards[0].read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip() and not p.startswith("#")]
    return paragraphs[0] if paragraphs else cards[0].name


def _weights_checksum() -> str:
    """SHA-256 of the shipped weights (or why it cannot be given)."""
    try:
        from brainfuse.fusion.weights import sha256_of, shipped_weights_path

        path = shipped_weights_path()
        return f"{path.name}: {sha256_of(path)}" if path.is_file() else f"{path.name}: missing"
    except Exception as exc:  # the About box must open whatever is missing
        return f"unavailable ({exc})"


def about_text() -> str:
    """HTML shown in the About box."""
    return (
        f"<h3>BrainFuse {html.escape(__version__)}</h3>"
        "<p>Fusion of brain CT and MRI: unsupervised CNN encoder features, a deep-feature "
        "spatial-frequency decision map with consistency verification, "
        "F = DM·CT + (1 − DM)·MRI.</p>"
        f"<p><b>Model card.</b> {html.escape(_model_card_summary())}</p>"
        f"<p><b>Weights (SHA-256).</b> <code>{html.escape(_weights_checksum())}</code></p>"
        "<p>For research and education; not a medical device. Not for diagnosis.</p>"
    )


def show_about(parent: QtWidgets.QWidget | None = None) -> None:
    """Open the modal About box."""
    QtWidgets.QMessageBox.about(parent, "About BrainFuse", about_text())
