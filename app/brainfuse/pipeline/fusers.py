"""The fusion engines a long-lived shell reuses, and the identity of the shipped weights.

One warm :class:`~brainfuse.fusion.Fuser` per device and rule.

A window fuses many pairs in one process; loading the weights and starting torch for each
would repeat seconds of work, so :func:`fuser_for` keeps each fuser once made. The command
line fuses one pair and builds its own (:func:`brainfuse.pipeline.fuse_pair`).
"""

from __future__ import annotations

import threading

import numpy as np

from brainfuse.fusion import Fuser, FusionSettings

__all__ = ["Fuser", "fuser_for", "weights_checksum"]

_FUSERS: dict[tuple[str, str], Fuser] = {}
_FUSER_LOCK = threading.Lock()


def fuser_for(device: str, rule: str = "anatomy") -> Fuser:
    """Return the CNN :class:`~brainfuse.fusion.Fuser` for ``device`` and fusion ``rule``.

    The rule is ``anatomy`` or ``sesf``; each fuser is made once per process (thread-safe).

    The first call loads the weights and runs one tiny fusion so that torch's lazy start-up
    (thread pool, kernels) happens in the caller's thread (a worker), not inside the first
    slice.
    """
    with _FUSER_LOCK:
        key = (device, rule)
        if key not in _FUSERS:
            fuser = Fuser(method="cnn", settings=FusionSettings(rule=rule), device=device)
            warm = np.zeros((32, 32), np.float32)
            fuser.fuse(warm, warm)
            _FUSERS[key] = fuser
        return _FUSERS[key]


def weights_checksum() -> str:
    """``<file name>: <SHA-256>`` of the shipped weights, or why it cannot be given."""
    try:
        from brainfuse.fusion.weights import sha256_of, shipped_weights_path

        path = shipped_weights_path()
        return f"{path.name}: {sha256_of(path)}" if path.is_file() else f"{path.name}: missing"
    except Exception as exc:  # an About box must open whatever is missing
        return f"unavailable ({exc})"
