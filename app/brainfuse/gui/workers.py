"""Background work for the window: one place that starts workers, shows progress, cancels.

Every long task (loading, alignment, fusion) runs in a superqt worker on Qt's thread pool,
never on the GUI thread. Generator tasks ``yield`` once per slice: that is both a progress
point and a cancel point (:meth:`superqt.utils.GeneratorWorker.quit` takes effect at the next
``yield``), and the core's own ``cancel`` event is set too so that a long call in the middle
of a slice stops early. Every task body runs inside the error boundary
:func:`brainfuse.errors.as_user_error`: any failure, including a Rust decoder's
``PanicException`` (a ``BaseException`` that superqt's ``except Exception`` would miss),
reaches :meth:`TaskRunner.errored` as one :class:`~brainfuse.errors.BrainFuseError` naming
the task's subject (the file, the pair) and becomes one readable dialog in the window; the
application keeps running (napari's ``_qt/qthreading.py`` pattern). A bug of BrainFuse
(:func:`brainfuse.errors.is_internal_error`) arrives instead as an
:class:`~brainfuse.errors.InternalError`, its traceback in a log file, and is shown by
:func:`show_internal_error` with a "Copy details" button.

Each task carries a *generation* number: when a newer task of the same kind starts (the
user moved on), results of the older one are dropped on arrival (ndv's ``_request_data``).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import warnings
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Generic, TypeVar, overload

import shiboken6
from PySide6 import QtCore, QtWidgets
from superqt.utils import GeneratorWorker, WorkerBase, create_worker

from brainfuse._runtime.bugreport import report_internal_error
from brainfuse.errors import CancelledError, InternalError, as_user_error, is_internal_error

__all__ = ["Task", "TaskRunner", "show_internal_error"]

Y = TypeVar("Y")
R = TypeVar("R")
#: A task body: a function of (*args, cancel=Event), or a generator of (fraction, payload).
TaskFunc = Callable[..., object]

#: The verb of a failure message per task kind (its prefix before ``-``):
#: "Could not <verb> <subject>: <cause>."
_DOING = {"load": "read", "align": "align", "fuse": "fuse", "export": "export", "model": "load"}


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


@dataclass(frozen=True)
class _Callbacks(Generic[Y, R]):
    """What to do on the GUI thread with a task's yields and return value."""

    on_yield: Callable[[Y], None] | None = None
    on_return: Callable[[R], None] | None = None


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
    ended(kind) : a task's worker has ended (done, failed or cancelled), emitted in the GUI
        thread after the runner's own bookkeeping; its slices have all landed by then.
    """

    errored = QtCore.Signal(str, object)
    ended = QtCore.Signal(str)

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
    @overload
    def start(
        self,
        kind: str,
        func: Callable[..., Generator[tuple[float, Y], None, R]],
        *args: object,
        label: str = "",
        on_yield: Callable[[Y], None] | None = None,
        on_return: Callable[[R], None] | None = None,
        quiet: bool = False,
        subject: str | None = None,
    ) -> Task: ...

    @overload
    def start(
        self,
        kind: str,
        func: Callable[..., R],
        *args: object,
        label: str = "",
        on_return: Callable[[R], None] | None = None,
        quiet: bool = False,
        subject: str | None = None,
    ) -> Task: ...

    def start(
        self,
        kind: str,
        func: TaskFunc,
        *args: object,
        label: str = "",
        on_yield: Callable[[Y], None] | None = None,
        on_return: Callable[[R], None] | None = None,
        quiet: bool = False,
        subject: str | None = None,
    ) -> Task:
        """Run ``func(*args, cancel=Event)`` in a worker thread.

        A generator ``func`` may yield ``(fraction, payload)``; ``on_yield(payload)`` runs on
        the GUI thread for each. ``on_return(value)`` gets the return value. A task of the
        same ``kind`` still running is cancelled first and its late results are dropped.
        A ``quiet`` task (a quick readout) leaves the progress bar and Cancel button alone.
        ``subject`` (a file, a pair) is named in the message of a failure.
        """
        if kind in self.tasks:
            self.tasks[kind].quit()
        generation = self._generation.get(kind, 0) + 1
        self._generation[kind] = generation
        cancel = threading.Event()
        holder: dict[str, Task] = {}
        boundary = (subject, _DOING.get(kind.split("-")[0], "run"))
        worker = self._make_worker(kind, func, holder, args, cancel, boundary)
        task = Task(kind, generation, worker, cancel, quiet=quiet)
        holder["task"] = task
        self.tasks[kind] = task
        self._route(task, _Callbacks(on_yield, on_return))
        if not quiet:
            self.progress.setFormat(f"{label} %p%" if label else "%p%")
            self.progress.setValue(0)
            self._set_busy(True)
        worker.start()
        return task

    def _make_worker(
        self,
        kind: str,
        func: TaskFunc,
        holder: dict[str, Task],
        args: tuple[object, ...],
        cancel: threading.Event,
        boundary: tuple[str | None, str],
    ) -> WorkerBase:
        """Make a superqt worker running ``func`` in the error boundary; it records its thread.

        ``boundary`` is ``(subject, verb)`` for :func:`brainfuse.errors.as_user_error`.
        """
        ids = self.thread_ids
        subject, doing = boundary

        def mark() -> None:
            holder["task"].thread_id = ids[kind] = threading.get_ident()

        if inspect.isgeneratorfunction(func):

            def run_gen(*a: object, **kw: object) -> Generator[object, None, object]:
                mark()
                try:
                    return (yield from func(*a, **kw))
                except BaseException as exc:  # a Rust panic is no Exception
                    raise _boundary(exc, subject, doing) from exc

            return GeneratorWorker(run_gen, *args, cancel=cancel)

        def run(*a: object, **kw: object) -> object:
            mark()
            try:
                return func(*a, **kw)
            except BaseException as exc:
                raise _boundary(exc, subject, doing) from exc

        return create_worker(run, *args, cancel=cancel, _start_thread=False, _ignore_errors=True)

    def _route(self, task: Task, callbacks: _Callbacks) -> None:
        """Connect a worker's signals: late results of an older generation are dropped."""
        kind, quiet = task.kind, task.quiet

        def current() -> bool:
            return self._generation.get(kind) == task.generation

        def yielded(item: tuple[float, object]) -> None:
            if not current():
                return
            fraction, payload = item
            if not quiet:
                self.progress.setValue(int(1000 * min(max(fraction, 0.0), 1.0)))
            if callbacks.on_yield is not None:
                callbacks.on_yield(payload)

        def returned(value: object) -> None:
            if current() and callbacks.on_return is not None and not task.cancel.is_set():
                callbacks.on_return(value)

        def failed(exc: BaseException) -> None:
            if current() and not isinstance(exc, CancelledError):
                self.errored.emit(kind, exc)

        def finished(*_: object) -> None:  # superqt types the argless signal as SigInst[None]
            if self.tasks.get(kind) is task:
                del self.tasks[kind]
            if not any(not t.quiet for t in self.tasks.values()):
                self._set_busy(False)
            self.ended.emit(kind)
            QtCore.QTimer.singleShot(0, functools.partial(_disconnect, task.worker))

        if isinstance(task.worker, GeneratorWorker):
            task.worker.yielded.connect(yielded)
        task.worker.returned.connect(returned)
        task.worker.errored.connect(failed)
        task.worker.finished.connect(finished)

    # ------------------------------------------------------------------ state
    def is_running(self, kind: str | None = None) -> bool:
        """Tell whether a task (of ``kind``) is running."""
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


def _disconnect(worker: WorkerBase) -> None:
    """Drop the connections :meth:`TaskRunner._route` made to a finished worker.

    Qt holds those callbacks, and they hold the task, hence the worker and its arguments:
    a cycle through C++ that Python's collector cannot see. Each readout of the slice on
    screen (three slices copied into its worker) stayed in memory for good, 3 MiB per
    slice change at 512 x 512, until the connections were dropped here.
    """
    names = ("yielded", "returned", "errored", "finished")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "Failed to disconnect": none left
        for name in names if isinstance(worker, GeneratorWorker) else names[1:]:
            with contextlib.suppress(RuntimeError, TypeError):
                getattr(worker, name).disconnect()


def _boundary(exc: BaseException, subject: str | None, doing: str) -> Exception:
    """Turn a task body's failure into the error shown: a bug reported as one, else the user's."""
    if is_internal_error(exc):
        return report_internal_error(exc, doing=f"{doing} {subject or ''}".strip())
    return as_user_error(exc, path=subject, doing=doing)


def show_internal_error(parent: QtWidgets.QWidget | None, what: str, exc: InternalError) -> None:
    """One dialog for a bug: what failed, the line with the log's place, "Copy details"."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, "BrainFuse", f"{what}.")
    box.setParent(parent, box.windowFlags())
    box.setInformativeText(str(exc))
    box.setDetailedText(exc.details)
    copy = box.addButton("Copy details", QtWidgets.QMessageBox.ButtonRole.ActionRole)
    box.addButton(QtWidgets.QMessageBox.StandardButton.Close)
    copy.clicked.disconnect()  # an action button closes the box; copying should not
    copy.clicked.connect(lambda: QtWidgets.QApplication.clipboard().setText(exc.details))
    box.exec()
