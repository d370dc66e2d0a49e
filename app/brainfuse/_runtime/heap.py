"""The process heap (glibc malloc, no Qt): one arena, and its free pages given back.

The window (:mod:`brainfuse.gui`, which calls :func:`one_malloc_arena` when imported) is a
long-lived process whose work runs in worker threads (Qt's pool, the encoder
threads). glibc gives each such thread a malloc *arena* of its own, and ``malloc_trim``
gives back only what lies free inside an arena's bins and the top of the main arena: the
free top of a thread's arena stays resident until a ``free`` in that arena finds it above
``M_TRIM_THRESHOLD``, which the fusion raises to 256 MiB on purpose
(:func:`brainfuse.fusion.device.keep_freed_memory`, so feature maps are reused, not
faulted in again). Measured on the 1000-slice window session (issue 17, 2026-11-30): the
tops of the thread arenas held 25-32 MiB each, and whenever the fusion moved to a thread
whose arena had not held one before, resident memory stepped up by 35-40 MiB that no trim
could return (one session in three to six). With one arena (the main one) for every
thread, :func:`return_free_memory` reaches all free memory: 15 sessions in a row then
ended within 1 % of their 100-slice reading.

Linux with glibc only; elsewhere these functions do nothing and say so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import re
import sys

__all__ = ["freeze_long_lived", "malloc_arenas", "one_malloc_arena", "return_free_memory"]

_M_ARENA_MAX = -8  # glibc mallopt parameter (malloc.h)
_frozen = False


def _libc() -> ctypes.CDLL | None:
    """Return glibc's ``libc.so.6`` on Linux, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def one_malloc_arena() -> bool:
    """Make every thread that allocates from now on use glibc's main arena.

    Call it before worker threads start allocating (the window does so when
    :mod:`brainfuse.gui` is imported): a thread keeps the arena of its first allocation.
    Contention is not a concern here: the threads allocate a few blocks per image each.
    Returns True when glibc took the setting, False elsewhere (musl, macOS, Windows).
    """
    libc = _libc()
    try:
        return libc is not None and libc.mallopt(_M_ARENA_MAX, 1) == 1
    except AttributeError:  # a libc without mallopt
        return False


def malloc_arenas() -> int | None:
    """Count glibc's malloc arenas in this process (its ``malloc_info`` report); None elsewhere."""
    libc = _libc()
    if libc is None or not hasattr(libc, "open_memstream"):
        return None
    buffer, size = ctypes.c_void_p(), ctypes.c_size_t()
    libc.open_memstream.restype = ctypes.c_void_p
    stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    if not stream:
        return None
    try:
        libc.malloc_info(0, ctypes.c_void_p(stream))
    finally:
        libc.fclose(ctypes.c_void_p(stream))
    if buffer.value is None:
        return None
    report = ctypes.string_at(buffer.value, size.value).decode("ascii", "replace")
    libc.free(buffer)
    return len(re.findall(r"<heap nr=", report))


def return_free_memory() -> bool:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``); False elsewhere.

    Each fusion allocates its volumes while the previous one is being dropped; glibc keeps
    the freed pages, so without this the window's resident memory steps up by a volume's
    size now and then over a long session (issue 17: 1000 slices fused in a row). Cyclic
    garbage is collected first, so that volumes waiting in reference cycles are freed too.
    It reaches every free page only with one arena (:func:`one_malloc_arena`).
    """
    gc.collect()
    libc = _libc()
    try:
        return libc is not None and bool(libc.malloc_trim(0))
    except AttributeError:  # musl and others have no malloc_trim
        return False


def freeze_long_lived() -> bool:
    """Leave the objects that exist now out of every later cyclic collection (``gc.freeze``).

    Once per process (True the first time), when the window has started: the modules and
    the model are there for good, and a full collection over them (300,000 objects) held
    the interpreter for 165 ms on the 2-core development VM, a freeze of the window each
    time Python ran one or :func:`return_free_memory` did. Objects made later are
    collected as before.
    """
    global _frozen
    if _frozen:
        return False
    gc.freeze()
    _frozen = True
    return True
