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
    p.add_argument(
        "--volume-mri",
        default="uint8",
        choices=("uint8", "int16"),
        help="how the --volume (and --first-slice) pair's MRI is stored: uint8 as shipped, "
        "or int16 like a 12-bit scanner's MRI (twice the bytes; default uint8)",
    )
    p.add_argument(
        "--first-slice",
        nargs="?",
        const="300x512x512",
        default=None,
        metavar="ZxYxX",
        help="instead of the timings above, time the window (hidden) from opening a pair to "
        "its first fused slice drawn, --repeat times each (fresh window, median printed): "
        "the demo pair and the demo resampled to this size (default 300x512x512)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write JSON here")
    p.set_defaults(func=run)


def _shape(text: str | None, option: str = "--volume") -> tuple[int, int, int] | None:
    if text is None:
        return None
    try:
        z, y, x = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ExportError(f"{option} expects ZxYxX such as 300x512x512, got '{text}'") from None
    if min(z, y, x) < 16:
        raise ExportError(f"{option}: every side must be ≥ 16, got '{text}'")
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
    if args.first_slice is not None:
        report = _first_slice(args)
        _write_json(args.json, report)
        return 0
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
        volume_mri=args.volume_mri,
        log=_log,
    )
    print(format_table(report))
    _write_json(args.json, report)
    return 0


def _log(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def _first_slice(args: argparse.Namespace) -> dict:
    """Time open -> first fused slice in the window for the demo and a large series."""
    import os

    from brainfuse._runtime.resources import demo_dir
    from brainfuse.bench.endtoend import volume_pair
    from brainfuse.cli.first_slice import time_first_slice

    shape = _shape(args.first_slice, "--first-slice")
    assert shape is not None  # the option's value, or its default
    folder = demo_dir()
    pairs = {
        "demo pair": (folder / "demo_ct.nii.gz", folder / "demo_mri.nii.gz"),
        f"{'x'.join(map(str, shape))} series ({args.volume_mri} MRI)": volume_pair(
            shape, mri_dtype=args.volume_mri
        ),
    }
    load_before = os.getloadavg()
    rows = time_first_slice(pairs, repeat=args.repeat, log=_log)
    load_after = os.getloadavg()
    print(
        f"time from opening a pair to its first fused slice drawn (hidden window, fresh each "
        f"run; load {load_before[0]:.2f} before, {load_after[0]:.2f} after)"
    )
    for r in rows:
        print(
            f"  {r['name']}: median {r['s_median']:.2f} s of {len(r['s_runs'])} "
            f"(min {r['s_min']:.2f}, max {r['s_max']:.2f})"
        )
    return {"first_slice": rows, "load_before": load_before, "load_after": load_after}


def _write_json(path: Path | None, report: dict) -> None:
    if path is None:
        return
    try:
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(report, indent=2), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ExportError(f"cannot write the benchmark JSON '{path}': {exc}") from exc
    print(f"JSON: {path}")
