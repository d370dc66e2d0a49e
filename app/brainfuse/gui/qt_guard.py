"""A guard against a reference-count bug of PySide6 6.12.0 on Python 3.11.

``SignalInstance.emit()`` returns ``True`` without taking a new reference, so every signal
emitted from Python takes one reference away from the ``True`` singleton. pyqtgraph emits
many signals (each view change, each mouse move); after some thousands the count reaches 0
and the interpreter aborts with ``Fatal Python error: bool_dealloc`` (seen at the end of
the GUI test session, and possible in a long session at the window). Python 3.12+ makes
``True`` immortal, which hides the bug; fixed PySide6 releases return a proper reference.

:func:`guard_true_refcount` measures the loss once (a few emits of a private signal) and,
only where it happens, adds a large reserve to ``True``'s count (its ``ob_refcnt`` field
written through :mod:`ctypes`: no memory is allocated; ``True`` is a static object that is
never freed, so an over-count is harmless).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6 import QtCore

__all__ = ["emit_loses_a_reference", "guard_true_refcount"]

#: References added to ``True`` where emits lose them: 2**40 emits before it runs out.
RESERVE = 1 << 40


class _Probe(QtCore.QObject):
    fired = QtCore.Signal()


def emit_loses_a_reference() -> bool:
    """True when this PySide6 build's ``emit()`` takes a reference away from ``True``."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.fired.emit()
    return sys.getrefcount(True) <= before - 16


def guard_true_refcount() -> bool:
    """Add :data:`RESERVE` references to ``True`` if emits lose them; returns whether it did."""
    if sys.implementation.name != "cpython" or not emit_loses_a_reference():
        return False
    refcount = ctypes.c_ssize_t.from_address(id(True))
    refcount.value += RESERVE
    return True


#: Whether the guard was needed in this process (run once, on import: brainfuse.gui does).
GUARDED = guard_true_refcount()
