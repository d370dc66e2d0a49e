r"""Where BrainFuse keeps the user's settings and its own state: one place each.

Settings (PACS nodes, recent sessions): ``$BRAINFUSE_CONFIG_DIR`` when set (tests point it
at a temporary folder); else ``platformdirs.user_config_dir("brainfuse")``; else the
platform's usual place (``%APPDATA%\brainfuse`` on Windows, ``~/Library/Application
Support/brainfuse`` on macOS, ``$XDG_CONFIG_HOME/brainfuse``, default
``~/.config/brainfuse``, elsewhere).

State (the logs of internal errors): ``$BRAINFUSE_STATE_DIR`` when set; else
``platformdirs.user_state_dir("brainfuse")``; else ``$XDG_STATE_HOME/brainfuse`` (default
``~/.local/state/brainfuse``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CONFIG_ENV", "STATE_ENV", "config_dir", "state_dir"]

#: Environment variable that overrides the configuration folder.
CONFIG_ENV = "BRAINFUSE_CONFIG_DIR"
#: Environment variable that overrides the state folder.
STATE_ENV = "BRAINFUSE_STATE_DIR"


def _chosen(env: str, kind: str) -> Path | None:
    """``$env`` when set, else platformdirs' ``user_<kind>_dir``; None without platformdirs."""
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    try:
        import platformdirs
    except ImportError:
        return None
    return Path(getattr(platformdirs, f"user_{kind}_dir")("brainfuse", appauthor=False))


def config_dir() -> Path:
    """Return the user's BrainFuse configuration folder (not created here)."""
    chosen = _chosen(CONFIG_ENV, "config")
    if chosen is not None:
        return chosen
    home = Path.home()
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "brainfuse"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "brainfuse"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "brainfuse"


def state_dir() -> Path:
    """Return the user's BrainFuse state folder (internal-error logs; not created here)."""
    chosen = _chosen(STATE_ENV, "state")
    if chosen is not None:
        return chosen
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "brainfuse"
