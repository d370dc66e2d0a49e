"""``brainfuse info PATH...``: what BrainFuse reads from each input.

Per input: format (and DICOM transfer syntax), modality, description, shape, number of slices,
spacing, orientation (as stored and canonical), value range with units, header window and
warnings. ``--table`` prints one line per input instead. A bad input prints one error line on
stderr; the others are still shown, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import MODALITIES, ImageVolume

__all__ = ["describe", "register", "run"]


def register(subparsers) -> None:
    """Add ``brainfuse info`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "info",
        help="describe images (DICOM file/folder, NIfTI, PNG/TIFF/JPEG)",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image file or DICOM folder")
    parser.add_argument("--series", help="series of a DICOM folder: index or SeriesInstanceUID")
    parser.add_argument("--volume", type=int, help="volume of a 4-D NIfTI (0-based)")
    parser.add_argument(
        "--modality", choices=MODALITIES, help="override the modality (NIfTI/PNG guess)"
    )
    parser.add_argument("--table", action="store_true", help="one line per input")
    parser.set_defaults(func=run)


def _transfer_syntax(volume: ImageVolume) -> str:
    if volume.format != "DICOM" or not volume.source.files:
        return ""
    from brainfuse.io.dicom_read import read_header

    ds = read_header(Path(volume.source.files[0]))
    uid = ds.file_meta.get("TransferSyntaxUID") if ds is not None else None
    return uid.name if uid is not None else ""


def _number(value: float) -> str:
    return f"{value:.6g}"


def describe(volume: ImageVolume) -> dict[str, str]:
    """Human-readable fields of a loaded volume (what ``brainfuse info`` prints)."""
    z, y, x = volume.shape
    lo, hi = volume.value_range()
    units = f" {volume.units}" if volume.units else ""
    syntax = _transfer_syntax(volume)
    extras = []
    if volume.is_rgb:
        extras.append("RGB colour")
    if volume.monochrome1:
        extras.append("MONOCHROME1 (display inverted)")
    n_images = len(volume.source.sop_instance_uids)
    if volume.format == "DICOM" and n_images:
        extras.append(f"{n_images} DICOM image(s)" if n_images > 1 else "1 DICOM file")
    spacing = " × ".join(f"{s:.4g}" for s in volume.spacing)
    if not volume.has_geometry:
        spacing += " (no geometry in file)"
    window = volume.window
    return {
        "format": volume.format + (f" ({syntax})" if syntax else ""),
        "modality": volume.modality,
        "description": volume.description or "",
        "shape": f"{z} × {y} × {x} (z, y, x)" + (" × 3" if volume.is_rgb else ""),
        "slices": str(z),
        "dtype": str(volume.array.dtype) + (f"; {', '.join(extras)}" if extras else ""),
        "spacing": f"{spacing} mm (x, y, z)",
        "orientation": f"{volume.orientation} (stored {volume.stored_orientation or '?'})",
        "values": f"{_number(lo)} … {_number(hi)}{units}",
        "window": f"{_number(window[0])} / {_number(window[1])}{units}" if window else "—",
        "warnings": "; ".join(volume.warnings) if volume.warnings else "none",
    }


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse info``; return the exit status (2 when a path cannot be read)."""
    from brainfuse.io import load

    status = 0
    for i, path in enumerate(args.paths):
        try:
            volume = load(path, series=args.series, volume=args.volume, modality=args.modality)
        except BrainFuseError as exc:
            if len(args.paths) == 1:
                raise
            print(f"brainfuse: error: {exc}", file=sys.stderr)
            status = 2
            continue
        fields = describe(volume)
        if args.table:
            print(
                "\t".join(
                    [path]
                    + [
                        fields[k]
                        for k in ("format", "modality", "shape", "spacing", "orientation", "values")
                    ]
                    + [fields["warnings"]]
                )
            )
            continue
        if i:
            print()
        print(path)
        for key, value in fields.items():
            print(f"  {key:<12} {value}")
    sys.stdout.flush()
    return status
