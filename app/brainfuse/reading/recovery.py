"""Unsaved work kept safe: edits and measurements autosaved to a recovery file (no Qt).

While the edits or measurements change, :class:`Autosaver` writes them at most every
:data:`AUTOSAVE_INTERVAL_S` seconds (and at least that often while they keep changing, as
long as the caller's timer asks) to one recovery file per running BrainFuse, in the user's
data folder (:func:`recovery_folder`: ``recovery/`` under
:func:`brainfuse._runtime.userdirs.data_dir`). Each file holds the sources with their SHA-256
(as sessions record them), the fusion grid's shape and affine, the edit labels, the
measurements and, where known, the fusion settings and the session file the work belongs to.
Files are written atomically (a crash mid-write leaves the previous file whole).

A clean save or quit removes the file (:meth:`Autosaver.saved`, :func:`clear_recovery`). After a
crash the file stays: the next start asks :func:`pending_recovery` for the newest file left
by a process no longer running, offers to restore it, and checks its sources first
(:attr:`Recovery.problems`, the same check as sessions): nothing is applied onto a scan that
has changed.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from brainfuse import __version__
from brainfuse._runtime.userdirs import data_dir
from brainfuse.errors import GeometryMismatchError, UnreadableInputError
from brainfuse.model.image import ImageVolume
from brainfuse.reading.measure import Region, Ruler, from_dict
from brainfuse.reading.session import SourceRecord, check_source

__all__ = [
    "AUTOSAVE_INTERVAL_S",
    "Autosaver",
    "Recovery",
    "clear_recovery",
    "pending_recovery",
    "recovery_folder",
    "write_recovery",
]

#: Longest time (s) changed edits or measurements wait before they are autosaved.
AUTOSAVE_INTERVAL_S = 30.0
_SCHEMA = "brainfuse-recovery"
_PREFIX, _SUFFIX = "recovery-", ".npz"


def recovery_folder(folder: str | os.PathLike[str] | None = None) -> Path:
    """Where recovery files live: ``folder``, else ``recovery/`` in the user's data folder."""
    return Path(folder) if folder is not None else data_dir() / "recovery"


def _own_file(folder: Path) -> Path:
    return folder / f"{_PREFIX}{os.getpid()}{_SUFFIX}"


def _grid_record(grid: ImageVolume) -> dict[str, Any]:
    return {"shape": list(grid.shape), "affine": grid.affine.tolist()}


def write_recovery(
    sources: Mapping[str, SourceRecord],
    *,
    edits: np.ndarray | None,
    grid: ImageVolume | None,
    measurements: Iterable[Ruler | Region] = (),
    fusion: Mapping[str, Any] | None = None,
    session: str | os.PathLike[str] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> Path:
    """Write this process's recovery file atomically; returns its path.

    Parameters
    ----------
    sources : mapping of role to SourceRecord
        The pair's sources with their SHA-256 (hashed once when loaded, not at each save).
    edits : (Z, Y, X) uint8 ndarray or None
        Edit labels on ``grid`` (0 automatic, 1 CT, 2 MRI).
    grid : ImageVolume or None
        The fusion grid (needed with ``edits``).
    measurements : iterable of Ruler or Region
    fusion : mapping, optional
        The session's fusion record (:meth:`~brainfuse.reading.session_fusion.SessionFusion.record`).
    session : path, optional
        The session file the work was opened from or last saved to.
    folder : path, optional
        Default :func:`recovery_folder`.

    Raises
    ------
    ExportError
        The file could not be written.
    GeometryMismatchError
        Edits without a grid, or not on it.
    """
    from brainfuse.export.atomic import write_bytes_atomic

    if edits is not None and (grid is None or tuple(np.shape(edits)) != grid.shape):
        raise GeometryMismatchError("Edits to recover must lie on the fusion grid.")
    record = {
        "format": _SCHEMA,
        "version": 1,
        "software": f"BrainFuse {__version__}",
        "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "sources": {role: s.to_dict() for role, s in sources.items()},
        "grid": None if grid is None else _grid_record(grid),
        "measurements": [m.to_dict() for m in measurements],
        "fusion": dict(fusion or {}),
        "session": None if session is None else str(Path(session).resolve()),
    }
    arrays: dict[str, np.ndarray] = {
        "record": np.frombuffer(json.dumps(record).encode("utf-8"), np.uint8)
    }
    if edits is not None:
        arrays["edits"] = np.asarray(edits, np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    target = recovery_folder(folder)
    target.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(_own_file(target), buffer.getvalue(), overwrite=True)


def clear_recovery(folder: str | os.PathLike[str] | None = None) -> None:
    """Remove this process's recovery file (a clean save or quit); nothing if there is none."""
    _own_file(recovery_folder(folder)).unlink(missing_ok=True)


@dataclass
class Recovery:
    """Unsaved work found after a crash.

    Attributes
    ----------
    path : Path
        The recovery file (remove it with :meth:`discard` once restored or declined).
    saved : str
        When it was written (ISO 8601, UTC).
    sources : dict of role to SourceRecord
    measurements : list of Ruler or Region
    fusion : dict
        The fusion record, if the window gave one.
    session : str or None
        The session file the work belonged to.
    problems : list of str
        One line per source that is missing or has changed: then nothing may be applied.
    """

    path: Path
    saved: str
    sources: dict[str, SourceRecord]
    measurements: list[Ruler | Region]
    fusion: dict[str, Any]
    session: str | None
    problems: list[str] = field(default_factory=list)
    _edits: np.ndarray | None = None
    _grid: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when every source is there, unchanged."""
        return not self.problems

    @property
    def has_edits(self) -> bool:
        """True when the file holds any edited voxel."""
        return self._edits is not None and bool(self._edits.any())

    def describe(self) -> str:
        """One line for the offer to restore: what, from when, and any source problem."""
        n = len(self.measurements)
        what = "edits and " if self.has_edits else ""
        text = f"Unsaved {what}{n} measurement(s) from {self.saved}"
        if self.problems:
            text += " cannot be restored: " + "; ".join(self.problems)
        return text + "."

    def edits_on(self, grid: ImageVolume) -> np.ndarray | None:
        """Return the edit labels, on ``grid`` (the pair realigned as it was).

        Raises
        ------
        UnreadableInputError
            A source is missing or changed.
        GeometryMismatchError
            ``grid`` is not the grid the edits were made on.
        """
        if self.problems:
            raise UnreadableInputError(self.describe())
        if self._edits is None:
            return None
        saved = self._grid or {}
        if list(grid.shape) != list(saved.get("shape", [])) or not np.allclose(
            grid.affine, np.asarray(saved.get("affine")), atol=1e-4
        ):
            raise GeometryMismatchError(
                "The recovered edits were made on another grid; they are not applied."
            )
        return self._edits.copy()

    def discard(self) -> None:
        """Remove the recovery file (restored, or the user declined)."""
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # a Windows BrainFuse left its file: taken as ended
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> Recovery:
    with np.load(path, allow_pickle=False) as data:
        record = json.loads(bytes(data["record"]).decode("utf-8"))
        edits = np.asarray(data["edits"], np.uint8) if "edits" in data.files else None
    if record.get("format") != _SCHEMA:
        raise ValueError("not a BrainFuse recovery file")
    sources = {role: SourceRecord.from_dict(s) for role, s in record["sources"].items()}
    return Recovery(
        path=path,
        saved=str(record.get("saved", "")),
        sources=sources,
        measurements=[from_dict(m) for m in record.get("measurements") or []],
        fusion=dict(record.get("fusion") or {}),
        session=record.get("session"),
        problems=[msg for role, s in sources.items() if (msg := check_source(role, s))],
        _edits=edits,
        _grid=record.get("grid"),
    )


def pending_recovery(folder: str | os.PathLike[str] | None = None) -> Recovery | None:
    """Find the newest recovery file left by a BrainFuse that is no longer running.

    Files that cannot be read (cut by a crash of the disk, another version) are skipped.
    """
    where = recovery_folder(folder)
    if not where.is_dir():
        return None
    found = []
    for path in where.glob(f"{_PREFIX}*{_SUFFIX}"):
        pid_text = path.name[len(_PREFIX) : -len(_SUFFIX)]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            found.append((path.stat().st_mtime, _read(path)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            del exc  # unreadable: not offered
    return max(found, key=lambda item: item[0])[1] if found else None


class Autosaver:
    """When to write the recovery file: on change, at most every ``interval_s`` seconds.

    The window calls :meth:`changed` on every edit or measurement change (or connects it to
    :attr:`brainfuse.reading.tools.ReaderTools.unsaved_changed`) and :meth:`tick` from a timer
    (say every few seconds); a clean save or quit calls :meth:`saved`.

    Parameters
    ----------
    snapshot : callable returning a dict
        Keyword arguments of :func:`write_recovery` (``sources``, ``edits``, ``grid``,
        ``measurements``, ...) describing the work now.
    interval_s : float
    folder : path, optional
        Default :func:`recovery_folder`.
    clock : callable returning seconds
        Monotonic clock (tests pass their own).
    """

    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        *,
        interval_s: float = AUTOSAVE_INTERVAL_S,
        folder: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.snapshot = snapshot
        self.interval_s = float(interval_s)
        self.folder = folder
        self.clock = clock
        self.dirty = False
        self._last = -float("inf")  # when the file was last written

    def changed(self, *_: object) -> None:
        """Note a change of the edits or measurements (arguments ignored, for signals)."""
        self.dirty = True

    def due(self) -> bool:
        """Say whether there are changes and the interval since the last write has passed."""
        return self.dirty and self.clock() - self._last >= self.interval_s

    def tick(self) -> Path | None:
        """Write the recovery file when :meth:`due`; returns its path, or None."""
        if not self.due():
            return None
        return self.write_now()

    def write_now(self) -> Path:
        """Write the recovery file now (e.g. before a risky step)."""
        path = write_recovery(**{"folder": self.folder, **self.snapshot()})
        self._last = self.clock()
        self.dirty = False
        return path

    def saved(self) -> None:
        """Record that the work is saved (or discarded on purpose): no recovery file is kept."""
        self.dirty = False
        clear_recovery(self.folder)
