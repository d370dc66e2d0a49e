"""``DIR/batch.csv``: one row per item, what was done, with what, and how it ended (no Qt).

Columns: ``id``, ``status`` (``done`` / ``failed``), ``seconds`` (the item's wall time on its
worker), ``outputs`` (``NAME=SHA256`` of each file under ``DIR/ID``, ``;``-separated),
``settings`` (the fusion options as JSON), ``model_sha256``, ``inputs`` (fingerprint of the
input files, :func:`~brainfuse.batch.manifest.input_fingerprint`), ``error`` (one line for a
failure), ``device``, ``worker`` (host:pid), ``finished_utc``.

The file is rewritten whole, atomically (:func:`brainfuse.export.write_bytes_atomic`), at
most every :data:`SAVE_EVERY_S` and at the end, so a killed run leaves the previous complete
table, never a torn one; rows of items no longer in the manifest are kept. :meth:`Ledger.plan`
says which items a run must redo: an item is skipped only when its last row is ``done`` with
the same settings, model and input fingerprint, and its outputs are all still there.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from brainfuse.batch.manifest import Item
from brainfuse.errors import BrainFuseError

__all__ = ["COLUMNS", "LEDGER", "SAVE_EVERY_S", "Ledger", "locked"]

LEDGER = "batch.csv"
COLUMNS = (
    "id",
    "status",
    "seconds",
    "outputs",
    "settings",
    "model_sha256",
    "inputs",
    "error",
    "device",
    "worker",
    "finished_utc",
)
SAVE_EVERY_S = 1.0  #: least seconds between two rewrites of the table during a run


def _outputs_text(outputs: dict[str, str]) -> str:
    return ";".join(f"{name}={sha}" for name, sha in sorted(outputs.items()))


def _outputs_of(text: str) -> dict[str, str]:
    pairs = (part.rsplit("=", 1) for part in text.split(";") if "=" in part)
    return {name: sha for name, sha in pairs}


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold ``DIR/.batch.lock`` for the block: one batch at a time writes into ``DIR``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    fd = os.open(out_dir / ".batch.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise BrainFuseError(
                f"another brainfuse batch is writing into {out_dir}; wait for it to end"
            ) from exc
        yield
    finally:
        os.close(fd)


class Ledger:
    """The rows of ``DIR/batch.csv``, read at start, updated as items end.

    Parameters
    ----------
    out_dir : Path, the batch's output folder (it holds the table)
    """

    def __init__(self, out_dir: Path):
        self.path = out_dir / LEDGER
        self.rows: dict[str, dict[str, str]] = {}
        self._saved_at = 0.0
        self._dirty = False
        if self.path.is_file():
            try:
                with open(self.path, newline="", encoding="utf-8") as fh:
                    for row in csv.DictReader(fh):
                        if row.get("id"):
                            self.rows[row["id"]] = {c: row.get(c) or "" for c in COLUMNS}
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise BrainFuseError(f"cannot read {self.path}: {exc}") from exc

    def redo_reason(self, item: Item, settings: str, model: str, inputs: str) -> str | None:
        """Why ``item`` must be fused (``new``, ``failed before``, ...), or None to skip it."""
        row = self.rows.get(item.id)
        if row is None:
            return "new"
        if row["status"] != "done":
            return "failed before"
        if row["settings"] != settings:
            return "settings changed"
        if row["model_sha256"] != model:
            return "model changed"
        if row["inputs"] != inputs:
            return "inputs changed"
        folder = self.path.parent / item.id
        outputs = _outputs_of(row["outputs"])
        if not outputs or not all((folder / name).is_file() for name in outputs):
            return "outputs missing"
        return None

    def record(self, result: dict[str, Any], settings: str, inputs: str) -> None:
        """Store an item's result (a :func:`~brainfuse.batch.item.run_item` record)."""
        row = {c: "" for c in COLUMNS}
        row.update({k: str(v) for k, v in result.items() if k in COLUMNS and k != "outputs"})
        row["outputs"] = _outputs_text(result.get("outputs") or {})
        row["settings"], row["inputs"] = settings, inputs
        row["finished_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.rows[row["id"]] = row
        self._dirty = True
        if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        """Rewrite the table now (atomically) if anything changed since the last save."""
        if not self._dirty:
            return
        from brainfuse.export import write_bytes_atomic

        text = io.StringIO()
        writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows.values())
        write_bytes_atomic(self.path, text.getvalue().encode("utf-8"), overwrite=True)
        self._saved_at, self._dirty = time.monotonic(), False

    def counts(self, ids: list[str]) -> dict[str, int]:
        """How many of ``ids`` are ``done`` and ``failed`` in the table now."""
        statuses = [self.rows[i]["status"] for i in ids if i in self.rows]
        return {s: statuses.count(s) for s in ("done", "failed")}
