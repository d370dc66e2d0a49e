"""How grid messages name an image: its description and, when different, its file."""

from __future__ import annotations

from pathlib import Path

from brainfuse.model.image import ImageVolume


def label(volume: ImageVolume) -> str:
    """Name a volume for error messages: ``'description'`` or ``'description' (path)``."""
    name = volume.name or "image"
    if volume.path and Path(volume.path).name != name:
        return f"'{name}' ({volume.path})"
    return f"'{name}'"
