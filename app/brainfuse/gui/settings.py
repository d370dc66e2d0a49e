"""Persistent preferences (QSettings): last folders, recent files, windows, overlay, device.

Values are stored under the organisation ``BrainFuse`` / application ``BrainFuse`` in the
platform's usual place (registry, plist, ``~/.config``). Tests point QSettings at a
temporary folder.
"""

from __future__ import annotations

from PySide6 import QtCore

from brainfuse.workspace import CT_PRESETS, Window, Workspace

__all__ = ["DEVICES", "MAX_RECENT", "RULES", "Settings", "cuda_problem"]

MAX_RECENT = 8
#: Device choices offered in the Settings menu (``brainfuse.fusion.Fuser(device=...)``).
DEVICES = ("auto", "cpu", "cuda")
#: Fusion rules offered in the Fusion menu (``brainfuse.fusion.FusionSettings(rule=...)``).
RULES = ("anatomy", "sesf")


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
        self.q.setValue(f"folders/{role}", folder)

    def recent(self) -> list[tuple[str, str]]:
        """Recently opened files as ``(role, path)``, newest first."""
        raw = self.q.value("recent/files", []) or []
        if isinstance(raw, str):
            raw = [raw]
        out = []
        for item in raw:
            role, _, path = str(item).partition("|")
            if path:
                out.append((role, path))
        return out

    def add_recent(self, role: str, path: str) -> None:
        entries = [e for e in self.recent() if e != (role, path)]
        entries.insert(0, (role, path))
        self.q.setValue("recent/files", [f"{r}|{p}" for r, p in entries[:MAX_RECENT]])

    # ------------------------------------------------------------------ display
    def device(self) -> str:
        value = str(self.q.value("fusion/device", "auto"))
        return value if value in DEVICES else "auto"

    def set_device(self, device: str) -> None:
        self.q.setValue("fusion/device", device)

    def rule(self) -> str:
        value = str(self.q.value("fusion/rule", RULES[0]))
        return value if value in RULES else RULES[0]

    def set_rule(self, rule: str) -> None:
        self.q.setValue("fusion/rule", rule)

    def restore(self, workspace: Workspace) -> None:
        """Apply the stored CT window, overlay opacity/colormap/visibility to a workspace."""
        preset = str(self.q.value("window/ct_preset", "brain"))
        if preset in CT_PRESETS:
            workspace.set_ct_window(preset)
        else:
            center = float(self.q.value("window/ct_center", 40.0))
            width = float(self.q.value("window/ct_width", 80.0))
            workspace.set_ct_window(Window(center, max(width, 1.0)))
        workspace.set_overlay(
            visible=str(self.q.value("overlay/visible", "true")).lower() == "true",
            opacity=float(self.q.value("overlay/opacity", 0.4)),
            colormap=str(self.q.value("overlay/colormap", "viridis")),
        )

    def store(self, workspace: Workspace) -> None:
        """Remember the workspace's CT window and overlay settings."""
        self.q.setValue("window/ct_preset", workspace.ct_preset or "custom")
        self.q.setValue("window/ct_center", workspace.ct_window.center)
        self.q.setValue("window/ct_width", workspace.ct_window.width)
        self.q.setValue("overlay/visible", "true" if workspace.overlay_visible else "false")
        self.q.setValue("overlay/opacity", workspace.overlay_opacity)
        self.q.setValue("overlay/colormap", workspace.overlay_colormap)
        self.q.sync()
