"""What a batch fuses: the manifest, a CSV file or a folder of ``ID/ct``, ``ID/mri`` (no Qt).

A CSV manifest has a header with ``id``, ``ct`` and ``mri`` columns and optionally ``edits``
(decision-map edits saved by the window, as ``fuse --edits``) and ``transform`` (a saved
``.tfm`` that aligns the pair, as ``fuse --transform``); relative paths are taken from the
manifest's own folder. A folder manifest holds one sub-folder per item, named by its ID,
with ``ct/`` and ``mri/`` inside: each is a DICOM series (the folder) or holds one image
file (NIfTI, PNG, TIFF, JPEG); an ``edits.nii.gz`` beside them is applied as ``--edits``, a
``transform.tfm`` as ``--transform``.

A manifest that cannot be read as a whole (no header, a missing column, an ID twice or one
that cannot be a folder name) is refused with one line before anything runs; a row whose
files are missing or unreadable is an item that fails on its own.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from brainfuse.errors import BrainFuseError

__all__ = ["IMAGE_SUFFIXES", "Item", "input_fingerprint", "read_manifest"]

#: Files that are one image each (not DICOM): a folder manifest's ``ct/`` or ``mri/`` holding
#: exactly one of these names that file, any other content is a DICOM series.
IMAGE_SUFFIXES = (".nii", ".nii.gz", ".png", ".tif", ".tiff", ".jpg", ".jpeg")
_COLUMNS = ("id", "ct", "mri")
_OPTIONAL = ("edits", "transform")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Item:
    """One pair of a batch.

    Attributes
    ----------
    id : str, the item's name and the folder of its outputs (``DIR/ID/``)
    ct, mri : str, image 1 (CT, PET/SPECT) and image 2 (MRI): file or DICOM folder
    edits : str or None, decision-map edits applied before export
    transform : str or None, a saved transform that aligns the pair (no registration)
    """

    id: str
    ct: str
    mri: str
    edits: str | None = None
    transform: str | None = None

    @property
    def inputs(self) -> list[str]:
        """The item's input paths (edits and transform last, when given)."""
        return [self.ct, self.mri, *(p for p in (self.edits, self.transform) if p)]

    @property
    def plain_images(self) -> bool:
        """Whether both inputs are plain 2-D image files (PNG, TIFF, JPEG), not volumes."""
        flat = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
        return all(p.lower().endswith(flat) for p in (self.ct, self.mri))


def _check_ids(items: list[Item], where: str) -> list[Item]:
    seen: set[str] = set()
    for item in items:
        if not _ID.fullmatch(item.id):
            raise BrainFuseError(
                f"{where}: item ID {item.id!r} cannot name a folder: use letters, digits, "
                "'.', '_' and '-' (starting with a letter or digit, at most 128)"
            )
        if item.id in seen:
            raise BrainFuseError(f"{where}: the item ID {item.id!r} appears twice")
        seen.add(item.id)
    if not items:
        raise BrainFuseError(f"{where}: the manifest lists no items")
    return items


def _resolve(value: str, base: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _read_csv(path: Path) -> list[Item]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BrainFuseError(f"cannot read the manifest {path}: {exc}") from exc
    if not rows:
        raise BrainFuseError(f"{path}: the manifest is empty (expected a header id,ct,mri)")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in _COLUMNS if c not in header]
    unknown = [h for h in header if h not in _COLUMNS + _OPTIONAL]
    if missing or unknown:
        what = f"no column {', '.join(missing)}" if missing else f"unknown column {unknown[0]!r}"
        raise BrainFuseError(
            f"{path}: {what}; the header must be id,ct,mri with optionally edits, transform "
            f"(found {','.join(header)})"
        )
    base = path.parent
    items = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) != len(header):
            raise BrainFuseError(
                f"{path}, line {number}: {len(row)} values for {len(header)} columns"
            )
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        if not cells["ct"] or not cells["mri"]:
            raise BrainFuseError(f"{path}, line {number}: the ct and mri columns need a path")
        edits, tfm = cells.get("edits"), cells.get("transform")
        items.append(
            Item(
                id=cells["id"],
                ct=_resolve(cells["ct"], base),
                mri=_resolve(cells["mri"], base),
                edits=_resolve(edits, base) if edits else None,
                transform=_resolve(tfm, base) if tfm else None,
            )
        )
    return _check_ids(items, str(path))


def _one_input(folder: Path) -> str:
    """Return the folder itself (a DICOM series), or the one image file it holds."""
    if folder.is_dir():
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
        one = entries[0] if len(entries) == 1 else None
        if one is not None and one.is_file() and one.name.lower().endswith(IMAGE_SUFFIXES):
            return str(one)
    return str(folder)


def _read_folder(path: Path) -> list[Item]:
    items = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        edits, tfm = sub / "edits.nii.gz", sub / "transform.tfm"
        items.append(
            Item(
                id=sub.name,
                ct=_one_input(sub / "ct"),
                mri=_one_input(sub / "mri"),
                edits=str(edits) if edits.is_file() else None,
                transform=str(tfm) if tfm.is_file() else None,
            )
        )
    return _check_ids(items, str(path))


def read_manifest(path: str | os.PathLike[str]) -> list[Item]:
    """Read a CSV manifest or a folder laid out as ``ID/ct/…``, ``ID/mri/…``.

    Raises
    ------
    BrainFuseError
        The manifest does not exist or cannot be read as a whole (see the module notes).
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return _read_folder(p)
    if not p.is_file():
        raise BrainFuseError(f"the manifest {path} does not exist")
    return _read_csv(p)


def input_fingerprint(item: Item) -> str:
    """SHA-256 over each input file's path, size and modification time (no file is read).

    A changed, added or removed file of an input (a DICOM series included) changes it, so a
    rerun redoes that item; a missing input gives a fingerprint of its own (the item fails).
    """
    h = hashlib.sha256()
    for top in item.inputs:
        root = Path(top)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for f in files:
            try:
                st = f.stat()
                h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{f}\0missing\n".encode())
    return h.hexdigest()
