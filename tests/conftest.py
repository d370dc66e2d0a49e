"""Shared fixtures: where the development data is, skipping cleanly where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BRAINFUSE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (research-use data, never copied into the repo); skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"development data not found at {SHARED_DATA} (set BRAINFUSE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _private_state_folder(tmp_path_factory):
    """Internal-error logs written during the run go to a temporary folder, not the user's."""
    saved = os.environ.get("BRAINFUSE_STATE_DIR")
    os.environ["BRAINFUSE_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    if saved is None:
        os.environ.pop("BRAINFUSE_STATE_DIR", None)
    else:
        os.environ["BRAINFUSE_STATE_DIR"] = saved


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
