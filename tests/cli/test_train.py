"""``brainfuse train`` from the command line on a tiny .npz stack and a folder of PNGs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brainfuse.cli import main


def test_train_npz_then_resume(tmp_path, capsys):
    rng = np.random.default_rng(0)
    stack = (rng.random((3, 40, 40)) * 255).astype(np.uint8)
    np.savez_compressed(tmp_path / "set.npz", slices=stack)
    out = tmp_path / "run"
    args = ["train", str(tmp_path / "set.npz"), "--out", str(out), "--steps-per-epoch", "2",
            "--batch", "2", "--crop", "32", "--device", "cpu", "--threads", "1"]  # fmt: skip
    assert main([*args, "--epochs", "1"]) == 0
    assert (out / "checkpoint.pt").is_file()
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    assert len((out / "loss.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs
    assert "sha256" in capsys.readouterr().out


def test_train_folder_of_pngs(tmp_path):
    data = tmp_path / "pngs"
    data.mkdir()
    for i in range(2):
        Image.fromarray((np.random.default_rng(i).random((36, 36)) * 255).astype(np.uint8)).save(
            data / f"{i}.png"
        )
    args = ["train", str(data), "--out", str(tmp_path / "o"), "--epochs", "1",
            "--steps-per-epoch", "1", "--batch", "2", "--crop", "32", "--device", "cpu", "--threads", "1"]  # fmt: skip
    assert main(args) == 0


def test_train_missing_data_is_one_line_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_resume_without_checkpoint_fails(tmp_path):
    np.savez_compressed(tmp_path / "s.npz", slices=np.zeros((1, 32, 32), np.uint8))
    with pytest.raises(SystemExit):
        main(["train", "--resume"])
    assert main(["train", str(tmp_path / "s.npz"), "--out", str(tmp_path / "o"), "--resume"]) == 2
