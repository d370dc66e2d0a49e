"""Load scans into one :class:`~brainfuse.model.image.ImageVolume`.

DICOM (files, folders, enhanced multi-frame, compressed), NIfTI-1/2 and plain PNG/TIFF/JPEG
images all arrive as the same type.

Public surface: :func:`load`, :func:`list_series` (+ :class:`SeriesSummary`), :func:`demo_pair`
and :func:`check_same_size`.
"""

from brainfuse.io.checks import check_same_size
from brainfuse.io.demo import demo_pair
from brainfuse.io.dicom_series import SeriesSummary, list_series
from brainfuse.io.loader import load
from brainfuse.io.reorient import to_canonical_lps

__all__ = [
    "SeriesSummary",
    "check_same_size",
    "demo_pair",
    "list_series",
    "load",
    "to_canonical_lps",
]
