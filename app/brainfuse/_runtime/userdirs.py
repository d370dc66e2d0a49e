r"""Where BrainFuse keeps the user's settings, data and state: one place for each.

Settings (PACS nodes, recent sessions), :func:`config_dir`: ``$BRAINFUSE_CONFIG_DIR`` when set
(tests point it at a temporary folder); else ``platformdirs.user_config_dir("brainfuse")``
(``~/.config/brainfuse`` on Linux, ``%APPDATA%\brainfuse`` on Windows,
``~/Library/Application Support/brainfuse`` on macOS).

Data (recovery files of unsaved work), :func:`data_dir`: ``$BRAINFUSE_DATA_DIR``; else
``platformdirs.user_data_dir("brainfuse")`` (``~/.local/share/brainfuse`` on Linux).

State (logs of internal errors, the PACS audit log), :func:`state_dir`: ``$BRAINFUSE_STATE_DIR``;
else ``platformdirs.user_state_dir("brainfuse")`` (``~/.local/state/brainfuse`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CONFIG_ENV", "DATA_ENV", "STATE_ENV", "config_dir", "data_dir", "state_dir"]

#: Environment variable that overrides the configuration folder.
CONFIG_ENV = "BRAINFUSE_CONFIG_DIR"
#: Environment variable that overrides the data folder.
DATA_ENV = "BRAINFUSE_DATA_DIR"
#: Environment variable that overrides the state folder.
STATE_ENV = "BRAINFUSE_STATE_DIR"


def _user_dir(env: str, kind: str) -> Path:
    """Return ``$env`` when set, else platformdirs' ``user_<kind>_dir`` for BrainFuse."""
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    return Path(getattr(platformdirs, f"user_{kind}_dir")("brainfuse", appauthor=False))


def config_dir() -> Path:
    """Return the user's BrainFuse configuration folder (not created here)."""
    return _user_dir(CONFIG_ENV, "config")


def data_dir() -> Path:
    """Return the user's BrainFuse data folder (recovery files; not created here)."""
    return _user_dir(DATA_ENV, "data")


def state_dir() -> Path:
    """Return the user's BrainFuse state folder (logs; not created here)."""
    return _user_dir(STATE_ENV, "state")
