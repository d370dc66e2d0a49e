"""Command-line options shared by several subcommands (one definition each)."""

from __future__ import annotations

import argparse

__all__ = ["add_threads_option", "positive_int"]


def positive_int(text: str) -> int:
    """Parse an integer ≥ 1 for argparse (``--threads 0`` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_threads_option(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """``--threads N``: CPU threads for the fusion network (default: chosen from free cores)."""
    chosen = "the cores free now (cores - load average + 1, at most 8)"
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=default,
        metavar="N",
        help=f"CPU threads for the network (default: {default if default else chosen})",
    )
