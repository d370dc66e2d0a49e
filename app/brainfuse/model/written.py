"""Say what an export wrote in a few lines: one per output, not one per file.

A DICOM series of 188 slices plus its Segmentation is one output ("189 DICOM files" in its
folder); a NIfTI or a single PNG is one file. The command line prints these lines (each file
only with ``--verbose``) and the window's status bar shows them joined.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["summarize_written"]

_KINDS = {".dcm": "DICOM", ".png": "PNG", ".nii": "NIfTI", ".gz": "NIfTI", ".tfm": "transform"}


def _kind(path: Path) -> str:
    return _KINDS.get(path.suffix.lower(), path.suffix.lstrip(".").upper() or "")


def summarize_written(
    paths: Iterable[str | Path], outputs: Iterable[str | Path | None] | None = None
) -> list[str]:
    """One line per output among ``paths`` (files written, in order).

    Parameters
    ----------
    paths : iterable of path
        Every file written.
    outputs : iterable of path, optional
        The outputs asked for (a file or a folder each; ``None`` entries skipped). Files
        inside one of these folders are one line ("wrote N DICOM files to DIR"). Without
        ``outputs``, a folder holding three files or more of one kind is taken as an output.

    Examples
    --------
    >>> summarize_written(["out/0001.dcm", "out/0002.dcm", "out/decision_map_seg.dcm"], ["out"])
    ['wrote 3 DICOM files to out']
    >>> summarize_written(["fused.nii.gz", "dm.nii.gz"], ["fused.nii.gz", "dm.nii.gz"])
    ['wrote fused.nii.gz', 'wrote dm.nii.gz']
    """
    files = [Path(p) for p in paths]
    groups: dict[tuple[Path, str], list[Path]] = {}
    for p in files:
        groups.setdefault((p.parent, _kind(p)), []).append(p)
    if outputs is None:
        folders = {folder for (folder, _), members in groups.items() if len(members) >= 3}
    else:
        folders = {Path(o) for o in outputs if o is not None}
    lines: list[str] = []
    done: set[tuple[Path, str]] = set()
    for p in files:
        key = (p.parent, _kind(p))
        if p.parent not in folders:
            lines.append(f"wrote {p}")
        elif key not in done:
            done.add(key)
            n = len(groups[key])
            lines.append(f"wrote {n} {key[1]} file{'s' if n != 1 else ''} to {p.parent}")
    return lines
