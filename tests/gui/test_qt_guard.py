"""The PySide6 6.12.0 emit() reference bug cannot abort the window (brainfuse.gui.qt_guard)."""

from __future__ import annotations

import subprocess
import sys


def test_a_million_emits_do_not_abort_the_interpreter():
    code = (
        "import brainfuse.gui\n"
        "from brainfuse.gui.qt_guard import _Probe\n"
        "p = _Probe()\n"
        "for _ in range(1_000_000): p.fired.emit()\n"
        "import gc; gc.collect(); print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "bool_dealloc" not in done.stderr


def test_a_million_void_qt_calls_do_not_abort_the_interpreter():
    code = (
        "import brainfuse.gui\n"
        "from PySide6 import QtCore\n"
        "o = QtCore.QObject()\n"
        "for _ in range(1_000_000): o.setObjectName('x')\n"
        "import gc; gc.collect(); print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "none_dealloc" not in done.stderr
