"""A one-line text progress bar on stderr for long command-line jobs (no Qt, no torch).

``[##########....................] 100/300 slices  21.4 slices/s  0:04 elapsed, 0:09 left``

Used by ``brainfuse fuse`` (volumes), ``brainfuse evaluate`` and ``brainfuse train``. Nothing
is shown for a job that ends within :data:`DELAY_S`; after that the line is redrawn in place
(carriage return) at most every :data:`REDRAW_S` when the stream is a terminal, and otherwise
one line is printed at every tenth of the job, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["DELAY_S", "REDRAW_S", "TextProgress"]

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

    def line(self, fraction: float, note: str = "") -> str:
        """Draw the text for ``fraction`` done (without newline or carriage return)."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        done = round(fraction * self.total)
        elapsed = self._clock() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        left = elapsed / fraction * (1.0 - fraction) if fraction > 0 else float("nan")
        filled = int(_WIDTH * fraction)
        eta = _clock(left) if left == left else "?"
        text = (
            f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{self.total} {self.label}"
            f"  {rate:.1f} {self.label}/s  {_clock(elapsed)} elapsed, {eta} left"
        )
        return f"{text}  {note}" if note else text

    def __call__(self, fraction: float, note: str = "") -> None:
        """Redraw the bar at ``fraction`` (0–1) done, with an optional ``note``."""
        if self._done:
            return
        now = self._clock()
        finished = fraction >= 1.0
        if now - self.t0 < self.delay and not (finished and self._open):
            return
        if self.tty:
            if not finished and now - self._last_draw < REDRAW_S:
                return
            self.stream.write("\r" + self.line(fraction, note) + ("\n" if finished else ""))
            self._open = not finished
        else:
            decile = int(min(fraction, 1.0) * 10)
            if decile <= self._last_decile and not finished:
                return
            self._last_decile = decile
            self.stream.write(self.line(fraction, note) + "\n")
        self._last_draw = now
        self._done = finished
        self.stream.flush()

    def close(self) -> None:
        """End an unfinished terminal line so the next message starts on its own line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
