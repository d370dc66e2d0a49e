"""``brainfuse bench``: time our fuser and the baselines on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from brainfuse.bench.timing import BENCH_METHODS, format_table, run_benchmark
from brainfuse.cli.options import add_threads_option, positive_int
from brainfuse.errors import ExportError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse bench`` and its options to ``subparsers``."""
    p = subparsers.add_parser(
        "bench",
        help="time the fusion methods (ms per pair, slices/s per volume, peak memory)",
        description=(
            "Time our method and the baselines through the same Fuser on the demo pair: "
            "ms per 2-D pair at each size (min / median / max of --repeat runs after a warm-up, "
            "ratio to the Laplacian-pyramid baseline), the same beside --contention busy "
            "processes with the slowdown, slices/s for a 256x256 volume with our method, "
            "optionally a whole 'brainfuse fuse' of a large volume (--volume), peak memory and "
            "the load average; prints a table and optionally writes JSON."
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
    add_threads_option(p, default=2)
    p.add_argument(
        "--repeat", type=int, default=5, metavar="N", help="timed runs per measurement (default 5)"
    )
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
    p.add_argument(
        "--contention",
        type=int,
        default=0,
        metavar="N",
        help="after the quiet timings, time every pair again beside N busy processes and "
        "report the slowdown (default 0: no contention)",
    )
    p.add_argument(
        "--contention-threads",
        type=positive_int,
        default=1,
        metavar="T",
        help="threads of each busy process (1: a spin loop; more: a BLAS job; default 1)",
    )
    p.add_argument(
        "--volume",
        nargs="?",
        const="300x512x512",
        default=None,
        metavar="ZxYxX",
        help="also time 'brainfuse fuse' of the demo pair resampled to this size end to end "
        "(load, fuse, write NIfTI) in a child process, with its peak memory "
        "(default size 300x512x512; about a minute)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write JSON here")
    p.set_defaults(func=run)


def _shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        z, y, x = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ExportError(f"--volume expects ZxYxX such as 300x512x512, got '{text}'") from None
    if min(z, y, x) < 16:
        raise ExportError(f"--volume: every side must be ≥ 16, got '{text}'")
    return z, y, x


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse bench``; return the exit status (2 for bad sizes or counts)."""
    if any(n < 16 for n in args.size) or args.repeat < 1 or args.contention < 0:
        print(
            "brainfuse: error: --size must be ≥ 16, --repeat ≥ 1 and --contention ≥ 0",
            file=sys.stderr,
        )
        return 2
    end_to_end = _shape(args.volume)
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
        contention=args.contention,
        contention_threads=args.contention_threads,
        end_to_end=end_to_end,
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
