"""``brainfuse evaluate`` from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from brainfuse.cli import main


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pairs"
    folder.mkdir()
    cam = data.camera()[::8, ::8]  # 64×64
    for pid in ("1", "2"):
        Image.fromarray(cam).save(folder / f"{pid}_mr1.png")
        Image.fromarray(np.ascontiguousarray(cam[:, ::-1])).save(folder / f"{pid}_mr2.png")
    return folder


def test_evaluate_command_runs_with_our_method_and_a_baseline(
    pairs_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(
        "brainfuse._runtime.progress.DELAY_S", 0.0
    )  # show the bar even for a short job
    out = tmp_path / "out"
    rc = main(
        [
            "evaluate",
            str(pairs_dir),
            "--out",
            str(out),
            "--method",
            "cnn",
            "--method",
            "average",
            "--grid",
            "1",
            "--device",
            "cpu",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "2 pairs × 2 methods" in captured.out
    assert "2/2 pairs" in captured.err and "pairs/s" in captured.err  # the progress bar
    assert (out / "cnn" / "1_dm.png").exists() and not (out / "average" / "1_dm.png").exists()
    assert len((out / "metrics.csv").read_text().splitlines()) == 1 + 2 * 2
    assert (out / "grid.png").exists() and (out / "summary.md").exists()


def test_evaluate_command_reports_bad_input_in_one_line(tmp_path, capsys):
    rc = main(["evaluate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainfuse: error:") and "nowhere" in err and "\n" not in err
    rc = main(["evaluate", str(tmp_path), "--out", str(tmp_path / "o"), "--method", "magic"])
    assert rc == 2 and "magic" in capsys.readouterr().err
