import sys
from pathlib import Path

import pytest

from brainfuse._runtime import resources


def test_checkout_finds_the_shipped_weights_and_demo():
    assert (resources.models_dir() / "brainfuse_ae_v1.safetensors").is_file()
    assert (resources.demo_dir() / "demo_ct.nii.gz").is_file()


def _frozen(monkeypatch, bundle: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)


def test_frozen_bundle_finds_its_own_share_folder(monkeypatch, tmp_path):
    share = tmp_path / "share" / "brainfuse"
    (share / "models").mkdir(parents=True)
    (share / "resources" / "demo").mkdir(parents=True)
    _frozen(monkeypatch, tmp_path)
    assert resources.models_dir() == share / "models"
    assert resources.demo_dir() == share / "resources" / "demo"


def test_frozen_bundle_never_falls_back_to_a_checkout_beside_it(monkeypatch, tmp_path):
    _frozen(monkeypatch, tmp_path)  # the bundle lacks share/brainfuse; the checkout has models/
    with pytest.raises(FileNotFoundError, match="reinstall"):
        resources.models_dir()
