"""Choose the compute device once: ``auto`` (CUDA if usable, else CPU), ``cpu`` or ``cuda``.

A CUDA request on a machine without a usable GPU falls back to the CPU with a
:class:`RuntimeWarning` (the CPU-only build of torch raises ``AssertionError`` rather than
``RuntimeError`` when CUDA is touched, so both are caught).
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import warnings
from dataclasses import dataclass

import torch

from brainfuse._runtime.threads import choose_threads, describe_threads
from brainfuse.errors import BrainFuseError

__all__ = ["DEVICES", "DeviceChoice", "choose_device", "keep_freed_memory"]

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DeviceChoice:
    """The torch device, a human-readable description and any fallback message."""

    device: torch.device
    description: str
    fallback: str | None = None
    workers: int = 1  # CPU threads that each encode whole images (fusion/parallel.py)


def _cuda_name() -> str | None:
    """Name of CUDA device 0 if a tensor can really be put there, else None."""
    try:
        if not torch.cuda.is_available():
            return None
        torch.zeros(1, device="cuda")
        return torch.cuda.get_device_name(0)
    except (AssertionError, RuntimeError):
        return None


_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_allocator_tuned = False
_interop_set = False


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse freed feature maps instead of mapping fresh pages each time.

    torch allocates CPU tensors with ``malloc``; glibc serves blocks above its (adaptive)
    mmap threshold with fresh ``mmap`` pages and unmaps them on free, so every new feature
    map is paid for again in page faults. On the 2-core development VM that was half the
    fusion time. Raising ``M_MMAP_THRESHOLD`` to its 32 MiB maximum and ``M_TRIM_THRESHOLD``
    to 256 MiB keeps such blocks in the heap for reuse (PyTorch's CPU performance guide
    recommends jemalloc or tcmalloc for the same reason). Linux with glibc only; elsewhere
    nothing changes. Returns True when the setting was applied (once per process).
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1
        ok = ok and libc.mallopt(_M_TRIM_THRESHOLD, 256 * 1024 * 1024) == 1
    except (OSError, AttributeError):
        return False
    _allocator_tuned = ok
    return ok


def _single_interop_thread() -> None:
    """Use one inter-op thread: the fusion never runs ops in parallel with each other.

    The default pool (one thread per core) would only add idle threads. Allowed once, before
    any inter-op work; later calls keep what is set.
    """
    global _interop_set
    if _interop_set:
        return
    _interop_set = True
    with contextlib.suppress(RuntimeError):  # parallel work already started: torch keeps it
        torch.set_num_interop_threads(1)


def _cpu(threads: int | None) -> DeviceChoice:
    """``threads`` worker threads, each running torch single-threaded (``fusion/parallel.py``)."""
    keep_freed_memory()
    _single_interop_thread()
    torch.set_num_threads(1)
    n = choose_threads(threads)
    return DeviceChoice(torch.device("cpu"), f"CPU ({describe_threads(n)})", workers=n)


def choose_device(request: str = "auto", threads: int | None = None) -> DeviceChoice:
    """Resolve ``request`` to a usable device.

    Parameters
    ----------
    request : {"auto", "cpu", "cuda"}
    threads : int or None
        CPU threads for torch (default: :func:`brainfuse._runtime.threads.choose_threads`, from the
        cores free now).
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
