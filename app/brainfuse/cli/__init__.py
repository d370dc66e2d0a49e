"""The ``brainfuse`` command: no arguments opens the window, subcommands do headless work.

Each subcommand lives in its own module exposing ``register(subparsers)`` (adds its parser
and sets ``func``) so the modules stay small. A :class:`~brainfuse.errors.BrainFuseError`
becomes one line on stderr and exit status 2; a traceback is printed only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from brainfuse import __version__
from brainfuse.errors import BrainFuseError

__all__ = ["main", "build_parser"]

# Subcommand modules, in the order they appear in --help.
_SUBCOMMANDS = ("info", "fuse", "evaluate", "bench", "train", "view")

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainfuse",
        description="Fuse brain CT and MRI. Without a subcommand, opens the BrainFuse window.",
    )
    parser.add_argument("--version", action="version", version=f"brainfuse {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print full tracebacks and debug logging"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        importlib.import_module(f"brainfuse.cli.{name}").register(subparsers)
    return parser


def _open_window(argv_rest: Sequence[str] = ()) -> int:
    from brainfuse.gui import run_app  # Qt only when the window is asked for

    return run_app(list(argv_rest))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brainfuse`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="brainfuse: %(levelname)s: %(message)s",
    )
    try:
        if args.command is None:
            return _open_window()
        return int(args.func(args) or 0)
    except BrainFuseError as exc:
        if args.debug:
            raise
        print(f"brainfuse: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("brainfuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
