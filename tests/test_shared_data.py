"""Missing development data: a skip on a developer's machine, a failure in CI."""

from __future__ import annotations

import pytest

from tests.conftest import require_shared


def test_missing_shared_data_skips_outside_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="development data not found"):
        require_shared(tmp_path / "absent")
    assert require_shared(tmp_path) == tmp_path


def test_missing_shared_data_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true needs it"):
        require_shared(tmp_path / "absent")
