"""``brainfuse view``: parses a pair or --demo and hands it to the window."""

from __future__ import annotations

import pytest

from brainfuse.cli import build_parser, main


@pytest.fixture
def opened(monkeypatch):
    calls = []
    import brainfuse.gui

    def fake_run_app(argv, **kwargs):
        calls.append(kwargs)
        return 0

    monkeypatch.setattr(brainfuse.gui, "run_app", fake_run_app)
    return calls


def test_view_passes_the_pair_to_the_window(opened):
    assert main(["view", "ct_folder", "mri.nii.gz"]) == 0
    assert opened == [{"ct": "ct_folder", "mri": "mri.nii.gz", "demo": False}]


def test_view_demo(opened):
    assert main(["view", "--demo"]) == 0
    assert opened[0]["demo"] is True


def test_view_is_listed_in_help():
    assert "view" in build_parser().format_help()
