"""One batch item on a worker: ``brainfuse fuse`` of the pair into ``DIR/ID/``, all or nothing.

:func:`run_item` is the task a Dask worker runs. It fuses through
:func:`brainfuse.pipeline.fuse_files.fuse_files` (the path of ``brainfuse fuse``) with the
:class:`~brainfuse.fusion.Fuser` its process keeps loaded (:func:`worker_fuser`: one model per
worker, never reloaded per item), writes every output into a hidden temporary folder beside
``DIR/ID`` and renames it into place (:func:`brainfuse.export.folder_atomic`): a worker that
dies half-way leaves no ``DIR/ID``. ``DIR/ID/item.json`` records what was made from what.

A failure of the item (unreadable input, pair that cannot be aligned, ...) is returned as a
record with the error line, never raised, so that one bad item never stops the batch; only a
lost worker (killed, over its memory limit) makes the scheduler run the task again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brainfuse.batch.manifest import Item
from brainfuse.errors import BrainFuseError, as_user_error
from brainfuse.pipeline.fuse_files import FuseJob, fuse_files, make_fuser

if TYPE_CHECKING:
    from brainfuse.fusion import Fuser

__all__ = ["ITEM_RECORD", "BatchSettings", "run_item", "worker_fuser"]

#: The record of what an item folder holds, written last into the folder before its rename.
ITEM_RECORD = "item.json"
_SETTINGS = (
    "method",
    "rule",
    "ct_window",
    "mr_window",
    "slice",
    "register",
    "reference",
    "format",
    "overlay",
    "anonymize",
)


@dataclass(frozen=True)
class BatchSettings:
    """The options every item of a batch is fused with.

    Attributes
    ----------
    job : FuseJob
        ``brainfuse fuse``'s options (inputs and outputs empty: each item fills them).
    decision_map : bool, also write ``decision_map.png`` / ``.nii.gz`` per item
    save_transform : bool, also write ``transform.tfm`` (the registration) per item
    """

    job: FuseJob
    decision_map: bool = False
    save_transform: bool = False

    def record(self) -> dict[str, Any]:
        """Return the settings that decide an item's outputs (the device and threads do not)."""
        fields = {name: getattr(self.job, name) for name in _SETTINGS}
        return {**fields, "decision_map": self.decision_map, "save_transform": self.save_transform}

    def text(self) -> str:
        """:meth:`record` as compact JSON with sorted keys (``batch.csv``'s settings column)."""
        return json.dumps(self.record(), sort_keys=True, separators=(",", ":"))

    def output_names(self, item: Item) -> tuple[str, str | None, str | None]:
        """Names of the fused output, the decision map and the transform inside ``DIR/ID``.

        Without ``--format``, two plain images (PNG, TIFF, JPEG) give ``fused.png`` and
        anything else (NIfTI, DICOM) ``fused.nii.gz``; DICOM output is the folder ``fused``.
        """
        fmt = self.job.format or ("png" if item.plain_images else "nifti")
        fused = {"png": "fused.png", "nifti": "fused.nii.gz", "dicom": "fused"}[fmt]
        dm = (
            ("decision_map.png" if fmt == "png" else "decision_map.nii.gz")
            if self.decision_map
            else None
        )
        return fused, dm, "transform.tfm" if self.save_transform else None


_fusers: dict[tuple, Fuser] = {}
_fusers_lock = threading.Lock()


def worker_fuser(job: FuseJob) -> Fuser:
    """Return the fuser for ``job``'s method, rule, device and threads, made once per process."""
    key = (job.method, job.rule, job.device, job.threads)
    with _fusers_lock:
        if key not in _fusers:
            from brainfuse._runtime.heap import one_malloc_arena

            one_malloc_arena()  # before the fuser's threads allocate: freed volumes go back
            _fusers[key] = make_fuser(job)
        return _fusers[key]


def _set_aside(target: Path) -> Path | None:
    """Move a previous ``DIR/ID`` written by a batch out of the way (None when there is none).

    A folder without :data:`ITEM_RECORD` was not written by ``brainfuse batch`` and is
    never touched.
    """
    if not (target.exists() or target.is_symlink()):
        return None
    if not (target.is_dir() and (target / ITEM_RECORD).is_file()):
        raise BrainFuseError(
            f"{target} exists and was not written by brainfuse batch; move it away or "
            "choose another output folder"
        )
    aside = target.parent / f".{target.name}.{os.getpid()}.{time.monotonic_ns()}.old"
    os.replace(target, aside)
    return aside


def _fuse_into(item: Item, settings: BatchSettings, target: Path, fuser: Fuser) -> dict[str, str]:
    """Write the item's folder; a previous one is replaced only when the new one is whole."""
    aside = _set_aside(target)
    try:
        outputs = _write(item, settings, target, fuser)
    except BaseException:
        if aside is not None and not target.exists():  # the previous outputs stay, whole
            os.replace(aside, target)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return outputs


def _write(item: Item, settings: BatchSettings, target: Path, fuser: Fuser) -> dict[str, str]:
    from brainfuse.export import folder_atomic
    from brainfuse.fusion.weights import sha256_of

    fused, dm, tfm = settings.output_names(item)
    with folder_atomic(target, sources=item.inputs) as tmp:
        job = dataclasses.replace(
            settings.job,
            ct=item.ct,
            mri=item.mri,
            edits=item.edits,
            transform=item.transform,
            output=str(tmp / fused),
            decision_map=str(tmp / dm) if dm else None,
            save_transform=str(tmp / tfm) if tfm else None,
            overwrite=False,
        )
        outcome = fuse_files(job, fuser=fuser)
        outputs = {
            str(Path(p).resolve().relative_to(tmp.resolve())): sha256_of(Path(p))
            for p in outcome.written
        }
        record: dict[str, Any] = {"id": item.id, "inputs": item.inputs}
        record["settings"] = settings.record()
        record |= {"model_sha256": fuser.model_sha256, "outputs": outputs}
        (tmp / ITEM_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return outputs


def run_item(item: Item, settings: BatchSettings, out_dir: str) -> dict[str, Any]:
    """Fuse ``item`` into ``out_dir/ID``; return its record (never raises for a bad item).

    Returns
    -------
    dict
        ``id``, ``status`` (``done`` or ``failed``), ``seconds``, ``outputs`` (name relative
        to ``DIR/ID`` -> SHA-256), ``model_sha256``, ``device``, ``worker`` (host:pid),
        ``error`` (one line, empty when done).
    """
    from brainfuse._runtime.heap import return_free_memory

    t0 = time.perf_counter()
    row: dict[str, Any] = {"id": item.id, "outputs": {}, "model_sha256": "", "device": ""}
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    try:
        fuser = worker_fuser(settings.job)
        row["model_sha256"], row["device"] = fuser.model_sha256 or "", fuser.device
        row["outputs"] = _fuse_into(item, settings, Path(out_dir) / item.id, fuser)
        row["status"], row["error"] = "done", ""
    except BaseException as exc:  # the item's boundary: one line, the batch goes on
        error = as_user_error(exc, doing="fuse")  # re-raises KeyboardInterrupt, SystemExit
        row["status"], row["error"] = "failed", " ".join(str(error).split())
    finally:
        return_free_memory()
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row
