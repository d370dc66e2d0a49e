"""Training: a tiny run is repeatable, resumes exactly from its checkpoint, and learns."""

from __future__ import annotations

import json

import numpy as np

from brainfuse.fusion.training import TrainSettings, train
from brainfuse.fusion.weights import load_autoencoder

from .conftest import textured

TINY = dict(steps_per_epoch=6, batch=4, crop=32, lr=1e-3, seed=3)


def _images():
    return [textured((48, 48), s) for s in range(4)]


def test_tiny_training_learns_and_writes_its_files(tmp_path):
    info = train(
        _images(), tmp_path, TrainSettings(epochs=3, **TINY), device="cpu", threads=1, quiet=True
    )
    losses = info["losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    for name in ("brainfuse_ae.safetensors", "loss.csv", "loss.png", "settings.json"):
        assert (tmp_path / name).is_file()
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert settings["settings"]["seed"] == 3 and settings["sha256"] == info["sha256"]
    load_autoencoder(tmp_path / "brainfuse_ae.safetensors")  # checked by its side file


def test_resume_continues_exactly(tmp_path):
    straight = train(
        _images(),
        tmp_path / "a",
        TrainSettings(epochs=2, **TINY),
        device="cpu",
        threads=1,
        quiet=True,
    )
    train(
        _images(),
        tmp_path / "b",
        TrainSettings(epochs=1, **TINY),
        device="cpu",
        threads=1,
        quiet=True,
    )
    resumed = train(
        _images(),
        tmp_path / "b",
        TrainSettings(epochs=2, **TINY),
        device="cpu",
        threads=1,
        resume=True,
        quiet=True,
    )
    np.testing.assert_allclose(resumed["losses"], straight["losses"], rtol=1e-5)


def test_training_splits_its_operations_over_torch_threads_even_after_a_fusion(tmp_path):
    import torch

    from brainfuse.fusion import Fuser

    Fuser("cnn", threads=2)  # the fusion runs torch single-threaded in its own workers
    assert torch.get_num_threads() == 1
    info = train(
        _images(), tmp_path, TrainSettings(epochs=1, **TINY), device="cpu", threads=2, quiet=True
    )
    assert torch.get_num_threads() == 2 and info["device"] == "CPU (2 threads)"
