"""Put the window in the states issue 14 documents, for screenshots under Xvfb.

Run it on a display (``Xvfb :99 -screen 0 1600x1000x24 &``, ``DISPLAY=:99``) with a state
name; it prints ``READY`` when the window shows it and stays open until killed, so that
``import -window root docs/<name>.png`` can take the picture (scripts/window_shots.sh does
both). Demo pair only.

    python scripts/window_states.py check|planes|cancelled
"""

from __future__ import annotations

import sys
import time

from PySide6 import QtCore

from brainfuse.gui import Viewer


def _spin(v: Viewer, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def main(state: str) -> None:
    v = Viewer(show=True)
    v.window.resize(1580, 960)
    v.window.move(10, 10)
    ws = v.workspace
    v.window.open_demo()
    v.wait(600)
    if state == "check":
        v.window.controller.set_register_mode("rigid")  # held for the check view
        v.wait(600)
        view = v.window.show_check_view()
        view.move(420, 160)
        view.square.setValue(16)
    elif state == "planes":
        ws.set_cursor_mm(ws.index_to_mm((60, 80, 70)))
        ws.set_layout("three", "fused")
    elif state == "cancelled":
        ws.set_ct_window("subdural")
        v.window.flush_pending()
        while ws.fusion is None or ws.fusion.done.sum() < 12:
            _spin(v, 0.05)
        v.window.cancel()
        v.wait(60)
        v.slice_index = ws.slice_index + 25  # a slice the cancel left
    else:
        raise SystemExit(f"unknown state {state!r}; use check, planes or cancelled")
    _spin(v, 1.5)
    print("READY", flush=True)
    _spin(v, 3600)


if __name__ == "__main__":
    main(sys.argv[1])
