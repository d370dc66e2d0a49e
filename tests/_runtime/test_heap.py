"""The process heap (:mod:`brainfuse._runtime.heap`): one malloc arena for every thread of the window.

Checked in a fresh interpreter: a thread that allocates after the window's application is
created (``gui.app.application``, which ``run_app`` and ``Viewer`` call, sets
:func:`~brainfuse._runtime.heap.one_malloc_arena`) must not get an arena
of its own (with one, ``malloc_trim`` could not return the free top of that arena). Without
the setting, the same thread makes a second arena, so the check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from brainfuse._runtime.heap import malloc_arenas

pytestmark = pytest.mark.skipif(malloc_arenas() is None, reason="glibc malloc only")

_SCRIPT = """
import sys, threading
import numpy as np
if sys.argv[1] == "window":
    from brainfuse.gui.app import application
    application()
from brainfuse._runtime.heap import malloc_arenas, return_free_memory
kept = []
def work():
    kept.append([np.ones(1 << 16) for _ in range(8)])  # 4 MiB from malloc, in this thread
t = threading.Thread(target=work); t.start(); t.join()
print(malloc_arenas(), return_free_memory())
"""


def _arenas_after_a_thread(mode: str) -> int:
    code = [sys.executable, "-c", _SCRIPT, mode]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(code, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    arenas, trimmed = done.stdout.split()
    assert trimmed in ("True", "False")
    return int(arenas)


def test_threads_of_the_window_allocate_from_the_main_arena():
    assert _arenas_after_a_thread("plain") >= 2  # glibc's default: an arena per thread
    assert _arenas_after_a_thread("window") == 1


def test_long_lived_objects_are_frozen_once():
    code = [
        sys.executable,
        "-c",
        "import gc; from brainfuse._runtime.heap import freeze_long_lived as f; "
        "n = gc.get_freeze_count(); print(n, f(), gc.get_freeze_count() > n, f())",
    ]
    done = subprocess.run(code, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "True", "True", "False"]
