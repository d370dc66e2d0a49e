"""Memory budget: how much one image may take to decode, checked before anything is allocated.

A header can declare far more than a file holds (a 74-byte gzipped NIfTI declaring 1200³
voxels, a PNG declaring 20000×20000 pixels). Each reader works out from the header how much
memory decoding would take and calls :func:`require` before decoding; a refusal says how
much would be needed.

The budget is, in this order: :func:`budget_override` (the CLI's ``--memory-budget``), the
environment variable ``BRAINFUSE_MEMORY_BUDGET`` (``4G``, ``1500M``, ``2.5GB`` or bytes), or
half of the memory available now. A process address-space limit (``ulimit -v``,
``resource.RLIMIT_AS``) lowers it to 80% of the room left under that limit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brainfuse.errors import InputTooLargeError, UnsupportedInputError

__all__ = ["ENV_VAR", "budget_override", "format_size", "memory_budget", "parse_size", "require"]

ENV_VAR = "BRAINFUSE_MEMORY_BUDGET"
_AVAILABLE_FRACTION = 0.5
_ADDRESS_SPACE_FRACTION = 0.8
_FALLBACK = 4 * 1024**3  # when the available memory cannot be read
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_override: int | None = None


def parse_size(text: str) -> int:
    """Bytes in a size such as ``4G``, ``1500M``, ``2.5GB``, ``512MiB`` or ``1000000``.

    Raises
    ------
    UnsupportedInputError
        Not a positive size.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(I?B)?\s*", str(text).upper())
    if not match or float(match.group(1)) <= 0:
        raise UnsupportedInputError(
            f"'{text}' is not a memory size; give e.g. 4G, 1500M or a number of bytes."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_size(nbytes: float) -> str:
    """``3.2 GB``, ``512 MB``, ``40 kB`` (powers of 1024)."""
    for unit, size in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return _FALLBACK


def _address_space_room() -> int | None:
    """Bytes left under the soft address-space limit, or ``None`` without a limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    except OSError:
        pass
    return max(soft - used, 0)


def memory_budget() -> int:
    """Bytes one image may take to decode now (see the module notes)."""
    if _override is not None:
        budget = _override
    elif os.environ.get(ENV_VAR):
        budget = parse_size(os.environ[ENV_VAR])
    else:
        budget = int(_available_memory() * _AVAILABLE_FRACTION)
    room = _address_space_room()
    if room is not None:
        budget = min(budget, int(room * _ADDRESS_SPACE_FRACTION))
    return budget


@contextmanager
def budget_override(size: str | int | None) -> Iterator[None]:
    """Within the block, use ``size`` (bytes or text such as ``4G``) as the budget."""
    global _override
    saved = _override
    if size is not None:
        _override = size if isinstance(size, int) else parse_size(size)
    try:
        yield
    finally:
        _override = saved


def require(nbytes: float, path: str | Path, what: str) -> None:
    """Refuse to decode when it would take more than the budget.

    Parameters
    ----------
    nbytes : float
        Peak memory the decode would take, bytes (an estimate from the header).
    path : str or Path
        The file, named in the message.
    what : str
        What the header declares, e.g. ``"16384×16384 pixels, 1 frame, 16 bits"``.

    Raises
    ------
    InputTooLargeError
        ``nbytes`` is over :func:`memory_budget`; the message gives both sizes.
    """
    budget = memory_budget()
    if nbytes > budget:
        raise InputTooLargeError(
            f"File {path} declares {what}: decoding it would need about "
            f"{format_size(nbytes)} of memory, more than the {format_size(budget)} allowed; "
            f"free memory or raise the limit with --memory-budget or {ENV_VAR}."
        )
