"""Shared fixtures: where the development data is, skipping cleanly where it is absent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Recovery files (autosave) go to a throwaway folder, never the user's data folder.
os.environ.setdefault("BRAINFUSE_DATA_DIR", tempfile.mkdtemp(prefix="brainfuse-test-data-"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BRAINFUSE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (research-use data, never copied into the repo); skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"development data not found at {SHARED_DATA} (set BRAINFUSE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
