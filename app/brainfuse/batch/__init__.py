"""Fuse a cohort: ``brainfuse batch`` on Dask distributed (no Qt).

:mod:`~brainfuse.batch.manifest` reads what to fuse, :mod:`~brainfuse.batch.ledger` keeps
``DIR/batch.csv`` and decides what a rerun redoes, :mod:`~brainfuse.batch.item` is the task a
worker runs (``brainfuse fuse``'s path, :func:`brainfuse.pipeline.fuse_files.fuse_files`, with one
loaded model per worker), :mod:`~brainfuse.batch.cluster` sizes or joins the cluster and
:mod:`~brainfuse.batch.runner` submits the items and records them as they end.
"""

from brainfuse.batch.item import BatchSettings, run_item
from brainfuse.batch.ledger import Ledger
from brainfuse.batch.manifest import Item, read_manifest
from brainfuse.batch.runner import BatchSummary, plan, run_batch

__all__ = [
    "BatchSettings",
    "BatchSummary",
    "Item",
    "Ledger",
    "plan",
    "read_manifest",
    "run_batch",
    "run_item",
]
