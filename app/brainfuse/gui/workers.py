"""Background work for the window: one place that starts workers, shows progress, cancels.

Every long task (loading, alignment, fusion) runs in a superqt worker on Qt's thread pool,
never on the GUI thread. Generator tasks ``yield`` once per slice: that is both a progress
point and a cancel point (:meth:`superqt.utils.GeneratorWorker.quit` takes effect at the next
``yield``), and the core's own ``cancel`` event is set too so that a long call in the middle
of a slice stops early. Errors reach :meth:`TaskRunner.errored` and become a readable dialog
in the window; the application keeps running (napari's ``_qt/qthreading.py`` pattern).

Each task carries a *generation* number: when a newer task of the same kind starts (the
user moved on), results of the older one are dropped on arrival (ndv's ``_request_data``).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shiboken6
from PySide6 import QtCore, QtWidgets
from superqt.utils import GeneratorWorker, WorkerBase, create_worker

from brainfuse.errors import CancelledError

__all__ = ["Task", "TaskRunner", "fuse_slices", "fuser_for", "window_in_slabs"]


@dataclass
class Task:
    """A running worker with its cancel event and generation number."""

    kind: str
    generation: int
    worker: WorkerBase
    cancel: threading.Event = field(default_factory=threading.Event)
    thread_id: int | None = None
    quiet: bool = False

    def quit(self) -> None:
        """Ask the task to stop at its next cancel point."""
        self.cancel.set()
        self.worker.quit()


class TaskRunner(QtCore.QObject):
    """Starts tasks, drives the progress bar and the Cancel button, routes errors.

    Parameters
    ----------
    progress : QProgressBar
        Shown while a task runs, 0–1000 (fraction × 1000).
    cancel_button : QPushButton
        Shown while a cancellable task runs; cancels every running task.

    Signals
    -------
    errored(kind, exception) : an exception escaped a task (not a cancellation).
    idle() : no task is running any more.
    """

    errored = QtCore.Signal(str, object)
    idle = QtCore.Signal()

    def __init__(
        self, progress: QtWidgets.QProgressBar, cancel_button: QtWidgets.QPushButton
    ) -> None:
        super().__init__()
        self.progress = progress
        self.cancel_button = cancel_button
        self.tasks: dict[str, Task] = {}
        #: kind -> id of the thread that ran the latest task of that kind (for checks)
        self.thread_ids: dict[str, int] = {}
        self._generation: dict[str, int] = {}
        cancel_button.clicked.connect(self.cancel_all)
        self._set_busy(False)

    # ------------------------------------------------------------------ starting
    def start(
        self,
        kind: str,
        func: Callable[..., Any],
        *args: Any,
        label: str = "",
        on_yield: Callable[[Any], None] | None = None,
        on_return: Callable[[Any], None] | None = None,
        quiet: bool = False,
        **kwargs: Any,
    ) -> Task:
        """Run ``func(*args, cancel=Event, **kwargs)`` in a worker thread.

        A generator ``func`` may yield ``(fraction, payload)``; ``on_yield(payload)`` runs on
        the GUI thread for each. ``on_return(value)`` gets the return value. A task of the
        same ``kind`` still running is cancelled first and its late results are dropped.
        A ``quiet`` task (a quick readout) leaves the progress bar and Cancel button alone.
        """
        if kind in self.tasks:
            self.tasks[kind].quit()
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation
        cancel = threading.Event()
        holder: dict[str, Task] = {}

        def current() -> bool:
            return self._generation.get(kind) == generation

        def run(*a: Any, **kw: Any) -> Any:
            holder["task"].thread_id = self.thread_ids[kind] = threading.get_ident()
            return func(*a, **kw)

        if inspect.isgeneratorfunction(func):
            worker = GeneratorWorker(
                _generator_wrapper(func, holder, self.thread_ids, kind),
                *args,
                cancel=cancel,
                **kwargs,
            )
        else:
            worker = create_worker(
                run, *args, cancel=cancel, _start_thread=False, _ignore_errors=True, **kwargs
            )
        task = Task(kind, generation, worker, cancel, quiet=quiet)
        holder["task"] = task
        self.tasks[kind] = task

        def yielded(item: Any) -> None:
            if not current():
                return
            fraction, payload = item
            if not quiet:
                self.progress.setValue(int(1000 * min(max(fraction, 0.0), 1.0)))
            if on_yield is not None:
                on_yield(payload)

        def returned(value: Any) -> None:
            if current() and on_return is not None and not cancel.is_set():
                on_return(value)

        def failed(exc: BaseException) -> None:
            if current() and not isinstance(exc, CancelledError):
                self.errored.emit(kind, exc)

        def finished() -> None:
            if self.tasks.get(kind) is task:
                del self.tasks[kind]
            if not any(not t.quiet for t in self.tasks.values()):
                self._set_busy(False)
            if not self.tasks:
                self.idle.emit()

        if isinstance(worker, GeneratorWorker):
            worker.yielded.connect(yielded)
        worker.returned.connect(returned)
        worker.errored.connect(failed)
        worker.finished.connect(finished)
        if not quiet:
            self.progress.setFormat(f"{label} %p%" if label else "%p%")
            self.progress.setValue(0)
            self._set_busy(True)
        worker.start()
        return task

    # ------------------------------------------------------------------ state
    def is_running(self, kind: str | None = None) -> bool:
        """True while a task (of ``kind``) runs."""
        return bool(self.tasks) if kind is None else kind in self.tasks

    def cancel(self, kind: str) -> None:
        """Cancel the running task of ``kind``, if any; its results are dropped."""
        task = self.tasks.get(kind)
        if task is not None:
            self._generation[kind] = self._generation.get(kind, 0) + 1
            task.quit()

    def cancel_all(self) -> None:
        """Cancel every running task (the Cancel button)."""
        for kind in list(self.tasks):
            self.cancel(kind)

    def _set_busy(self, busy: bool) -> None:
        if not (shiboken6.isValid(self.progress) and shiboken6.isValid(self.cancel_button)):
            return  # the window closed while a task was finishing
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)


def _generator_wrapper(
    func: Callable[..., Iterator[Any]], holder: dict[str, Task], ids: dict[str, int], kind: str
):
    def run(*args: Any, **kwargs: Any):
        holder["task"].thread_id = ids[kind] = threading.get_ident()
        return (yield from func(*args, **kwargs))

    return run


def fuse_slices(
    fuser: Any,
    ct01: Any,
    mri01: Any,
    order: list[int],
    *,
    cancel: threading.Event,
    make_slice: Callable[[Any], Any],
) -> Iterator[tuple[float, tuple[int, Any, Any]]]:
    """Fuse the slices ``order`` one by one; each slice is one ``yield`` (progress + cancel).

    Parameters
    ----------
    fuser : brainfuse.fusion.Fuser
        Created once by the window and reused.
    ct01, mri01 : (Z, Y, X) ndarray of float32 in [0, 1]
        The windowed pair on the common grid.
    order : list of int
        Slice indices to fuse, in order.
    cancel : threading.Event
        Set by the Cancel button; passed to the core.
    make_slice : callable
        ``FusionResult -> SliceFusion``.

    Yields
    ------
    (fraction, (k, SliceFusion, FusionResult, milliseconds))
        ``milliseconds`` is the wall time of the core's ``fuse`` call for that slice.
    """
    n = len(order)
    for done, k in enumerate(order, start=1):
        if cancel.is_set():
            raise CancelledError("fusion cancelled")
        start = time.perf_counter()
        result = fuser.fuse(ct01[k], mri01[k], cancel=cancel)
        ms = 1000.0 * (time.perf_counter() - start)
        yield done / n, (k, make_slice(result), result, ms)


_FUSERS: dict[str, Any] = {}
_FUSER_LOCK = threading.Lock()


def fuser_for(device: str) -> Any:
    """The :class:`brainfuse.fusion.Fuser` for ``device``, created once per process and reused.

    The first call loads the weights and runs one tiny fusion so that torch's lazy start-up
    (thread pool, kernels) happens here, in a worker, and not inside the first slice.
    """
    with _FUSER_LOCK:
        if device not in _FUSERS:
            from brainfuse.fusion import Fuser

            fuser = Fuser(method="cnn", device=device)
            warm = np.zeros((32, 32), np.float32)
            fuser.fuse(warm, warm)
            _FUSERS[device] = fuser
        return _FUSERS[device]


def window_in_slabs(
    volume: Any, window: tuple[float, float] | None, *, cancel: threading.Event, slab: int = 8
) -> Iterator[tuple[float, Any]]:
    """Window a volume to [0, 1] with :func:`brainfuse.fusion.intensity.to_unit`, slab by slab.

    An explicit ``(center, width)`` window is applied to slabs of ``slab`` slices with a
    ``yield`` between slabs, so that the GUI thread gets the interpreter back in between
    (the result is identical to one ``to_unit`` call). The automatic window (``None``: MR
    percentiles of the whole volume, 8-bit images as they are) needs the whole volume and is
    one call, so that the window and CLI give the same numbers.

    Yields
    ------
    ``(fraction, ("prepare",))`` between slabs; the generator *returns*
    ``(array01, WindowUsed)`` (use ``yield from``).
    """
    from brainfuse.fusion.intensity import to_unit

    if window is None or volume.is_rgb:
        result = to_unit(volume, window)
        yield 1.0, ("prepare",)
        return result
    out = np.empty(volume.array.shape, np.float32)
    used = None
    n = volume.n_slices
    for k0 in range(0, n, slab):
        if cancel.is_set():
            raise CancelledError("windowing cancelled")
        part = volume.with_array(volume.array[k0 : k0 + slab])
        out[k0 : k0 + slab], used = to_unit(part, window)
        yield min(k0 + slab, n) / n, ("prepare",)
    return out, used
