"""A guard against a reference-count bug of PySide6 6.12.0 on Python 3.11.

``SignalInstance.emit()`` returns ``True`` without taking a new reference, so every signal
emitted from Python takes one reference away from the ``True`` singleton. pyqtgraph emits
many signals (each view change, each mouse move); after some thousands the count reaches 0
and the interpreter aborts with ``Fatal Python error: bool_dealloc`` (seen at the end of
the GUI test session, and possible in a long session at the window). Python 3.12+ makes
``True`` immortal, which hides the bug; fixed PySide6 releases return a proper reference.
The same build loses a reference to ``None`` on every call of a ``void`` Qt method
(``QGraphicsItem.update()``: the whole GUI suite aborted with ``none_dealloc``).

:func:`guard_true_refcount` measures the losses once (a few emits and void calls on a
private object) and, only where they happen, adds a large reserve to the counts of ``True``
and ``False`` (emits) and ``None`` (void calls) (its ``ob_refcnt`` field
written through :mod:`ctypes`: no memory is allocated; ``True`` is a static object that is
never freed, so an over-count is harmless; the same holds for ``False`` and ``None``).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6 import QtCore

__all__ = ["emit_loses_a_reference", "guard_true_refcount", "void_call_loses_a_reference"]

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


def void_call_loses_a_reference() -> bool:
    """True when calling a ``void`` Qt method takes a reference away from ``None``.

    The same build does it (``QGraphicsItem.update()``, ``prepareGeometryChange()``: three
    per ``pyqtgraph.ImageItem.clear()``); the window tests aborted with ``none_dealloc``.
    """
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.deleteLater()  # a void method; the object lives on until the event loop runs
    return sys.getrefcount(None) <= before - 16


def guard_true_refcount() -> bool:
    """Add :data:`RESERVE` references to ``True`` and ``False`` if emits lose them, and to
    ``None`` if void calls do; returns whether anything was added."""
    if sys.implementation.name != "cpython":
        return False
    lost = []
    if emit_loses_a_reference():
        lost += [True, False]
    if void_call_loses_a_reference():
        lost.append(None)
    for value in lost:
        refcount = ctypes.c_ssize_t.from_address(id(value))
        refcount.value += RESERVE
    return bool(lost)


#: Whether the guard was needed in this process (run once, on import: brainfuse.gui does).
GUARDED = guard_true_refcount()
