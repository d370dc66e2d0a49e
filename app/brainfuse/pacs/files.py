"""Local files on either side of a transfer: where received instances go, what is sent.

Received instances are named ``<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` inside the
retrieve's temporary folder (UIDs are checked to be digits and dots so a PACS cannot name a
path). Files to send are DICOM Part-10 files given one by one or found in folders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from brainfuse.errors import PacsError

__all__ = ["collect_files", "instance_path", "read_send_header"]

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def instance_path(folder: Path, series_uid: str, sop_uid: str) -> Path:
    """``folder/<series_uid>/<sop_uid>.dcm``; ValueError for a UID that is not a UID."""
    for uid in (series_uid, sop_uid):
        if not _UID.match(uid) or len(uid) > 64:
            raise ValueError(f"not a DICOM UID: {uid[:70]!r}")
    return folder / series_uid / f"{sop_uid}.dcm"


def read_send_header(path: Path) -> tuple[str, str, str] | str:
    """``(SOP class UID, transfer syntax UID, SOP instance UID)`` of a DICOM file.

    Returns
    -------
    tuple of str, or str
        The three UIDs, or the reason the file cannot be sent (not DICOM, no file meta).
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return "not a DICOM file"
    except (OSError, ValueError, EOFError) as exc:
        return f"cannot read it ({exc})"
    meta = getattr(ds, "file_meta", None)
    sop_class = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
    syntax = meta.get("TransferSyntaxUID") if meta else None
    sop_uid = ds.get("SOPInstanceUID")
    if not sop_class or not syntax or not sop_uid:
        return "not a complete DICOM file (no SOP class, instance UID or transfer syntax)"
    return str(sop_class), str(syntax), str(sop_uid)


def collect_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named in ``paths``, folders walked (sorted; hidden files and DICOMDIR skipped).

    Raises
    ------
    PacsError
        A path does not exist, or nothing was found.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files.extend(
                    Path(root) / n
                    for n in sorted(names)
                    if not n.startswith(".") and n.upper() != "DICOMDIR"
                )
        elif path.is_file():
            files.append(path)
        else:
            raise PacsError(f"{raw}: no such file or folder")
    if not files:
        raise PacsError("nothing to send: the folders given hold no files")
    return files
