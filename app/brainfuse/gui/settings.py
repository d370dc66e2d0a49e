"""Persistent preferences (QSettings): last folders, recent files, windows, overlay, device.

The rule and device kept here are the user's preference for new windows; the window's own
choice is workspace state (:meth:`brainfuse.reading.workspace.Workspace.set_engine`).

Values are stored under the organisation ``BrainFuse`` / application ``BrainFuse`` in the
platform's usual place (registry, plist, ``~/.config``). Tests point QSettings at a
temporary folder.
"""

from __future__ import annotations

from PySide6 import QtCore

from brainfuse.reading.workspace import CT_PRESETS, DEVICES, REFERENCES, RULES, Window, Workspace

__all__ = ["DEVICES", "MAX_RECENT", "RULES", "Settings", "cuda_problem"]

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


class Settings:
    """Typed access to the few values BrainFuse remembers between sessions."""

    def __init__(self, qsettings: QtCore.QSettings | None = None) -> None:
        self.q = qsettings or QtCore.QSettings("BrainFuse", "BrainFuse")

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
            workspace.set_ct_window(Window(center, max(width, 1.0)))
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
