r"""Where BrainFuse keeps the user's settings (PACS nodes, recent sessions): one place.

``$BRAINFUSE_CONFIG_DIR`` when set (tests point it at a temporary folder); else
``platformdirs.user_config_dir("brainfuse")``; else the platform's usual place
(``%APPDATA%\brainfuse`` on Windows, ``~/Library/Application Support/brainfuse`` on macOS,
``$XDG_CONFIG_HOME/brainfuse``, default ``~/.config/brainfuse``, elsewhere).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CONFIG_ENV", "config_dir"]

#: Environment variable that overrides the configuration folder.
CONFIG_ENV = "BRAINFUSE_CONFIG_DIR"


def config_dir() -> Path:
    """Return the user's BrainFuse configuration folder (not created here)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    try:
        import platformdirs
    except ImportError:
        pass
    else:
        return Path(platformdirs.user_config_dir("brainfuse", appauthor=False))
    home = Path.home()
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "brainfuse"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "brainfuse"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "brainfuse"
