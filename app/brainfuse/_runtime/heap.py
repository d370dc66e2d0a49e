"""The process heap (glibc malloc, no Qt): one arena, and its free pages given back.

The window is a long-lived process whose work runs in worker threads (Qt's pool, the
encoder threads). glibc gives each such thread a malloc *arena* of its own, and
``malloc_trim`` gives back only what lies free inside an arena's bins and the top of the
main arena: the free top of a thread's arena stays resident until a ``free`` in that arena
finds it above ``M_TRIM_THRESHOLD``, which the fusion raises to 256 MiB on purpose
(:func:`brainfuse.fusion.device.keep_freed_memory`, so feature maps are reused, not faulted
in again). A long window session then steps up by tens of MiB whenever the fusion moves to
a thread whose arena had not held one before. With one arena (the main one) for every
thread, :func:`return_free_memory` reaches all free memory. :func:`one_malloc_arena` is
called where a window process starts (:func:`brainfuse.gui.app.application`, which
``run_app`` and ``Viewer`` use), never on import.
The figures are in ``docs/decisions.md`` ("One malloc arena in the window").

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

    Call it before worker threads start allocating (the window's
    :func:`~brainfuse.gui.app.application` does): a thread keeps the arena of its first allocation.
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
    size now and then over a long session of fusions in a row. Cyclic
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

    Once per process (True the first time), when the window's model is loaded: the modules
    and the model are there for good (some 300,000 objects), and a full collection over them
    holds the interpreter for a visible pause each time Python runs one or
    :func:`return_free_memory` does (``docs/decisions.md``, "Freeze the long-lived objects").
    Objects made later are collected as before.
    """
    global _frozen
    if _frozen:
        return False
    gc.freeze()
    _frozen = True
    return True
