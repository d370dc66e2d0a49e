"""A one-line text progress bar on stderr for long command-line jobs (no Qt, no torch).

``[##########....................] 100/300 slices  21.4 slices/s  0:04 elapsed, 0:09 left``

Used by ``brainfuse fuse`` (volumes), ``brainfuse evaluate`` and ``brainfuse train``. Nothing
is shown for a job that ends within :data:`DELAY_S`; after that the line is redrawn in place
(carriage return) at most every :data:`REDRAW_S` when the stream is a terminal, and otherwise
one line is printed at every tenth of the job, so logs stay short.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

__all__ = ["DELAY_S", "REDRAW_S", "JobProgress", "TextProgress"]

DELAY_S = 1.0  #: seconds before anything is shown
REDRAW_S = 0.2  #: least seconds between two redraws on a terminal
_WIDTH = 30


def _clock(seconds: float) -> str:
    s = int(max(seconds, 0.0))
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class TextProgress:
    """Progress of ``total`` units (slices, pairs, steps), called with the fraction done.

    Parameters
    ----------
    total : int
        Units in the whole job (shown as ``done/total``; the rate is in units per second).
    label : str
        Name of the unit, plural (``"slices"``).
    stream : text stream, optional
        Default ``sys.stderr``.
    delay : float or None
        Seconds before the first line is drawn (0 draws at once; default :data:`DELAY_S`).
    clock : callable returning seconds, optional
        Time source (tests pass a fake clock).

    Notes
    -----
    ``bar(fraction, note="loss 0.0123")`` adds ``note`` to the line. :meth:`close` ends a
    terminal line early (for example when the job is interrupted).
    """

    def __init__(
        self,
        total: int,
        label: str = "items",
        stream: TextIO | None = None,
        *,
        delay: float | None = None,
        clock=time.perf_counter,
    ):
        self.total, self.label = max(int(total), 1), label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.delay = DELAY_S if delay is None else float(delay)
        self._clock = clock
        self.t0 = clock()
        self._last_draw = -1.0
        self._last_decile = 0
        self._open = False  # a terminal line without its newline yet
        self._done = False
        self._width = 0  # of the last terminal line, to blank a longer one

    def line(self, fraction: float, note: str = "", *, percent: bool = False) -> str:
        """Draw the text for ``fraction`` done (without newline or carriage return).

        ``percent=True`` shows ``42%`` and the note instead of ``done/total`` and the rate.
        """
        fraction = min(max(float(fraction), 0.0), 1.0)
        done = round(fraction * self.total)
        elapsed = self._clock() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        left = elapsed / fraction * (1.0 - fraction) if fraction > 0 else float("nan")
        filled = int(_WIDTH * fraction)
        eta = _clock(left) if left == left else "?"
        bar = f"[{'#' * filled}{'.' * (_WIDTH - filled)}]"
        times = f"{_clock(elapsed)} elapsed, {eta} left"
        if percent:
            return f"{bar} {100 * fraction:3.0f}%  {note}  {times}" if note else f"{bar}  {times}"
        text = f"{bar} {done}/{self.total} {self.label}  {rate:.1f} {self.label}/s  {times}"
        return f"{text}  {note}" if note else text

    def __call__(
        self, fraction: float, note: str = "", *, percent: bool = False, force: bool = False
    ) -> None:
        """Redraw the bar at ``fraction`` (0–1) done, with an optional ``note``.

        ``force`` draws now (after the initial delay) even between tenths or redraws, e.g.
        when a new stage of a job starts.
        """
        if self._done:
            return
        now = self._clock()
        finished = fraction >= 1.0
        if now - self.t0 < self.delay and not (finished and self._open):
            return
        if self.tty:
            if not finished and not force and now - self._last_draw < REDRAW_S:
                return
            text = self.line(fraction, note, percent=percent)
            self.stream.write("\r" + text.ljust(self._width) + ("\n" if finished else ""))
            self._width = len(text)
            self._open = not finished
        else:
            decile = int(min(fraction, 1.0) * 10)
            if decile <= self._last_decile and not finished and not force:
                return
            self._last_decile = decile
            self.stream.write(self.line(fraction, note, percent=percent) + "\n")
        self._last_draw = now
        self._done = finished
        self.stream.flush()

    def close(self) -> None:
        """End an unfinished terminal line so the next message starts on its own line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


class JobProgress:
    """One bar for a whole command-line job made of stages (load, align, fuse, write).

    ``[#########.....................] 31%  fusing: 40/300 slices  0:12 elapsed, 0:27 left``

    Each stage has a share of the bar (its expected share of the time). Within a stage the
    caller reports its fraction (:meth:`__call__`), or, for a step that reports nothing (a
    file being read), the bar is redrawn by a timer thread every :data:`REDRAW_S` while the
    step runs (:meth:`stage` as a context manager), so the elapsed time keeps moving.

    Parameters
    ----------
    stages : mapping of stage name -> share
        Shares are normalised to sum to 1; the order is the order of the job.
    stream, delay, clock
        As for :class:`TextProgress`, except that the default delay is 0 on a terminal: the
        bar starts at 0 % with the first stage, drawn in place (a log still gets nothing for
        a job shorter than :data:`DELAY_S`).
    """

    def __init__(
        self,
        stages: dict[str, float],
        stream: TextIO | None = None,
        *,
        delay: float | None = None,
        clock=time.perf_counter,
    ):
        total = sum(stages.values()) or 1.0
        self._start: dict[str, float] = {}
        self._share: dict[str, float] = {}
        at = 0.0
        for name, share in stages.items():
            self._start[name], self._share[name] = at, share / total
            at += share / total
        self._bar = TextProgress(100, "%", stream, delay=delay, clock=clock)
        if delay is None and self._bar.tty:
            # a terminal line is redrawn in place: start it at 0 % with the first stage
            # (loading), so the bar never appears part-way through the job
            self._bar.delay = 0.0
        self._stage = next(iter(stages), "")
        self._within = 0.0
        self._note = ""
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    @property
    def fraction(self) -> float:
        """Fraction of the whole job done, 0-1."""
        return self._start.get(self._stage, 0.0) + self._share.get(self._stage, 0.0) * self._within

    def line(self) -> str:
        """Return the bar's text now (for tests and logs)."""
        return self._bar.line(self.fraction, self._note, percent=True)

    def __call__(self, within: float, detail: str = "") -> None:
        """Redraw with the current stage ``within`` (0-1) done and an optional ``detail``."""
        with self._lock:
            self._within = min(max(float(within), 0.0), 1.0)
            self._note = f"{self._stage}: {detail}" if detail else self._stage
            self._bar(self.fraction, self._note, percent=True)

    def stage(self, name: str) -> _Stage:
        """Enter stage ``name`` (``with job.stage("loading CT"): ...`` ticks while it runs)."""
        if name not in self._start:
            raise KeyError(f"unknown stage {name!r}")
        with self._lock:
            self._stage, self._within, self._note = name, 0.0, name
            self._bar(self.fraction, name, percent=True, force=True)
        return _Stage(self)

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(REDRAW_S):
            with self._lock:
                self._bar(self.fraction, self._note, percent=True)

    def finish(self) -> None:
        """Draw the full bar and end its line."""
        with self._lock:
            self._stage = list(self._start)[-1]
            self._within = 1.0
            self._bar(1.0, "done", percent=True)
            self._bar.close()

    def close(self) -> None:
        """End an unfinished line (an error or an interrupt stopped the job)."""
        with self._lock:
            self._bar.close()


class _Stage:
    """Context of one :class:`JobProgress` stage: a timer redraws the bar while it runs."""

    def __init__(self, job: JobProgress):
        self.job = job
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=job._tick, args=(self.stop,), name="brainfuse-progress", daemon=True
        )

    def __enter__(self) -> JobProgress:
        self.thread.start()
        return self.job

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.job(1.0)
