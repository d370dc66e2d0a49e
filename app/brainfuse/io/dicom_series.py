"""DICOM files and folders → :class:`ImageVolume`.

A folder is searched recursively; DICOM image files are grouped by SeriesInstanceUID (other
files are skipped). One series is stacked by position along the slice normal; an enhanced
multi-frame file is stacked from its per-frame functional groups. The result is reoriented to
canonical LPS by :func:`brainfuse.io.reorient.to_canonical_lps`.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from brainfuse.errors import AmbiguousInputError, UnreadableInputError
from brainfuse.io.budget import require
from brainfuse.io.dicom_identity import source_identity
from brainfuse.io.dicom_read import (
    PixelFrames,
    decode_frames,
    first_number,
    frame_value,
    read_dicom,
    read_header,
)
from brainfuse.io.reorient import to_canonical_lps
from brainfuse.io.slice_order import order_slices, slice_normal
from brainfuse.model.image import ImageVolume, orientation_code

__all__ = ["SeriesSummary", "list_series", "load_dicom_file", "load_dicom_folder"]

_KNOWN_MODALITIES = ("CT", "MR", "PT", "NM")


@dataclass(frozen=True)
class SeriesSummary:
    """One DICOM series found in a folder (for the series chooser and error messages).

    Attributes
    ----------
    index : int
        Position in :func:`list_series`' answer (what ``series=`` / ``--series`` accepts).
    uid : str
        SeriesInstanceUID.
    modality : str
    description : str
        SeriesDescription (may be empty).
    n_images : int
        Number of image files (a multi-frame file counts once).
    files : tuple of str
        The files, sorted by name.
    """

    index: int
    uid: str
    modality: str
    description: str
    n_images: int
    files: tuple[str, ...]

    def label(self) -> str:
        """One line such as ``[0] CT 'Head' 108 images (UID 1.2.3…)``."""
        desc = f" '{self.description}'" if self.description else ""
        return (
            f"[{self.index}] {self.modality or '?'}{desc}, {self.n_images} image(s), UID {self.uid}"
        )


def _iter_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted; refuses a folder with unreadable parts.

    A file or sub-folder that cannot be read (permission denied) may hold images of the
    series, so the folder is refused rather than loaded with slices silently missing.

    Raises
    ------
    UnreadableInputError
        Naming up to three of the unreadable entries.
    """
    denied: list[str] = []
    files: list[Path] = []

    def failed(exc: OSError) -> None:
        denied.append(f"{exc.filename or folder} ({exc.strerror or exc})")

    for dirpath, _, names in os.walk(folder, onerror=failed):
        for name in names:
            path = Path(dirpath) / name
            if not path.is_file():
                continue
            if not os.access(path, os.R_OK):
                denied.append(f"{path} (Permission denied)")
            files.append(path)
    if denied:
        shown = ", ".join(denied[:3]) + (f" and {len(denied) - 3} more" if len(denied) > 3 else "")
        raise UnreadableInputError(
            f"Cannot read all of folder {folder}: {shown}; a series may be incomplete."
        )
    return sorted(files)


def list_series(folder: str | Path) -> list[SeriesSummary]:
    """Find the DICOM image series in ``folder`` (recursively).

    Reads headers only (``stop_before_pixels``); non-DICOM files and DICOM objects without
    an image (reports, DICOMDIR) are skipped.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    list of SeriesSummary
        Sorted by SeriesNumber, then description, then UID; empty if there is none.
    """
    folder = Path(folder)
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    for path in _iter_files(folder):
        ds = read_header(path)
        if ds is None:
            continue
        uid = str(ds.get("SeriesInstanceUID", "")) or f"(no SeriesInstanceUID) {path.parent}"
        groups.setdefault(uid, []).append((path, ds))

    def sort_key(item):
        uid, members = item
        ds = members[0][1]
        number = first_number(ds.get("SeriesNumber"))
        return (
            number if number is not None else float("inf"),
            str(ds.get("SeriesDescription", "")),
            uid,
        )

    summaries = []
    for index, (uid, members) in enumerate(sorted(groups.items(), key=sort_key)):
        ds = members[0][1]
        summaries.append(
            SeriesSummary(
                index=index,
                uid=uid,
                modality=str(ds.get("Modality", "")),
                description=str(ds.get("SeriesDescription", "")),
                n_images=len(members),
                files=tuple(str(p) for p, _ in members),
            )
        )
    return summaries


def _choose(
    folder: Path, summaries: list[SeriesSummary], series: str | int | None
) -> SeriesSummary:
    choices = [s.label() for s in summaries]
    if series is None:
        if len(summaries) == 1:
            return summaries[0]
        raise AmbiguousInputError(
            f"Folder {folder} holds {len(summaries)} DICOM series; choose one with --series "
            f"(index or SeriesInstanceUID): " + "; ".join(choices),
            choices=choices,
        )
    text = str(series).strip()
    for s in summaries:
        if s.uid == text:
            return s
    if text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < len(summaries):
            return summaries[index]
    raise AmbiguousInputError(
        f"Folder {folder} has no series '{series}'; its series are: " + "; ".join(choices),
        choices=choices,
    )


def load_dicom_folder(folder: Path, *, series: str | int | None = None) -> ImageVolume:
    """Load one series from a folder of DICOM files.

    Raises
    ------
    UnreadableInputError
        The folder is empty or holds no DICOM image.
    AmbiguousInputError
        Several series and none (or an unknown one) chosen.
    """
    files = _iter_files(folder)
    if not files and not any(folder.iterdir()):
        raise UnreadableInputError(f"Folder {folder} is empty.")
    summaries = list_series(folder)
    if not summaries:
        n = len(files)
        raise UnreadableInputError(
            f"No DICOM image in folder {folder} ({n} other file(s) skipped)."
        )
    chosen = _choose(folder, summaries, series)
    volume = _load_files([Path(f) for f in chosen.files])
    volume.path = str(folder)
    return volume


def load_dicom_file(path: Path) -> ImageVolume:
    """Load a single DICOM file (one slice, or all frames of a multi-frame file)."""
    return _load_files([path])


# --------------------------------------------------------------------------- internals
@dataclass
class _Slice:
    path: Path
    ds: Dataset
    pixels: PixelFrames


def _plane(ds: Dataset, frame: int = 0):
    iop = frame_value(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient")
    ipp = frame_value(ds, frame, "PlanePositionSequence", "ImagePositionPatient")
    iop = [float(v) for v in iop] if iop is not None and len(iop) == 6 else None
    ipp = [float(v) for v in ipp] if ipp is not None and len(ipp) == 3 else None
    return iop, ipp


def _pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = frame_value(ds, 0, "PixelMeasuresSequence", keyword)
        if value is not None and len(value) == 2 and float(value[0]) > 0 and float(value[1]) > 0:
            return float(value[1]), float(value[0])  # (x = column spacing, y = row spacing)
    return None


def _slice_thickness(ds: Dataset, *, stack: bool) -> float | None:
    """Slice step of a stack without positions, or the thickness of a single slice, mm."""
    keywords = ("SpacingBetweenSlices", "SliceThickness")
    for keyword in keywords if stack else keywords[::-1]:
        value = first_number(frame_value(ds, 0, "PixelMeasuresSequence", keyword))
        if value is not None and value > 0:
            return value
    return None


def _majority(slices: list[_Slice], warnings: list[str]) -> list[_Slice]:
    """Keep the images that share the most common size and orientation."""

    def key(s: _Slice):
        iop, _ = _plane(s.ds)
        return (s.pixels.array.shape[1:], s.pixels.is_rgb, tuple(np.round(iop, 3)) if iop else None)

    counts = Counter(key(s) for s in slices)
    if len(counts) == 1:
        return slices
    best, n = counts.most_common(1)[0]
    kept = [s for s in slices if key(s) == best]
    sizes = sorted({f"{k[0][1]}×{k[0][0]}" for k in counts})
    warnings.append(
        f"mixed image sizes or orientations in one series ({', '.join(sizes)}); "
        f"kept the {n} images of size {best[0][1]}×{best[0][0]}, skipped {len(slices) - n}"
    )
    return kept


def _frame_positions(ds: Dataset, n: int, iop) -> list | None:
    """Per-frame positions of a multi-frame file, or ``None`` where not available."""
    if "PerFrameFunctionalGroupsSequence" in ds:
        positions = [_plane(ds, f)[1] for f in range(n)]
        return positions if all(p is not None for p in positions) else None
    offsets = ds.get("GridFrameOffsetVector")  # RT Dose and similar
    ipp = _plane(ds)[1]
    if offsets is not None and len(offsets) == n and ipp is not None and iop is not None:
        normal = slice_normal(iop)[2]
        return [list(np.asarray(ipp) + float(o) * normal) for o in offsets]
    return None


def _load_files(paths: list[Path]) -> ImageVolume:
    warnings: list[str] = []
    slices = []
    for i, path in enumerate(paths):
        ds = read_dicom(path)
        pixels = decode_frames(ds, path)
        if "PixelData" in ds:  # keep the decoded copy only (our in-memory dataset)
            del ds.PixelData
        slices.append(_Slice(path, ds, pixels))
        if i == 0 and len(paths) > 1:
            # The whole series, if its files are like the first: decoded slices + the stack.
            rows, cols = pixels.array.shape[1:3]
            require(
                2 * len(paths) * pixels.array.nbytes,
                path.parent,
                f"a series of {len(paths)} images of {cols}×{rows} pixels ({pixels.array.dtype})",
            )
    multi = [s for s in slices if s.pixels.array.shape[0] > 1]
    if multi and len(slices) > 1:
        biggest = max(multi, key=lambda s: s.pixels.array.shape[0])
        warnings.append(
            f"the series mixes {len(multi)} multi-frame file(s) with other files; "
            f"only {biggest.path.name} ({biggest.pixels.array.shape[0]} frames) was loaded"
        )
        slices = [biggest]
    slices = _majority(slices, warnings)
    first = slices[0]
    iop, _ = _plane(first.ds)
    in_plane = _pixel_spacing(first.ds)
    has_geometry = iop is not None and _plane(first.ds)[1] is not None and in_plane is not None

    if len(slices) == 1 and first.pixels.array.shape[0] > 1:
        # One multi-frame file: order its frames.
        frames = first.pixels.array
        positions = _frame_positions(first.ds, frames.shape[0], iop) if has_geometry else None
        files = [str(first.path)]
        sops = [str(first.ds.get("SOPInstanceUID", ""))]
        if positions is not None:
            normal = slice_normal(iop)[2]
            result = order_slices(np.asarray(positions), normal)
            frames = frames[result.order]
            spacing_z, origin = result.spacing, result.origin
            warnings.extend(result.warnings)
        else:
            spacing_z = _slice_thickness(first.ds, stack=True) or 1.0
            origin = np.asarray(_plane(first.ds)[1] or (0.0, 0.0, 0.0))
            has_geometry = False
            warnings.append(
                f"no per-frame positions in {first.path.name}: frames kept in file order, "
                f"slice spacing {spacing_z:g} mm taken from the header"
            )
        array = frames
    else:
        positions = [_plane(s.ds)[1] for s in slices]
        if len(slices) > 1 and iop is not None and all(p is not None for p in positions):
            normal = slice_normal(iop)[2]
            result = order_slices(np.asarray(positions), normal)
            slices = [slices[i] for i in result.order]
            spacing_z, origin = result.spacing, result.origin
            warnings.extend(result.warnings)
        else:
            if len(slices) > 1:
                slices.sort(key=lambda s: first_number(s.ds.get("InstanceNumber")) or 0)
                warnings.append("no slice positions in the files: sorted by InstanceNumber")
                has_geometry = False
            spacing_z = _slice_thickness(first.ds, stack=len(slices) > 1) or 1.0
            origin = np.asarray(_plane(slices[0].ds)[1] or (0.0, 0.0, 0.0))
        arrays = [s.pixels.array for s in slices]
        dtype = np.result_type(*[a.dtype for a in arrays])
        if dtype.kind == "f" or (dtype.kind in "iu" and dtype.itemsize > 4):
            dtype = np.dtype(np.float32) if dtype.kind == "f" else dtype
        if len(arrays) == 1:  # one file: no stacking copy
            array = arrays[0].astype(dtype, copy=False)
        else:
            array = np.concatenate([a.astype(dtype, copy=False) for a in arrays], axis=0)
        files = [str(s.path) for s in slices]
        sops = [str(s.ds.get("SOPInstanceUID", "")) for s in slices]
        first = slices[0]

    if iop is not None:
        row, col, normal = slice_normal(iop)
        direction = np.column_stack([row, col, normal])
    else:
        direction = np.eye(3)
    sx, sy = in_plane or (1.0, 1.0)
    if not has_geometry:
        warnings.append(
            "no complete patient geometry in the file(s) (position, orientation or pixel "
            "spacing missing): shown with placeholder geometry"
        )
    ds = first.ds
    modality = str(ds.get("Modality", "OT")).upper()
    if modality not in _KNOWN_MODALITIES:
        modality = "OT"
    warnings = first.pixels.warnings + warnings
    ox, oy, oz = (float(v) for v in origin)
    volume = ImageVolume(
        array=array,
        spacing=(sx, sy, float(spacing_z or 1.0)),
        origin=(ox, oy, oz),
        direction=direction,
        modality=modality,
        units=first.pixels.units,
        window=first.pixels.window,
        is_rgb=first.pixels.is_rgb,
        has_geometry=has_geometry,
        monochrome1=first.pixels.monochrome1,
        source=source_identity(ds, sops, files),
        path=str(paths[0]) if len(paths) == 1 else str(Path(paths[0]).parent),
        format="DICOM",
        description=str(
            ds.get("SeriesDescription", "") or ds.get("ProtocolName", "") or Path(files[0]).name
        ),
        warnings=warnings,
        stored_orientation=orientation_code(direction),
    )
    return to_canonical_lps(volume) if has_geometry else volume
