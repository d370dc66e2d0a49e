"""Time to the first fused slice in the window, for ``brainfuse bench --first-slice``.

What a reader feels is the wait between opening a pair and seeing the first fused slice.
This drives the real window (:class:`brainfuse.gui.Viewer`, hidden) the way a person does:
the window is made and its model loaded first (untimed, as when the application is already
open), then the clock runs from :meth:`~brainfuse.gui.Viewer.open_pair` (two files: load,
align, fuse the slice on screen) until the fused panel has an image for the slice shown and
the events that draw it have been processed. The rest of the volume is then cancelled, so
the next run starts on an idle machine. Each run uses a fresh window (nothing cached).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

__all__ = ["time_first_slice"]


def _idle(viewer: Any, timeout: float) -> None:
    """Process events until the viewer's workers are idle (errors of cancelled work ignored)."""
    from PySide6 import QtCore

    deadline = time.monotonic() + timeout
    while viewer.window.runner.is_running() and time.monotonic() < deadline:
        viewer.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        time.sleep(0.01)


def _one_run(ct: Path, mri: Path, timeout: float) -> float:
    """Seconds from opening the pair to its first fused slice drawn, in a fresh window."""
    from PySide6 import QtCore

    from brainfuse.errors import BrainFuseError
    from brainfuse.gui.viewer import Viewer

    viewer = Viewer(show=False)
    try:
        viewer.wait(timeout)  # the window's own start-up work (the model) is not timed
        t0 = time.perf_counter()
        viewer.open_pair(ct, mri)
        while viewer.workspace.plane_image("fused") is None:
            viewer.app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
            QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
            viewer.window.flush_pending()
            if viewer.window.errors:
                kind, exc = viewer.window.errors[0]
                raise BrainFuseError(f"{kind} failed: {exc}")
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"no fused slice after {timeout:g} s")
            time.sleep(0.001)
        viewer.app.processEvents()  # the panels draw it
        return time.perf_counter() - t0
    finally:
        viewer.close()
        _idle(viewer, timeout)


def time_first_slice(
    pairs: dict[str, tuple[Path, Path]], *, repeat: int = 5, timeout: float = 300.0, log=None
) -> list[dict[str, Any]]:
    """Time open-to-first-fused-slice ``repeat`` times for each named pair of files.

    Parameters
    ----------
    pairs : {name: (ct_path, mri_path)}
    repeat : int, runs per pair (fresh window each)
    timeout : float, seconds allowed to one run
    log : callable(str) or None, one line per pair

    Returns
    -------
    list of dict
        One per pair: ``name``, ``s_median``, ``s_min``, ``s_max``, ``s_runs`` (seconds).
    """
    from brainfuse.gui.platform_check import check_window_platform

    check_window_platform()  # one line, not Qt's abort, where no window can open
    rows = []
    for name, (ct, mri) in pairs.items():
        runs = [_one_run(Path(ct), Path(mri), timeout) for _ in range(max(repeat, 1))]
        rows.append(
            {
                "name": name,
                "s_median": statistics.median(runs),
                "s_min": min(runs),
                "s_max": max(runs),
                "s_runs": runs,
            }
        )
        if log is not None:
            log(f"first fused slice, {name}: {rows[-1]['s_median']:.2f} s median of {len(runs)}")
    return rows
