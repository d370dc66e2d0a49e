"""The ``brainfuse`` command: no arguments opens the window, subcommands do headless work.

Each subcommand lives in its own module exposing ``register(subparsers)`` (adds its parser
and sets ``func``) so the modules stay small.

Error boundary, two kinds of failure: the input's or the system's fault - a
:class:`~brainfuse.errors.BrainFuseError`, or any other failure of a decoder or library,
Rust panics included (see :func:`brainfuse.errors.as_user_error`) - becomes one line
``brainfuse: error: ...`` on stderr and exit status 2; a bug of BrainFuse
(:func:`brainfuse.errors.is_internal_error`) becomes one line ``brainfuse: internal error:
...; details in LOG, please report``, its traceback written to LOG in the user's state
folder, and exit status 1. A traceback is printed only with ``--debug``. Library warnings and
log records are shown only with ``--debug`` (:func:`brainfuse._runtime.quiet.library_output`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from brainfuse import __version__
from brainfuse._runtime.bugreport import report_internal_error
from brainfuse._runtime.quiet import library_output
from brainfuse._runtime.threads import prefer_passive_wait
from brainfuse.errors import BrainFuseError, as_user_error, is_internal_error
from brainfuse.io.budget import budget_override

__all__ = ["build_parser", "main"]

# Subcommand modules, in the order they appear in --help.
_SUBCOMMANDS = ("info", "fuse", "batch", "evaluate", "bench", "train", "pacs", "view")

EXIT_USAGE = 2  # bad input, or the system refused (disk full, no permission)
EXIT_BUG = 1  # an internal error: a bug of BrainFuse, with its log
# Verb of the error line when a command fails outside any file's own boundary.
_DOING = {
    "info": "read",
    "fuse": "fuse",
    "batch": "run the batch",
    "evaluate": "evaluate",
    "bench": "benchmark",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the ``brainfuse`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="brainfuse",
        description="Fuse brain CT and MRI. Without a subcommand, opens the BrainFuse window.",
    )
    parser.add_argument("--version", action="version", version=f"brainfuse {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print full tracebacks and debug logging"
    )
    parser.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="most memory one image may take to decode, e.g. 4G or 1500M (default: half of "
        "the available memory; same as BRAINFUSE_MEMORY_BUDGET)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(f"brainfuse.cli.{name}").register(subparsers)
    return parser


def open_window(argv_rest: Sequence[str] = (), **kwargs: Any) -> int:
    """Start the window, or raise one clear :class:`BrainFuseError` if this system cannot.

    Missing X11/xcb libraries on Linux are named with the ``apt-get`` command that installs
    them, before Qt is started (Qt itself would abort with a message naming no package).
    """
    try:  # Qt only when the window is asked for
        from brainfuse.gui.platform_check import check_window_platform, explain_qt_error
    except ImportError as exc:  # PySide6 itself cannot load a system library
        raise BrainFuseError(f"the window cannot start: {exc}") from exc
    check_window_platform()
    try:
        from brainfuse.gui import run_app
    except ImportError as exc:
        raise BrainFuseError(
            explain_qt_error(str(exc)) or f"the window cannot start: {exc}"
        ) from exc
    return run_app(list(argv_rest), **kwargs)


def _run(args: argparse.Namespace) -> int:
    with budget_override(args.memory_budget):
        if args.command is None:
            return open_window()
        return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brainfuse`` console script; returns the exit status.

    The command's one process setting is made here, first: OpenMP threads wait passively
    (:func:`brainfuse._runtime.threads.prefer_passive_wait`), which has to happen before
    torch loads its OpenMP runtime, and building the parser imports torch.
    """
    prefer_passive_wait()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    with library_output(args.debug):
        try:
            return _run(args)
        except KeyboardInterrupt:
            print("brainfuse: interrupted", file=sys.stderr)
            return 130
        except BaseException as exc:  # the boundary; SystemExit passes through as_user_error
            if args.debug:
                raise
            doing = _DOING.get(args.command or "", "run")
            if is_internal_error(exc):
                print(f"brainfuse: {report_internal_error(exc, doing=doing)}", file=sys.stderr)
                return EXIT_BUG
            error = as_user_error(exc, doing=doing)
            print(f"brainfuse: error: {' '.join(str(error).split())}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
