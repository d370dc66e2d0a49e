"""Choose the compute device once: ``auto`` (CUDA if usable, else CPU), ``cpu`` or ``cuda``.

A CUDA request on a machine without a usable GPU falls back to the CPU with a
:class:`RuntimeWarning` (the CPU-only build of torch raises ``AssertionError`` rather than
``RuntimeError`` when CUDA is touched, so both are caught).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch

from brainfuse.errors import BrainFuseError

__all__ = ["DeviceChoice", "choose_device", "DEVICES"]

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DeviceChoice:
    """The torch device, a human-readable description and any fallback message."""

    device: torch.device
    description: str
    fallback: str | None = None


def _cuda_name() -> str | None:
    """Name of CUDA device 0 if a tensor can really be put there, else None."""
    try:
        if not torch.cuda.is_available():
            return None
        torch.zeros(1, device="cuda")
        return torch.cuda.get_device_name(0)
    except (AssertionError, RuntimeError):
        return None


def _cpu(threads: int | None) -> DeviceChoice:
    if threads is None:
        threads = max(1, min(os.cpu_count() or 1, 8))
    torch.set_num_threads(int(threads))
    n = torch.get_num_threads()
    return DeviceChoice(torch.device("cpu"), f"CPU ({n} thread{'s' if n != 1 else ''})")


def choose_device(request: str = "auto", threads: int | None = None) -> DeviceChoice:
    """Resolve ``request`` to a usable device.

    Parameters
    ----------
    request : {"auto", "cpu", "cuda"}
    threads : int or None
        CPU threads for torch (default: the number of cores, at most 8).
    """
    request = (request or "auto").lower()
    if request not in DEVICES:
        raise BrainFuseError(f"unknown device '{request}': choose one of {', '.join(DEVICES)}")
    if request in ("auto", "cuda"):
        name = _cuda_name()
        if name is not None:
            return DeviceChoice(torch.device("cuda"), f"CUDA: {name}")
        if request == "cuda":
            msg = "CUDA was requested but no usable CUDA GPU was found; running on the CPU"
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
            choice = _cpu(threads)
            return DeviceChoice(choice.device, choice.description, msg)
    return _cpu(threads)
