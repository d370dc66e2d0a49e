r"""Where BrainFuse keeps the user's settings and data: one place for each.

Settings (PACS nodes, recent sessions), :func:`config_dir`: ``$BRAINFUSE_CONFIG_DIR`` when set
(tests point it at a temporary folder); else ``platformdirs.user_config_dir("brainfuse")``;
else the platform's usual place (``%APPDATA%\brainfuse`` on Windows,
``~/Library/Application Support/brainfuse`` on macOS, ``$XDG_CONFIG_HOME/brainfuse``, default
``~/.config/brainfuse``, elsewhere).

Data (recovery files of unsaved work), :func:`data_dir`: ``$BRAINFUSE_DATA_DIR`` when set;
else ``platformdirs.user_data_dir("brainfuse")``; else ``%LOCALAPPDATA%\brainfuse`` on
Windows, ``~/Library/Application Support/brainfuse`` on macOS, ``$XDG_DATA_HOME/brainfuse``,
default ``~/.local/share/brainfuse``, elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["CONFIG_ENV", "DATA_ENV", "config_dir", "data_dir"]

#: Environment variable that overrides the configuration folder.
CONFIG_ENV = "BRAINFUSE_CONFIG_DIR"
#: Environment variable that overrides the data folder.
DATA_ENV = "BRAINFUSE_DATA_DIR"


def _user_dir(env: str, kind: str, windows: tuple[str, str], unix: tuple[str, str]) -> Path:
    """Find the folder of ``kind`` (config or data): ``$env``, platformdirs, the usual place.

    ``windows`` is the environment variable and the default below the home folder there;
    ``unix`` the XDG variable and its default below the home folder.
    """
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    try:
        import platformdirs
    except ImportError:
        pass
    else:
        found = getattr(platformdirs, f"user_{kind}_dir")("brainfuse", appauthor=False)
        return Path(found)
    home = Path.home()
    if sys.platform.startswith("win"):
        return Path(os.environ.get(windows[0], home / windows[1])) / "brainfuse"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "brainfuse"
    return Path(os.environ.get(unix[0]) or home / unix[1]) / "brainfuse"


def config_dir() -> Path:
    """Return the user's BrainFuse configuration folder (not created here)."""
    return _user_dir(
        CONFIG_ENV, "config", ("APPDATA", "AppData/Roaming"), ("XDG_CONFIG_HOME", ".config")
    )


def data_dir() -> Path:
    """Return the user's BrainFuse data folder (not created here)."""
    return _user_dir(
        DATA_ENV, "data", ("LOCALAPPDATA", "AppData/Local"), ("XDG_DATA_HOME", ".local/share")
    )
