"""Run a batch on a Dask client: plan, submit, record, report (no Qt).

:func:`plan` decides from ``DIR/batch.csv`` which items must be fused and why
(:meth:`~brainfuse.batch.ledger.Ledger.redo_reason`); :func:`run_batch` submits each of them
as one task (:func:`~brainfuse.batch.item.run_item`), records every result as it arrives and
draws one progress bar over the items. The scheduler runs a task again when the worker running
it is lost (up to its ``allowed-failures``, 3 by default); after that the item is recorded as
failed with the reason. Leftover temporary folders of killed workers are removed before and
after the run, so ``DIR`` holds only whole item folders.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainfuse.batch.item import BatchSettings, run_item
from brainfuse.batch.ledger import Ledger
from brainfuse.batch.manifest import Item, input_fingerprint
from brainfuse.errors import BrainFuseError, as_user_error

__all__ = ["BatchSummary", "Planned", "plan", "remove_leftovers", "run_batch"]


@dataclass(frozen=True)
class Planned:
    """One item of the manifest and what this run does with it.

    Attributes
    ----------
    item : Item
    inputs : str, the inputs' fingerprint
    reason : str or None, why it is fused (``new``, ``failed before``, ...); None: skipped
    """

    item: Item
    inputs: str
    reason: str | None


@dataclass
class BatchSummary:
    """How a run ended: the IDs done, failed (with their error line) and skipped."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """0 when every item is done (now or before), 2 when any failed."""
        return 2 if self.failed else 0


def model_sha256(settings: BatchSettings) -> str:
    """SHA-256 of the weights the ``cnn`` method loads ('' for the baselines)."""
    if settings.job.method != "cnn":
        return ""
    from brainfuse.fusion.weights import sha256_of, shipped_weights_path

    return sha256_of(shipped_weights_path())


def plan(items: list[Item], settings: BatchSettings, ledger: Ledger) -> list[Planned]:
    """Each item with its fingerprint and the reason it is fused (None: done before)."""
    text, model = settings.text(), model_sha256(settings)
    out = []
    for item in items:
        inputs = input_fingerprint(item)
        out.append(Planned(item, inputs, ledger.redo_reason(item, text, model, inputs)))
    return out


def remove_leftovers(out_dir: Path, ids: list[str]) -> int:
    """Delete the hidden temporary folders of unfinished writes of ``ids``; return how many.

    They are named ``.ID.<token>.part`` (a write that did not end) or ``.ID.<token>.old`` (a
    previous output being replaced), by :mod:`brainfuse.export.atomic` and
    :mod:`brainfuse.batch.item`; nothing else is touched.
    """
    wanted = set(ids)
    token = re.compile(r"\.[0-9a-f.]+\.(part|old)")
    removed = 0
    for entry in out_dir.iterdir():
        name = entry.name
        cuts = [i for i, c in enumerate(name) if c == "." and i > 1] if name[:1] == "." else []
        ours = any(name[1:i] in wanted and token.fullmatch(name[i:]) for i in cuts)
        if ours and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _lost(exc: BaseException, item: Item) -> str:
    """Return the error line of a task that did not return a record."""
    if type(exc).__name__ == "KilledWorker":
        return (
            f"the worker fusing {item.id} was lost each time it was tried (killed, or over "
            "its memory limit)"
        )
    return " ".join(str(as_user_error(exc, doing="fuse")).split())


def run_batch(
    planned: list[Planned],
    settings: BatchSettings,
    out_dir: Path,
    ledger: Ledger,
    client: Any,
    progress: Callable[[float, str], None] | None = None,
) -> BatchSummary:
    """Fuse the planned items on ``client``'s cluster and record each in ``ledger``.

    Parameters
    ----------
    planned : list of Planned, from :func:`plan`
    settings : BatchSettings
    out_dir : Path, the batch's output folder
    ledger : Ledger, ``out_dir/batch.csv`` (saved at the end, and as items end)
    client : distributed.Client
    progress : callable(fraction, note) or None

    Returns
    -------
    BatchSummary

    Raises
    ------
    BrainFuseError
        The scheduler was lost (the items recorded so far are saved).
    """
    from distributed import as_completed

    summary = BatchSummary(skipped=[p.item.id for p in planned if p.reason is None])
    todo = [p for p in planned if p.reason is not None]
    remove_leftovers(out_dir, [p.item.id for p in todo])
    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            run_item, p.item, settings, str(out_dir), key=f"fuse-{p.item.id}-{run}", pure=False
        ): p
        for p in todo
    }
    text = settings.text()
    try:
        for n, future in enumerate(as_completed(futures), start=1):
            p = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the task itself was lost, not the item's own failure
                row = {"id": p.item.id, "status": "failed", "error": _lost(exc, p.item)}
            ledger.record(row, text, p.inputs)
            if row["status"] == "done":
                summary.done.append(p.item.id)
            else:
                summary.failed[p.item.id] = row.get("error", "")
            if progress is not None:
                failed = len(summary.failed)
                progress(n / max(len(todo), 1), f"{failed} failed" if failed else "")
    except OSError as exc:  # the connection to the scheduler
        raise BrainFuseError(f"lost the Dask scheduler: {exc}") from exc
    finally:
        ledger.save()
    remove_leftovers(out_dir, [p.item.id for p in todo])  # every task has ended
    return summary
