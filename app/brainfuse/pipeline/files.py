"""Files in and out for the shells: open a scan, the demo pair, write a result.

The window reaches readers and writers only through here (and the command line may), so
the core packages stay behind :mod:`brainfuse.pipeline`.
"""

from __future__ import annotations

from brainfuse.export import FORMATS, export_result, infer_format
from brainfuse.io import demo_pair, load
from brainfuse.model.image import ImageVolume
from brainfuse.model.overlay import OverlayStyle

__all__ = ["FORMATS", "OverlayStyle", "demo_pair", "export_result", "infer_format", "open_scan"]


def open_scan(path: str, series: int | None = None) -> ImageVolume:
    """Load one scan (:func:`brainfuse.io.load`); ``series`` picks one of a folder's series."""
    return load(path, series=series) if series is not None else load(path)
