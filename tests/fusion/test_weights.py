"""Weights: shipped file matches its SHA-256, tampered/missing/wrong files are refused."""

from __future__ import annotations

import shutil

import pytest
import torch

from brainfuse.errors import ModelError
from brainfuse.fusion import weights
from brainfuse.fusion.network import FusionAutoencoder, count_parameters


def test_network_size_is_about_75k():
    assert 70_000 < count_parameters(FusionAutoencoder()) < 80_000


def test_shipped_weights_load_and_match_recorded_hash():
    path = weights.shipped_weights_path()
    assert weights.sha256_of(path) == weights.SHIPPED_SHA256
    model = weights.load_autoencoder()
    assert not model.training


def test_tampered_shipped_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / weights.SHIPPED_WEIGHTS
    shutil.copy(weights.shipped_weights_path(), bad)
    data = bytearray(bad.read_bytes())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(weights, "shipped_weights_path", lambda: bad)
    with pytest.raises(ModelError, match="SHA-256"):
        weights.load_autoencoder()


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        weights.load_autoencoder(tmp_path / "nope.safetensors")


def test_side_file_hash_is_checked(tmp_path):
    torch.manual_seed(1)
    p = tmp_path / "w.safetensors"
    weights.save_weights(FusionAutoencoder(), p)
    weights.load_autoencoder(p)  # matches its side file
    p.with_suffix(".sha256").write_text("0" * 64 + "  w.safetensors\n")
    with pytest.raises(ModelError, match="SHA-256"):
        weights.load_autoencoder(p)


def test_wrong_tensors_are_refused(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(3)}, str(p))
    with pytest.raises(ModelError, match="do not fit"):
        weights.load_autoencoder(p)


def test_not_safetensors_is_refused(tmp_path):
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"not a weights file at all")
    with pytest.raises(ModelError, match="safetensors"):
        weights.load_autoencoder(p)
