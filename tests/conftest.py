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


def in_ci() -> bool:
    """Tell whether the tests run in CI (``CI=true``, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(folder: Path) -> Path:
    """Return ``folder`` if it exists; else skip the test, or fail it in CI (``CI=true``)."""
    if not folder.is_dir():
        where = f"development data not found at {folder} (set BRAINFUSE_SHARED_DATA)"
        if in_ci():
            pytest.fail(f"{where}; CI=true needs it", pytrace=False)
        pytest.skip(where)
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (research-use data, never copied into the repo).

    Skipped where absent on a developer's machine; in CI its absence is a failure, so the
    tests that need the data cannot all skip unnoticed.
    """
    return require_shared(SHARED_DATA)


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
