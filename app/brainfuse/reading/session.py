"""Save and reopen a reading session: ``NAME.brainfuse`` (JSON) with its side files (no Qt).

A session records what is needed to come back to the same view of the same scans:

* the source paths with their SHA-256 (a file's bytes; for a folder, every file below it,
  or the files of the chosen series), so that a changed or replaced scan is detected;
* the accepted registration (``NAME.tfm``, ITK text through
  :func:`brainfuse.grid.save_transform`, plus its six rigid parameters in the JSON for
  people to read);
* windows, fusion rule and settings, plane, slice and crosshair, overlay settings (plain
  JSON objects whose keys the window chooses, documented on :class:`Session`);
* the decision-map edits (``NAME.edits.nii.gz``, :func:`brainfuse.reading.edit_apply.save_edits`);
* the measurements (:mod:`brainfuse.reading.measure`).

:func:`open_session` reads the JSON, checks the schema version and every source's hash, and
returns an :class:`OpenedSession` whose ``problems`` name each source that is missing or has
changed. Its loaders (:meth:`~OpenedSession.load_sources`, ``load_transform``,
``load_edits``) refuse with :class:`SessionSourceError` while there is any problem, so nothing
saved for one scan is applied onto another.

Recent sessions are kept in ``recent_sessions.json`` in the user's configuration folder
(:func:`config_dir`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from brainfuse import __version__
from brainfuse._runtime.userdirs import config_dir
from brainfuse.errors import BrainFuseError, ExportError, UnreadableInputError
from brainfuse.model.image import ImageVolume
from brainfuse.reading.measure import Region, Ruler, from_dict
from brainfuse.reading.session_sources import SourceRecord, check_source, source_sha256

__all__ = [
    "MAX_RECENT",
    "SCHEMA",
    "SUFFIX",
    "VERSION",
    "OpenedSession",
    "Session",
    "SessionSourceError",
    "SourceRecord",
    "add_recent_session",
    "check_source",
    "config_dir",
    "open_session",
    "recent_sessions",
    "rigid_parameters",
    "save_session",
    "source_sha256",
]

SCHEMA = "brainfuse-session"
#: Version of the JSON layout written by :func:`save_session`.
VERSION = 1
SUFFIX = ".brainfuse"
MAX_RECENT = 10


class SessionSourceError(BrainFuseError):
    """A session's source is missing or has changed: nothing of it is applied."""


@dataclass
class Session:
    """What a session restores.

    Attributes
    ----------
    sources : dict
        Role (``"ct"``, ``"mri"``) to :class:`SourceRecord`.
    registration : dict
        ``mode`` (``auto``/``geometry``/``rigid``/``none``), ``reference`` (``mri``/``ct``).
    windows : dict
        E.g. ``{"ct": {"center": 40, "width": 80, "preset": "brain"}, "mri": None}``
        (``None`` = automatic), in each source's units.
    fusion : dict
        Method, device, rule, every setting and the brush
        (:meth:`brainfuse.reading.session_fusion.SessionFusion.record`); older sessions hold
        ``{"method": "cnn", "device": "auto"}`` only and still open
        (:meth:`~brainfuse.reading.session_fusion.SessionFusion.from_session`).
    view : dict
        E.g. ``{"plane": "axial", "slice": 61, "cursor_mm": [x, y, z], "layout": "four"}``.
    overlay : dict
        E.g. ``{"visible": True, "opacity": 0.4, "colormap": "viridis", "soft": False}``.
    measurements : list of Ruler or Region
    transform : SimpleITK.Transform or None
        The accepted registration transform (reference-grid points to moving points).
    edits : (Z, Y, X) uint8 ndarray or None
        Decision-map edits on the fusion grid (see :mod:`brainfuse.reading.edits`).
    """

    sources: dict[str, SourceRecord]
    registration: dict[str, Any] = field(default_factory=dict)
    windows: dict[str, Any] = field(default_factory=dict)
    fusion: dict[str, Any] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)
    overlay: dict[str, Any] = field(default_factory=dict)
    measurements: list[Ruler | Region] = field(default_factory=list)
    transform: Any = None
    edits: np.ndarray | None = None


def rigid_parameters(transform: Any) -> dict[str, list[float]] | None:
    """Return the six rigid parameters of a transform, for people: degrees and mm.

    Returns
    -------
    dict or None
        ``{"rotation_deg": [x, y, z], "translation_mm": [x, y, z], "center_mm": [x, y, z]}``
        for a 3-D Euler (or versor) rigid transform; ``None`` for other kinds.
    """
    if transform is None:
        return None
    import SimpleITK

    try:
        euler = SimpleITK.Euler3DTransform()
        euler.SetCenter(transform.GetCenter())
        euler.SetMatrix(transform.GetMatrix())
        euler.SetTranslation(transform.GetTranslation())
    except (AttributeError, RuntimeError, TypeError):
        return None
    return {
        "rotation_deg": [
            math.degrees(a) for a in (euler.GetAngleX(), euler.GetAngleY(), euler.GetAngleZ())
        ],
        "translation_mm": list(euler.GetTranslation()),
        "center_mm": list(euler.GetCenter()),
    }


def _side_paths(path: Path) -> tuple[Path, Path]:
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    return path.with_name(stem + ".tfm"), path.with_name(stem + ".edits.nii.gz")


def save_session(
    path: str | os.PathLike[str],
    session: Session,
    *,
    grid: ImageVolume | None = None,
    overwrite: bool = True,
) -> list[Path]:
    """Write ``NAME.brainfuse`` and the files it needs beside it.

    ``NAME.tfm`` and ``NAME.edits.nii.gz`` are written where there is something to keep; each
    file is written atomically.

    Parameters
    ----------
    path : path
        Session file, ending in ``.brainfuse``.
    session : Session
    grid : ImageVolume, optional
        The fusion grid; needed when ``session.edits`` holds any edit.
    overwrite : bool
        Replace existing files (default: yes, as "Save" does).

    Returns
    -------
    list of Path
        The files written, the session file first.

    Raises
    ------
    ExportError
        Wrong suffix or a file could not be written.
    BrainFuseError
        Edits without a grid, or a source path is written over.
    """
    from brainfuse.export.atomic import check_target, write_bytes_atomic
    from brainfuse.grid import save_transform
    from brainfuse.reading.edit_apply import save_edits

    target = Path(path)
    if not target.name.endswith(SUFFIX):
        raise ExportError(f"A session file name must end in {SUFFIX}; got '{target}'.")
    sources = [s.path for s in session.sources.values()]
    tfm_path, edits_path = _side_paths(target)
    edits: tuple[np.ndarray, ImageVolume] | None = None  # (labels, the grid they lie on)
    if session.edits is not None and np.any(session.edits):
        if grid is None:
            raise BrainFuseError("The session has edits but no fusion grid to save them on.")
        edits = (session.edits, grid)
    record: dict[str, Any] = {
        "format": SCHEMA,
        "version": VERSION,
        "software": f"BrainFuse {__version__}",
        "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": {role: s.to_dict() for role, s in session.sources.items()},
        "registration": {
            **session.registration,
            "transform_file": tfm_path.name if session.transform is not None else None,
            "rigid": rigid_parameters(session.transform),
        },
        "windows": session.windows,
        "fusion": session.fusion,
        "view": session.view,
        "overlay": session.overlay,
        "edits_file": edits_path.name if edits is not None else None,
        "measurements": [m.to_dict() for m in session.measurements],
    }
    text = json.dumps(record, indent=2, default=_json_default) + "\n"
    written = [
        write_bytes_atomic(target, text.encode("utf-8"), overwrite=overwrite, sources=sources)
    ]
    if session.transform is not None:
        check_target(tfm_path, overwrite=overwrite, sources=sources)
        written.append(save_transform(tfm_path, session.transform))
    if edits is not None:
        written.append(save_edits(edits_path, *edits, overwrite=overwrite, sources=sources))
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a session")


# ---------------------------------------------------------------------- opening
@dataclass
class OpenedSession:
    """A session file as read, with the result of checking its sources.

    Attributes
    ----------
    path : Path
        The ``.brainfuse`` file.
    session : Session
        Its content; ``transform`` and ``edits`` are not read until asked for (see the
        loaders), so nothing is applied while a source is in doubt.
    problems : list of str
        One line per source that is missing or has changed since the session was saved.
    """

    path: Path
    session: Session
    problems: list[str]
    _tfm: Path | None = None
    _edits: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every source is there, unchanged."""
        return not self.problems

    def warning(self) -> str:
        """One paragraph for a dialog: which sources differ and that nothing was applied."""
        if self.ok:
            return ""
        return f"Session {self.path.name} was not applied: " + "; ".join(self.problems) + "."

    def _require_ok(self) -> None:
        if self.problems:
            raise SessionSourceError(self.warning())

    def load_sources(self) -> dict[str, ImageVolume]:
        """Load each source as the session loaded it (series, volume, modality).

        Raises
        ------
        SessionSourceError
            A source is missing or has changed.
        """
        self._require_ok()
        from brainfuse.io import load

        out = {}
        for role, s in self.session.sources.items():
            kwargs: dict[str, Any] = {}
            if s.series:
                kwargs["series"] = s.series
            if s.volume is not None:
                kwargs["volume"] = s.volume
            if s.modality:
                kwargs["modality"] = s.modality
            out[role] = load(s.path, **kwargs)
        return out

    def load_transform(self) -> Any:
        """Read the accepted registration transform, or ``None`` if the session had none.

        Raises
        ------
        SessionSourceError, UnreadableInputError
        """
        self._require_ok()
        if self._tfm is None:
            return None
        from brainfuse.grid import load_transform

        return load_transform(self._tfm)

    def load_edits(self, grid: ImageVolume) -> np.ndarray | None:
        """Read the decision-map edits on ``grid``, or ``None`` if the session had none.

        Raises
        ------
        SessionSourceError, UnreadableInputError, GeometryMismatchError
        """
        self._require_ok()
        if self._edits is None:
            return None
        from brainfuse.reading.edit_apply import load_edits

        return load_edits(self._edits, grid)


def open_session(path: str | os.PathLike[str]) -> OpenedSession:
    """Read a ``.brainfuse`` file and check its sources.

    Returns
    -------
    OpenedSession
        ``problems`` lists each missing or changed source (empty when all is well).

    Raises
    ------
    UnreadableInputError
        Missing file, not JSON, not a BrainFuse session, a newer version, or a side file
        named in it is missing.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UnreadableInputError(f"Session file '{p}' does not exist.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableInputError(f"'{p}' is not a readable BrainFuse session ({exc}).") from exc
    if not isinstance(raw, dict) or raw.get("format") != SCHEMA:
        raise UnreadableInputError(f"'{p}' is not a BrainFuse session file.")
    version = raw.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise UnreadableInputError(
            f"Session '{p.name}' has version {version}; this BrainFuse ({__version__}) reads "
            f"versions up to {VERSION}. Update BrainFuse to open it."
        )
    try:
        sources = {role: SourceRecord.from_dict(s) for role, s in raw["sources"].items()}
        registration = dict(raw.get("registration") or {})
        measurements = [from_dict(m) for m in raw.get("measurements") or []]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnreadableInputError(f"Session '{p.name}' is incomplete ({exc}).") from exc
    side: dict[str, Path | None] = {}
    for key, name in (
        ("tfm", registration.pop("transform_file", None)),
        ("edits", raw.get("edits_file")),
    ):
        beside = None if not name else p.with_name(Path(str(name)).name)
        if beside is not None and not beside.is_file():
            raise UnreadableInputError(
                f"Session '{p.name}' needs '{beside.name}' beside it; it is missing."
            )
        side[key] = beside
    registration.pop("rigid", None)
    session = Session(
        sources=sources,
        registration=registration,
        windows=dict(raw.get("windows") or {}),
        fusion=dict(raw.get("fusion") or {}),
        view=dict(raw.get("view") or {}),
        overlay=dict(raw.get("overlay") or {}),
        measurements=measurements,
    )
    problems = [msg for role, s in sources.items() if (msg := check_source(role, s))]
    return OpenedSession(p, session, problems, side["tfm"], side["edits"])


# ---------------------------------------------------------------------- recent sessions
def _recent_file() -> Path:
    return config_dir() / "recent_sessions.json"


def _read_recent() -> list[str]:
    try:
        data = json.loads(_recent_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data if isinstance(x, str)] if isinstance(data, list) else []


def recent_sessions() -> list[Path]:
    """Recently saved or opened sessions that still exist, newest first."""
    return [Path(x) for x in _read_recent() if Path(x).is_file()]


def add_recent_session(path: str | os.PathLike[str]) -> list[Path]:
    """Put ``path`` first in the recent list (at most :data:`MAX_RECENT`); returns the list.

    A list that cannot be written (read-only home) is left as it was, silently: it is a
    convenience, never a reason to fail a save.
    """
    from brainfuse.export.atomic import write_bytes_atomic

    entry = str(Path(path).resolve())
    entries = [entry, *[x for x in _read_recent() if x != entry]][:MAX_RECENT]
    try:
        _recent_file().parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(_recent_file(), json.dumps(entries, indent=1).encode(), overwrite=True)
    except (OSError, BrainFuseError):
        pass
    return [Path(x) for x in entries]
