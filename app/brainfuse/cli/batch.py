"""``brainfuse batch MANIFEST --out DIR``: fuse a whole cohort, on a Dask cluster.

MANIFEST is a CSV file with the columns id,ct,mri (optionally edits, and transform: a
saved .tfm that aligns the pair), paths relative to the file, or a folder with one
sub-folder per item: ID/ct/ and ID/mri/ (a DICOM series, or one NIfTI/PNG file each). Every item is fused as `brainfuse fuse` would, with the same
options, into DIR/ID/ (written whole or not at all): fused.png for two plain images,
fused.nii.gz otherwise (--format chooses), with item.json saying what was made from what.

DIR/batch.csv records each item (status, seconds, outputs with SHA-256, settings, model
SHA-256, the error line of a failure). Running the same command again skips the items done
with the same settings and inputs and redoes the rest. Exit status 0 when every item is
done, 2 when any failed.

By default a local Dask cluster sized to this machine runs the items (one worker process
per core as memory allows, each with one loaded model and cores/workers threads, unless
--workers and --threads say otherwise); --scheduler ADDRESS uses an existing cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brainfuse.cli.options import add_fusion_options, positive_int
from brainfuse.errors import BrainFuseError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse batch`` and its options to ``subparsers``."""
    p = subparsers.add_parser(
        "batch",
        help="fuse every pair of a manifest (CSV or folder) on a Dask cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "manifest", help="CSV (id,ct,mri[,edits][,transform]) or folder of ID/ct, ID/mri"
    )
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use this Dask scheduler (tcp://host:8786) instead of a local cluster",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core, as memory allows)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be done, do nothing")
    p.add_argument(
        "--decision-map", action="store_true", help="also write each item's decision map"
    )
    p.add_argument(
        "--save-transform",
        action="store_true",
        help="also write each item's registration transform (transform.tfm)",
    )
    add_fusion_options(p)
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace):
    from brainfuse.batch.item import BatchSettings
    from brainfuse.pipeline.fuse_files import FuseJob

    job = FuseJob.from_args(argparse.Namespace(**{
        k: v for k, v in vars(args).items() if k not in ("decision_map", "save_transform")
    }))  # fmt: skip
    return BatchSettings(job, decision_map=args.decision_map, save_transform=args.save_transform)


def _dry_run(planned) -> int:
    for p in planned:
        print(f"{'fuse' if p.reason else 'skip'} {p.item.id}: {p.reason or 'done before'}")
    todo = sum(p.reason is not None for p in planned)
    print(f"would fuse {todo} of {len(planned)} items ({len(planned) - todo} done before)")
    return 0


def _report(summary, out: Path) -> int:
    for item_id, error in summary.failed.items():
        print(f"failed: {item_id}: {error}", file=sys.stderr)
    print(
        f"batch: {len(summary.done)} done, {len(summary.failed)} failed, "
        f"{len(summary.skipped)} skipped (done before); see {out / 'batch.csv'}"
    )
    return summary.exit_status


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse batch``; return the exit status (0 all done, 2 any failed)."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:  # the desktop bundle leaves Dask out
        raise BrainFuseError(
            "brainfuse batch needs Dask distributed, which this installation does not have "
            "(the desktop bundle leaves it out): run it from a Python install of BrainFuse"
        )
    from brainfuse.batch.cluster import quiet_dask

    quiet_dask(bool(getattr(args, "debug", False)))
    from brainfuse._runtime.progress import TextProgress
    from brainfuse.batch.cluster import connect, local_size
    from brainfuse.batch.ledger import Ledger, locked
    from brainfuse.batch.manifest import read_manifest
    from brainfuse.batch.runner import plan, run_batch

    items = read_manifest(args.manifest)
    settings = _settings(args)
    out = Path(args.out)
    if args.dry_run:
        return _dry_run(plan(items, settings, Ledger(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BrainFuseError(f"cannot create the output folder {out}: {exc}") from exc
    with locked(out):
        ledger = Ledger(out)
        planned = plan(items, settings, ledger)
        todo = sum(p.reason is not None for p in planned)
        print(f"{len(items)} items: {todo} to fuse, {len(items) - todo} done before")
        if not todo:
            return _report(run_batch(planned, settings, out, ledger, None), out)
        size = local_size(args.workers, args.threads)
        if args.threads is None and not args.scheduler:  # the cluster's share of the cores
            settings = _settings(argparse.Namespace(**{**vars(args), "threads": size.threads}))
        with connect(args.scheduler, size) as (client, where):
            print(f"running on {where}")
            print(f"dashboard: {client.dashboard_link}")
            bar = TextProgress(todo, "items")
            try:
                summary = run_batch(planned, settings, out, ledger, client, bar)
            finally:
                bar.close()
    return _report(summary, out)
