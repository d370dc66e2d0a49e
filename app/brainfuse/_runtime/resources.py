"""Locate shipped files (demo pair, presets, model weights) without any network access.

In a source checkout or editable install they sit in the repository's top-level
``resources/`` and ``models/`` folders; in an installed wheel they sit in
``<prefix>/share/brainfuse/``; in the frozen desktop bundle (``packaging/brainfuse.spec``)
they sit in ``share/brainfuse/`` of the bundle's library folder (``sys._MEIPASS``), and only
there: a bundle never picks up a checkout or a Python installation it happens to sit beside.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

__all__ = ["demo_dir", "models_dir", "resource_path"]

_REPO_ROOT = Path(__file__).resolve().parents[3]


def _candidates(name: str) -> list[Path]:
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's bootloader
    if getattr(sys, "frozen", False) and bundle:
        return [Path(bundle) / "share" / "brainfuse" / name]
    roots = [_REPO_ROOT, Path(sys.prefix) / "share" / "brainfuse"]
    data = sysconfig.get_path("data")
    if data:
        roots.append(Path(data) / "share" / "brainfuse")
    return [root / name for root in roots]


def resource_path(name: str) -> Path:
    """Return the folder ``resources/`` or ``models/`` (``name``) that exists, first found wins."""
    for candidate in _candidates(name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"BrainFuse's '{name}' folder was not found (looked in "
        + ", ".join(str(c) for c in _candidates(name))
        + "); reinstall the package."
    )


def models_dir() -> Path:
    """Folder holding the shipped weights and model card."""
    return resource_path("models")


def demo_dir() -> Path:
    """Folder holding the built-in demo CT/MRI pair."""
    return resource_path("resources") / "demo"
