"""Load and save the network's weights: safetensors (no pickle), checked by SHA-256.

The shipped weights live in ``models/`` (found through :func:`brainfuse._runtime.resources.models_dir`)
and their SHA-256 is recorded here, in :data:`SHIPPED_SHA256`, so a tampered or truncated
file is refused. Weights written by ``brainfuse train`` get a ``.sha256`` side file that is
checked the same way when present.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from brainfuse.errors import ModelError
from brainfuse.fusion.network import FusionAutoencoder

__all__ = [
    "SHIPPED_SHA256",
    "SHIPPED_WEIGHTS",
    "load_autoencoder",
    "save_weights",
    "sha256_of",
    "shipped_weights_path",
]

SHIPPED_WEIGHTS = "brainfuse_ae_v1.safetensors"
SHIPPED_SHA256 = "f8ed41bb504a272a09d784350d00d26d1dd030216dba74d0c9ef5e21a0ca7b1d"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shipped_weights_path() -> Path:
    """Path of the shipped weights inside the installed package's ``models/`` folder."""
    from brainfuse._runtime.resources import models_dir

    try:
        return models_dir() / SHIPPED_WEIGHTS
    except FileNotFoundError as exc:
        raise ModelError(f"the shipped fusion weights were not found: {exc}") from exc


def _expected_sha(path: Path, shipped: bool) -> str | None:
    if shipped:
        return SHIPPED_SHA256
    side = path.with_suffix(".sha256")
    if side.is_file():
        return side.read_text().split()[0].strip()
    return None


def load_autoencoder(path: str | Path | None = None) -> FusionAutoencoder:
    """Load the autoencoder with weights from ``path`` (default: the shipped weights), eval mode.

    Raises
    ------
    ModelError
        The file is missing, is not a safetensors file, does not match its recorded
        SHA-256, or does not hold this network's tensors.
    """
    shipped = path is None
    p = shipped_weights_path() if path is None else Path(path)
    if not p.is_file():
        raise ModelError(
            f"fusion weights not found at {p}; reinstall BrainFuse or pass a weights file "
            "written by 'brainfuse train'"
        )
    expected = _expected_sha(p, shipped)
    actual = None
    if expected is not None:
        actual = sha256_of(p)
        if actual != expected:
            raise ModelError(
                f"fusion weights {p} do not match their recorded SHA-256 (expected "
                f"{expected[:12]}..., found {actual[:12]}...): the file is corrupt or was "
                "modified; reinstall BrainFuse or retrain"
            )
    try:
        state = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"fusion weights {p} cannot be read as safetensors: {exc}") from exc
    model = FusionAutoencoder()
    model.sha256 = actual if expected is not None else sha256_of(p)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"fusion weights {p} do not fit the BrainFuse network: {first}") from exc
    return model.eval()


def save_weights(model: torch.nn.Module, path: str | Path, metadata: dict | None = None) -> str:
    """Write ``model``'s state as safetensors plus a ``.sha256`` side file; return the hash."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in (metadata or {}).items()}
    tmp = p.with_name(p.name + ".tmp")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(p)
    digest = sha256_of(p)
    p.with_suffix(".sha256").write_text(f"{digest}  {p.name}\n")
    return digest
