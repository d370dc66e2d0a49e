"""Importing BrainFuse changes no process setting: environment, allocator, garbage collector.

Each check runs in a fresh interpreter, which records the state, imports the package, and
records it again. The allocator check lets a new thread allocate after the import and counts
glibc's arenas: with ``mallopt(M_ARENA_MAX, 1)`` in force the thread would share the main
arena (one arena); glibc's default gives it one of its own (two or more), so the check fails
as soon as an import sets the allocator. The entry points that do make settings are checked
in ``tests/_runtime``: the command's OpenMP wait policy (``test_threads.py``) and the
window's one arena (``test_heap.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_LIBRARIES = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps([m for m in sys.modules if "." not in m and m != "brainfuse"]))
"""

_SCRIPT = """
import gc, json, os, sys, threading
for name in json.loads(sys.argv[2]):  # the libraries first: their own settings are theirs
    try:
        __import__(name)
    except Exception:
        pass
def state():
    return {"env": dict(os.environ), "gc_enabled": gc.isenabled(),
            "gc_threshold": list(gc.get_threshold()), "gc_frozen": gc.get_freeze_count(),
            "gc_debug": gc.get_debug(), "switch": sys.getswitchinterval()}
from brainfuse._runtime.heap import malloc_arenas  # no settings, nothing else imported
before = state()
arenas_before = malloc_arenas()
import importlib
importlib.import_module(sys.argv[1])
after = state()
kept = []
def work():
    kept.append([bytearray(1 << 19) for _ in range(8)])  # 4 MiB from malloc, in this thread
t = threading.Thread(target=work); t.start(); t.join()
print(json.dumps({"before": before, "after": after,
                  "arenas": [arenas_before, malloc_arenas()]}))
"""


def _child(*args: str) -> object:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [sys.executable, "-c", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _import_in_child(module: str) -> dict:
    """State before and after ``import module``, the third-party libraries it loads already
    imported before (``gdcm``, loaded by pydicom, sets ``GDCM_RESOURCES_PATH`` itself)."""
    libraries = _child(_LIBRARIES, module)
    assert isinstance(libraries, list)
    if module == "brainfuse.gui":  # the heavy ones are among them: the baseline holds them
        assert {"torch", "PySide6"} <= set(libraries)
    seen = _child(_SCRIPT, module, json.dumps(libraries))
    assert isinstance(seen, dict)
    return seen


@pytest.mark.parametrize("module", ["brainfuse", "brainfuse.cli", "brainfuse.gui"])
def test_import_changes_no_process_setting(module):
    if module == "brainfuse.gui":
        pytest.importorskip("PySide6")
    seen = _import_in_child(module)
    before, after = seen["before"], seen["after"]
    changed = {
        k: (before["env"].get(k), after["env"].get(k))
        for k in before["env"].keys() | after["env"].keys()
        if before["env"].get(k) != after["env"].get(k)
    }
    assert changed == {}
    assert "OMP_WAIT_POLICY" not in after["env"]
    for key in ("gc_enabled", "gc_threshold", "gc_frozen", "gc_debug", "switch"):
        assert after[key] == before[key], key
    assert after["gc_frozen"] == 0
    arenas_before, arenas_after = seen["arenas"]
    if arenas_before is not None:  # glibc: the new thread got an arena of its own
        assert arenas_before == 1
        assert arenas_after >= 2
