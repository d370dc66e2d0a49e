"""``brainfuse view [CT MRI] [--demo]``: open the window with a pair (or the demo pair)."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse view`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "view",
        help="open the window with a CT-MRI pair",
        description="Open the BrainFuse window, load the CT and the MRI, align and fuse them.",
    )
    parser.add_argument("ct", nargs="?", help="CT file or DICOM folder")
    parser.add_argument("mri", nargs="?", help="MRI file or DICOM folder")
    parser.add_argument(
        "--demo", action="store_true", help="open the built-in demo pair (templates)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse view``: open the window; return its exit status."""
    from brainfuse.cli import open_window
    from brainfuse.errors import BrainFuseError

    if args.mri is not None and args.ct is None:
        raise BrainFuseError("give both a CT and an MRI, or --demo")
    return open_window([], ct=args.ct, mri=args.mri, demo=args.demo)
