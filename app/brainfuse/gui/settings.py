"""Persistent preferences (QSettings): last folders, recent files, windows, overlay, device.

The rule and device kept here are the user's preference for new windows; the window's own
choice is workspace state (:meth:`brainfuse.reading.workspace.Workspace.set_engine`).

Values are stored in ``window.ini`` in the one BrainFuse configuration folder
(:func:`brainfuse._runtime.userdirs.config_dir`, ``~/.config/brainfuse`` on Linux), beside the
PACS nodes and recent sessions. Settings an older version kept under the organisation
``BrainFuse`` (``~/.config/BrainFuse/BrainFuse.conf``, the registry or a plist) are moved
there once (:func:`migrate`). Tests point QSettings at a temporary folder.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6 import QtCore

from brainfuse._runtime.userdirs import config_dir
from brainfuse.reading.workspace import CT_PRESETS, DEVICES, REFERENCES, RULES, Window, Workspace

__all__ = [
    "DEVICES",
    "MAX_RECENT",
    "RULES",
    "SETTINGS_FILE",
    "Settings",
    "cuda_problem",
    "migrate",
    "preset_of",
    "user_qsettings",
]

#: The window's preferences file, inside :func:`~brainfuse._runtime.userdirs.config_dir`.
SETTINGS_FILE = "window.ini"

MAX_RECENT = 8


def cuda_problem() -> str | None:
    """Why the CUDA device cannot be chosen here (``None`` when it can)."""
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    if not torch.backends.cuda.is_built():
        return "this PyTorch build has no CUDA support"
    if not torch.cuda.is_available():
        return "no NVIDIA GPU or driver found"
    return None


def migrate(old: QtCore.QSettings, new: QtCore.QSettings) -> bool:
    """Copy every value of ``old`` into an empty ``new``, then empty ``old``.

    Returns whether anything was moved (nothing when ``new`` already holds values: the
    newer file wins, and ``old`` is left alone).
    """
    keys = old.allKeys()
    if not keys or new.allKeys():
        return False
    for key in keys:
        new.setValue(key, old.value(key))
    new.sync()
    if new.status() != QtCore.QSettings.Status.NoError:
        return False  # keep the old values where they are rather than lose them
    old.clear()
    old.sync()
    return True


def _old_qsettings() -> QtCore.QSettings:
    """Open where older versions kept the window's settings (organisation BrainFuse)."""
    return QtCore.QSettings("BrainFuse", "BrainFuse")


def user_qsettings() -> QtCore.QSettings:
    """Open the user's preferences in the configuration folder, older ones moved in first."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    new = QtCore.QSettings(str(folder / SETTINGS_FILE), QtCore.QSettings.Format.IniFormat)
    old = _old_qsettings()
    if migrate(old, new):
        old_file = Path(old.fileName())
        if old_file.is_file() and old_file.stat().st_size == 0:
            old_file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                old_file.parent.rmdir()  # only when empty
    return new


def preset_of(window: Window) -> str | None:
    """Name of the CT preset with exactly ``window``'s centre and width (``None`` if none)."""
    for name, preset in CT_PRESETS.items():
        if (preset.center, preset.width) == (window.center, window.width):
            return name
    return None


class Settings:
    """Typed access to the few values BrainFuse remembers between sessions."""

    def __init__(self, qsettings: QtCore.QSettings | None = None) -> None:
        self.q = qsettings or user_qsettings()

    # ------------------------------------------------------------------ folders and recents
    def last_folder(self, role: str) -> str:
        """Folder last used to open a ``ct``/``mri`` file or to ``export``."""
        return str(self.q.value(f"folders/{role}", QtCore.QDir.homePath()))

    def set_last_folder(self, role: str, folder: str) -> None:
        """Remember ``folder`` as the last one used for ``role``."""
        self.q.setValue(f"folders/{role}", folder)

    def recent(self) -> list[tuple[str, str]]:
        """Recently opened files as ``(role, path)``, newest first."""
        raw = self.q.value("recent/files", []) or []
        items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        out = []
        for item in items:
            role, _, path = str(item).partition("|")
            if path:
                out.append((role, path))
        return out

    def add_recent(self, role: str, path: str) -> None:
        """Put ``(role, path)`` first in the recent files (at most :data:`MAX_RECENT`)."""
        entries = [e for e in self.recent() if e != (role, path)]
        entries.insert(0, (role, path))
        self.q.setValue("recent/files", [f"{r}|{p}" for r, p in entries[:MAX_RECENT]])

    # ------------------------------------------------------------------ display
    def device(self) -> str:
        """Return the preferred fusion device for a new window (``auto`` if unknown)."""
        value = str(self.q.value("fusion/device", "auto"))
        return value if value in DEVICES else "auto"

    def set_device(self, device: str) -> None:
        """Remember the fusion device (one of :data:`DEVICES`)."""
        self.q.setValue("fusion/device", device)

    def rule(self) -> str:
        """Return the preferred fusion rule for a new window (the default if unknown)."""
        value = str(self.q.value("fusion/rule", RULES[0]))
        return value if value in RULES else RULES[0]

    def set_rule(self, rule: str) -> None:
        """Remember the fusion rule (one of ``RULES``)."""
        self.q.setValue("fusion/rule", rule)

    def reference(self) -> str:
        """Return the result grid chosen in Fusion > Result grid (``auto``, ``ct``, ``mri``)."""
        value = str(self.q.value("fusion/reference", REFERENCES[0]))
        return value if value in REFERENCES else REFERENCES[0]

    def set_reference(self, reference: str) -> None:
        """Remember the result grid (one of ``brainfuse.grid.REFERENCES``)."""
        self.q.setValue("fusion/reference", reference)

    def restore(self, workspace: Workspace) -> None:
        """Apply the stored CT window, overlay opacity/colormap/visibility to a workspace."""
        preset = str(self.q.value("window/ct_preset", "brain"))
        if preset in CT_PRESETS:
            workspace.set_ct_window(preset)
        else:
            center = self._number("window/ct_center", 40.0)
            width = self._number("window/ct_width", 80.0)
            window = Window(center, max(width, 1.0))
            # a window dragged back onto a preset's values is that preset, not "Custom"
            workspace.set_ct_window(preset_of(window) or window)
        workspace.set_overlay(
            visible=str(self.q.value("overlay/visible", "true")).lower() == "true",
            opacity=self._number("overlay/opacity", 0.4),
            colormap=str(self.q.value("overlay/colormap", "viridis")),
        )

    def _number(self, key: str, default: float) -> float:
        # QSettings gives back a str from ini files, a float from the registry or a plist.
        return float(str(self.q.value(key, default)))

    def store(self, workspace: Workspace) -> None:
        """Remember the workspace's CT window and overlay settings."""
        self.q.setValue("window/ct_preset", workspace.ct_preset or "custom")
        self.q.setValue("window/ct_center", workspace.ct_window.center)
        self.q.setValue("window/ct_width", workspace.ct_window.width)
        self.q.setValue("overlay/visible", "true" if workspace.overlay_visible else "false")
        self.q.setValue("overlay/opacity", workspace.overlay_opacity)
        self.q.setValue("overlay/colormap", workspace.overlay_colormap)
        self.q.sync()
