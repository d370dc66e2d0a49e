"""Typed results of a fusion (no torch, no Qt): :class:`FusionResult` and :class:`PairResult`.

``FusionResult`` is what the engine (:class:`brainfuse.fusion.Fuser`) returns for two arrays;
``PairResult`` is what :mod:`brainfuse.pipeline` returns for two scans (sources on one grid,
windows, fused volume, maps). Exports (:func:`brainfuse.export.export_result`), the command
line and the window all read these, so the model's SHA-256 and the windows used have one
name each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FusionResult"]


@dataclass
class FusionResult:
    """What one fusion of two arrays produced.

    Attributes
    ----------
    fused : float32 array in [0, 1], shaped like image 1 ((H, W), (Z, H, W), or (..., 3))
    decision_map : uint8 array (H, W) or (Z, H, W); 1 where image 1 is taken (hard map)
    soft_map : float32 array like ``decision_map``, in [0, 1]; the weight of image 1
        actually used (equal to ``decision_map`` when refinement is off)
    activity : (activity1, activity2) float32 arrays, or None unless asked for
    method : str
    device : str, e.g. ``"CPU (2 threads)"`` or ``"CUDA: NVIDIA H100"``
    timings : dict of str -> float, milliseconds
    fallback : str or None, the message when a CUDA request fell back to the CPU
    model_sha256 : str or None, SHA-256 of the network weights used (``cnn`` only)
    """

    fused: np.ndarray
    decision_map: np.ndarray
    soft_map: np.ndarray
    activity: tuple[np.ndarray, np.ndarray] | None = None
    method: str = "cnn"
    device: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None
    model_sha256: str | None = None
