"""``brainfuse bench``: time our fuser and the baselines on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from brainfuse.benchmark import BENCH_METHODS, format_table, run_benchmark
from brainfuse.errors import ExportError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="time the fusion methods (ms per pair, slices/s per volume, peak memory)",
        description=(
            "Time our method and the baselines through the same Fuser on the demo pair: "
            "ms per 2-D pair at each size (median of --repeat runs after a warm-up, ratio to "
            "the Laplacian-pyramid baseline), slices/s for a 256x256 volume with our method, "
            "peak memory; prints a table and optionally writes JSON."
        ),
    )
    p.add_argument(
        "--size",
        type=int,
        nargs="+",
        default=[256, 512],
        metavar="N",
        help="square slice sizes in pixels (default: 256 512)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument(
        "--threads", type=int, default=2, metavar="N", help="torch CPU threads (default 2)"
    )
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="timed runs per measurement")
    p.add_argument(
        "--method",
        action="append",
        dest="methods",
        metavar="M",
        help=f"method to time, repeatable (default: {' '.join(BENCH_METHODS)})",
    )
    p.add_argument(
        "--volume-slices",
        type=int,
        default=180,
        metavar="N",
        help="slices of the 256x256 volume timed with cnn (0: skip; default 180)",
    )
    p.add_argument(
        "--rule",
        default=None,
        choices=("anatomy", "sesf"),
        help="rule of the cnn method (default anatomy, with the demo CT's bone prior)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if any(n < 16 for n in args.size) or args.repeat < 1 or args.threads < 1:
        print("brainfuse: error: --size must be ≥ 16, --repeat and --threads ≥ 1", file=sys.stderr)
        return 2
    from brainfuse.fusion import check_methods

    methods = check_methods(args.methods or list(BENCH_METHODS))
    report = run_benchmark(
        sizes=args.size,
        methods=methods,
        device=args.device,
        threads=args.threads,
        repeat=args.repeat,
        volume_slices=args.volume_slices,
        rule=args.rule,
        log=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
    )
    print(format_table(report))
    if args.json is not None:
        try:
            tmp = args.json.with_name(args.json.name + ".part")
            tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
            tmp.replace(args.json)
        except OSError as exc:
            raise ExportError(f"cannot write the benchmark JSON '{args.json}': {exc}") from exc
        print(f"JSON: {args.json}")
    return 0
