"""``brainfuse evaluate``: fuse and score every pair of a folder with each method."""

from __future__ import annotations

import argparse
import sys

from brainfuse._runtime.progress import TextProgress
from brainfuse.bench.evaluation import DEFAULT_METHODS, evaluate
from brainfuse.cli.options import add_threads_option
from brainfuse.fusion.settings import RULES

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse evaluate`` and its options to ``subparsers``."""
    p = subparsers.add_parser(
        "evaluate",
        help="fuse every image pair of a folder with each method and score the results",
        description=(
            "Fuse every pair <id>_<mod1>.png + <id>_<mod2>.png of PAIRS_DIR (ct/mri, pet/mri, "
            "spect/mri, mr1/mr2) with each method and write OUT/<method>/<id>.png, "
            "OUT/<method>/<id>_dm.png, OUT/metrics.csv (one row per pair and method, written as "
            "it goes), OUT/summary.md (mean ± sd, best in bold) and OUT/grid.png. An existing "
            "OUT/metrics.csv is replaced."
        ),
    )
    p.add_argument("pairs_dir", metavar="PAIRS_DIR", help="folder of registered PNG pairs")
    p.add_argument("--out", required=True, metavar="OUT", help="output folder (created)")
    p.add_argument(
        "--method",
        action="append",
        dest="methods",
        metavar="M",
        help=f"fusion method, repeatable (default: {' '.join(DEFAULT_METHODS)})",
    )
    p.add_argument(
        "--rule",
        action="append",
        dest="rules",
        choices=RULES,
        help="rule of the cnn method, repeatable: several give one cnn-<rule> column each "
        "(default anatomy; it needs a CT, other pairs run sesf)",
    )
    p.add_argument(
        "--grid", type=int, default=6, metavar="N", help="pairs shown in grid.png (0: none)"
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use the first N pairs")
    p.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="fusion device"
    )
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse evaluate``; return the exit status (130 when interrupted)."""
    from brainfuse.fusion import check_methods

    methods = check_methods(args.methods or list(DEFAULT_METHODS))
    from brainfuse.bench.evaluation import discover_pairs

    total = len(discover_pairs(args.pairs_dir))
    if args.limit is not None:
        total = min(total, max(args.limit, 0))
    bar = TextProgress(total, "pairs")
    try:
        result = evaluate(
            args.pairs_dir,
            args.out,
            methods=methods,
            limit=args.limit,
            grid=args.grid,
            device=args.device,
            rules=args.rules,
            threads=args.threads,
            progress=bar,
        )
    except KeyboardInterrupt:
        bar.close()
        print(
            f"\nbrainfuse: interrupted; finished pairs are in {args.out}/metrics.csv and "
            f"{args.out}/summary.md",
            file=sys.stderr,
        )
        return 130
    print(
        f"{result.pairs_done} pairs × {len(result.methods)} methods → {result.out}/metrics.csv, "
        f"summary.md" + (", grid.png" if args.grid > 0 else "")
    )
    return 0
