"""A bug of BrainFuse reported as one: a line that says so, the traceback in a log file.

The entry points (the command's ``main``, the window's workers) call
:func:`report_internal_error` when :func:`brainfuse.errors.is_internal_error` says a failure
is not the input's fault. The traceback goes to ``<state folder>/logs/`` (see
:func:`brainfuse._runtime.userdirs.state_dir`), with the versions a report needs, and the
user reads one line: ``internal error: <type>: <what>; details in <log>, please report``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from pathlib import Path

from brainfuse import __version__
from brainfuse._runtime.userdirs import state_dir
from brainfuse.errors import InternalError

__all__ = ["log_folder", "report_internal_error"]


def log_folder() -> Path:
    """Return the folder of the internal-error logs (``<state folder>/logs``)."""
    return state_dir() / "logs"


def _details(exc: BaseException, doing: str) -> str:
    head = [
        f"BrainFuse {__version__}, Python {platform.python_version()}, {platform.platform()}",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"command: {' '.join(sys.argv)}",
    ]
    if doing:
        head.append(f"while: {doing}")
    return "\n".join(head) + "\n\n" + "".join(traceback.format_exception(exc))


def report_internal_error(exc: BaseException, *, doing: str = "") -> InternalError:
    """Write ``exc``'s traceback to a new log file and return the error to show for it.

    Parameters
    ----------
    exc : BaseException
        The bug caught at an entry point (returned unchanged if it is an InternalError).
    doing : str
        What was being done (``"fuse"``, ``"export"``), written in the log.

    Returns
    -------
    InternalError
        One line for the user, with ``log`` (None when no log could be written: the line
        then says to run again with ``--debug``) and ``details`` (the log's text); raise it
        ``from exc``.
    """
    if isinstance(exc, InternalError):
        return exc
    details = _details(exc, doing)
    what = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    # one file per process and second; a second report of the same second is appended
    path = log_folder() / f"brainfuse-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    log: Path | None = path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(details + "\n")
    except OSError:
        log = None
    where = f"details in {log}" if log else "run it again with --debug for details"
    error = InternalError(
        f"internal error: {what}; {where}, please report", log=log, details=details
    )
    error.__cause__ = exc
    return error
