"""The sources of a saved session: which file or folder each was, and whether it is unchanged.

A source is recorded with the SHA-256 of its bytes (a file) or of every file below it, or of
the chosen series' files (a folder), so that a scan replaced or changed since the session was
saved is detected before anything saved for it is applied (:func:`check_source`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainfuse.errors import BrainFuseError, UnreadableInputError
from brainfuse.model.image import ImageVolume

__all__ = ["SourceRecord", "check_source", "source_sha256"]


# ---------------------------------------------------------------------- hashing
def _update_with_file(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)


def source_sha256(path: str | os.PathLike[str], files: Iterable[str] = ()) -> str:
    """SHA-256 (hex) of a source: a file's bytes, or a folder's files.

    Parameters
    ----------
    path : path
        The file or folder the source was loaded from.
    files : iterable of str, optional
        For a folder, only these files (e.g. the chosen series' files,
        :attr:`brainfuse.model.image.SourceIdentity.files`); default every file below it.

    Returns
    -------
    str
        For a folder, the hash of each file's path relative to the folder (POSIX form,
        sorted) followed by its bytes, so renaming, adding or changing a file changes it.

    Raises
    ------
    UnreadableInputError
        The path does not exist or cannot be read.
    """
    p = Path(path)
    h = hashlib.sha256()
    try:
        if p.is_file():
            _update_with_file(h, p)
            return h.hexdigest()
        if not p.is_dir():
            raise UnreadableInputError(f"Source '{p}' does not exist.")
        chosen = [Path(f) for f in files] or [f for f in p.rglob("*") if f.is_file()]
        for f in sorted(chosen, key=lambda f: f.resolve().relative_to(p.resolve()).as_posix()):
            rel = f.resolve().relative_to(p.resolve()).as_posix()
            h.update(rel.encode("utf-8") + b"\x00")
            _update_with_file(h, f)
    except OSError as exc:
        raise UnreadableInputError(f"Cannot read source '{p}': {exc.strerror or exc}.") from exc
    return h.hexdigest()


# ---------------------------------------------------------------------- records
@dataclass(frozen=True)
class SourceRecord:
    """One source of the session.

    Attributes
    ----------
    path : str
        Absolute path of the file or folder.
    sha256 : str
        :func:`source_sha256` when saved.
    series : str or None
        SeriesInstanceUID chosen in a folder of several series.
    volume : int or None
        Volume taken from a 4-D NIfTI.
    modality : str or None
        Modality override given at load time.
    files : tuple of str
        For a DICOM folder: the series' files that were hashed (absolute); empty otherwise.
    """

    path: str
    sha256: str
    series: str | None = None
    volume: int | None = None
    modality: str | None = None
    files: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        path: str | os.PathLike[str],
        *,
        series: str | None = None,
        volume: int | None = None,
        modality: str | None = None,
        files: Sequence[str] = (),
    ) -> SourceRecord:
        """Record a source as it is now (hashes it)."""
        p = Path(path).resolve()
        files = tuple(str(Path(f).resolve()) for f in files) if p.is_dir() else ()
        return cls(str(p), source_sha256(p, files), series, volume, modality, files)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON record of the source (sessions, recovery files)."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "series": self.series,
            "volume": self.volume,
            "modality": self.modality,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, s: dict[str, Any]) -> SourceRecord:
        """Read :meth:`to_dict`'s record (KeyError, TypeError when incomplete)."""
        return cls(
            path=str(s["path"]),
            sha256=str(s["sha256"]),
            series=s.get("series"),
            volume=s.get("volume"),
            modality=s.get("modality"),
            files=tuple(s.get("files") or ()),
        )

    @classmethod
    def of_volume(cls, volume: ImageVolume) -> SourceRecord:
        """Record the source a loaded volume came from (its path, series and files)."""
        if not volume.path:
            raise BrainFuseError(f"'{volume.name}' was not loaded from a file; it cannot be saved.")
        return cls.of(
            volume.path,
            series=volume.source.series_instance_uid,
            modality=volume.modality,
            files=volume.source.files,
        )


def check_source(role: str, s: SourceRecord) -> str | None:
    """Say why a saved source cannot be used again (gone, unreadable, changed); None if it can.

    ``role`` (``"ct"``, ``"mri"``) names it in the sentence.
    """
    label = {"ct": "CT", "mri": "MRI"}.get(role, role)
    if not Path(s.path).exists():
        return f"the {label} source {s.path} no longer exists"
    try:
        digest = source_sha256(s.path, s.files)
    except UnreadableInputError:
        return f"the {label} source {s.path} cannot be read"
    if digest != s.sha256:
        return f"the {label} source {s.path} has changed since the session was saved"
    return None
