"""Ruler and region measurements on any plane, in mm and in each source's own units (no Qt).

Points are given in *plane coordinates* (see :mod:`brainfuse.model.planes`): a plane
(``"axial"``, ``"coronal"``, ``"sagittal"``), the voxel ``index`` along its normal, and
``(row, col)`` pixel positions in the displayed view (fractional; pixel centres at integers).
Lengths go through the volume's affine, so anisotropic spacing and oblique grids are
measured in true millimetres.

A region (ellipse or rectangle, given by two opposite corners of its bounding box) covers
the pixels whose centres lie inside it; its statistics are reported for each source in that
source's units: Hounsfield units for a CT whose values are HU, ``raw`` (the scanner's
arbitrary units, no physical meaning) for an MRI. :func:`table` gives the results as
tab-separated text to paste into a report or a spreadsheet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import ImageVolume
from brainfuse.model.planes import plane_shape, plane_to_lps, slice_at

__all__ = [
    "RAW",
    "REGION_KINDS",
    "Region",
    "RegionStats",
    "Ruler",
    "distance_mm",
    "from_dict",
    "region_mask",
    "scale_bar",
    "table",
    "unit_label",
]

#: Unit label of values without physical units (MR signal, arbitrary scanner units).
RAW = "raw (no unit)"
REGION_KINDS = ("ellipse", "rectangle")


def unit_label(volume: ImageVolume) -> str:
    """``"HU"`` for a CT in Hounsfield units, the volume's unit if any, else :data:`RAW`."""
    return volume.units or RAW


def distance_mm(volume: ImageVolume, a: Iterable[float], b: Iterable[float]) -> float:
    """Distance in mm between two voxel positions ``(k, j, i)`` (array order, fractional).

    Examples
    --------
    >>> v = ImageVolume(np.zeros((3, 4, 5)), spacing=(0.5, 0.5, 3.0))
    >>> distance_mm(v, (0, 0, 0), (2, 0, 8))
    7.211102550927978
    """
    ka, ja, ia = (float(x) for x in a)
    kb, jb, ib = (float(x) for x in b)
    pa = volume.affine @ np.array([ia, ja, ka, 1.0])
    pb = volume.affine @ np.array([ib, jb, kb, 1.0])
    return float(np.linalg.norm(pa[:3] - pb[:3]))


def _check_plane_index(volume: ImageVolume, plane: str, index: int) -> None:
    n = plane_shape(volume, plane)[0]
    if not 0 <= int(index) < n:
        raise BrainFuseError(f"Slice {index} of the {plane} plane does not exist (0 to {n - 1}).")


def scale_bar(mm_per_pixel: float, max_pixels: float) -> tuple[float, float]:
    """Choose a round scale-bar length that fits in ``max_pixels`` on screen.

    Parameters
    ----------
    mm_per_pixel : float
        Size of one screen pixel in mm at the current zoom (> 0).
    max_pixels : float
        Longest bar allowed, screen pixels (e.g. a quarter of the viewer's width).

    Returns
    -------
    (length_mm, length_pixels)
        The longest of 1, 2 or 5 × 10^n mm that fits; never below 1 mm (then longer than
        ``max_pixels``).

    Examples
    --------
    >>> scale_bar(0.5, 120)
    (50.0, 100.0)
    """
    if not mm_per_pixel > 0 or not max_pixels > 0:
        raise BrainFuseError("A scale bar needs a positive pixel size and length.")
    limit = mm_per_pixel * max_pixels
    exponent = math.floor(math.log10(limit))
    length = 1.0 * 10**exponent
    for step in (2.0, 5.0, 10.0):
        if step * 10**exponent <= limit:
            length = step * 10**exponent
    length = max(length, 1.0)
    return float(length), float(length / mm_per_pixel)


@dataclass(frozen=True)
class Ruler:
    """A straight line on one view.

    Attributes
    ----------
    plane : str
    index : int
        View index along the plane's normal.
    start, end : (row, col)
        End points in the view's pixel coordinates.
    """

    plane: str
    index: int
    start: tuple[float, float]
    end: tuple[float, float]
    kind: str = "ruler"

    def length_mm(self, volume: ImageVolume) -> float:
        """Length of the line in mm on ``volume``'s grid."""
        _check_plane_index(volume, self.plane, self.index)
        a = plane_to_lps(volume, self.plane, self.index, *self.start)
        b = plane_to_lps(volume, self.plane, self.index, *self.end)
        return float(np.linalg.norm(a - b))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for sessions)."""
        return asdict(self)


@dataclass(frozen=True)
class RegionStats:
    """Statistics of one source inside a region.

    Attributes
    ----------
    source : str
        Name of the source (``"ct"``, ``"mri"``, ...).
    units : str
        ``"HU"``, or :data:`RAW` for values without physical units.
    pixels : int
        Pixels inside the region.
    area_mm2 : float
        ``pixels`` times the pixel area, mm².
    mean, sd, minimum, maximum : float
        In ``units``; ``sd`` is the population standard deviation.
    """

    source: str
    units: str
    pixels: int
    area_mm2: float
    mean: float
    sd: float
    minimum: float
    maximum: float


def region_mask(
    shape: tuple[int, int], kind: str, start: tuple[float, float], end: tuple[float, float]
) -> np.ndarray:
    """Pixels of a ``(rows, cols)`` view inside an ellipse or rectangle.

    Parameters
    ----------
    shape : (rows, cols)
    kind : {"ellipse", "rectangle"}
    start, end : (row, col)
        Opposite corners of the bounding box, pixel coordinates (fractional).

    Returns
    -------
    bool ndarray (rows, cols)
        Pixels whose centres lie inside (at least the pixel nearest the centre).
    """
    if kind not in REGION_KINDS:
        raise BrainFuseError(f"Unknown region kind '{kind}'; choose ellipse or rectangle.")
    (r0, c0), (r1, c1) = start, end
    rows = np.arange(shape[0])[:, None]
    cols = np.arange(shape[1])[None, :]
    if kind == "rectangle":
        mask = (
            (rows >= min(r0, r1) - 1e-9)
            & (rows <= max(r0, r1) + 1e-9)
            & (cols >= min(c0, c1) - 1e-9)
            & (cols <= max(c0, c1) + 1e-9)
        )
    else:
        rc, cc = (r0 + r1) / 2.0, (c0 + c1) / 2.0
        a, b = max(abs(r1 - r0) / 2.0, 1e-9), max(abs(c1 - c0) / 2.0, 1e-9)
        mask = ((rows - rc) / a) ** 2 + ((cols - cc) / b) ** 2 <= 1.0 + 1e-9
    if not mask.any():
        r, c = round((r0 + r1) / 2.0), round((c0 + c1) / 2.0)
        if 0 <= r < shape[0] and 0 <= c < shape[1]:
            mask[r, c] = True
    return mask


@dataclass(frozen=True)
class Region:
    """An ellipse or rectangle on one view.

    Attributes
    ----------
    plane : str
    index : int
        View index along the plane's normal.
    shape : {"ellipse", "rectangle"}
    start, end : (row, col)
        Opposite corners of the bounding box, pixel coordinates of the view.
    """

    plane: str
    index: int
    shape: str
    start: tuple[float, float]
    end: tuple[float, float]
    kind: str = "region"

    def mask(self, volume: ImageVolume) -> np.ndarray:
        """Return the region's pixels on the view of ``volume`` (bool, view's shape)."""
        _check_plane_index(volume, self.plane, self.index)
        _, rows, cols = plane_shape(volume, self.plane)
        return region_mask((rows, cols), self.shape, self.start, self.end)

    def stats(self, sources: Mapping[str, ImageVolume]) -> list[RegionStats]:
        """Statistics of each source (all on one grid) inside the region.

        Raises
        ------
        BrainFuseError
            A source is not on the first source's grid, or is a colour image.
        """
        out = []
        first: ImageVolume | None = None
        mask: np.ndarray | None = None
        for name, volume in sources.items():
            if volume.is_rgb:
                raise BrainFuseError(f"'{name}' is a colour image; measure a grey source.")
            if first is None:
                first, mask = volume, self.mask(volume)
            elif volume.shape != first.shape or not np.allclose(
                volume.affine, first.affine, atol=1e-3
            ):
                raise BrainFuseError(f"'{name}' is not on the same grid as the other sources.")
            view = slice_at(volume, self.plane, self.index)
            values = np.asarray(view.image, dtype=np.float64)[mask]
            row_mm, col_mm = view.pixel_spacing
            out.append(
                RegionStats(
                    source=name,
                    units=unit_label(volume),
                    pixels=int(values.size),
                    area_mm2=float(values.size * row_mm * col_mm),
                    mean=float(values.mean()),
                    sd=float(values.std()),
                    minimum=float(values.min()),
                    maximum=float(values.max()),
                )
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for sessions)."""
        return asdict(self)


def from_dict(data: Mapping[str, Any]) -> Ruler | Region:
    """Rebuild a :class:`Ruler` or :class:`Region` from its :meth:`to_dict` form.

    Raises
    ------
    BrainFuseError
        Unknown kind or missing fields.
    """
    try:
        kind = data["kind"]
        plane, index = str(data["plane"]), int(data["index"])
        (r0, c0), (r1, c1) = data["start"], data["end"]
        start, end = (float(r0), float(c0)), (float(r1), float(c1))
        if kind == "ruler":
            return Ruler(plane, index, start, end)
        if kind == "region":
            return Region(plane, index, str(data["shape"]), start, end)
    except (KeyError, TypeError, ValueError) as exc:
        raise BrainFuseError(f"A saved measurement is incomplete: {data!r}.") from exc
    raise BrainFuseError(f"Unknown measurement kind {kind!r}; expected ruler or region.")


_COLUMNS = (
    "#",
    "tool",
    "plane",
    "slice",
    "source",
    "length (mm)",
    "area (mm²)",
    "mean",
    "SD",
    "min",
    "max",
    "units",
    "pixels",
)


def _num(x: float) -> str:
    return f"{x:.1f}"


def table(measurements: Iterable[Ruler | Region], sources: Mapping[str, ImageVolume]) -> str:
    """Write the measurements as tab-separated text with a header line (for a report).

    Parameters
    ----------
    measurements : iterable of Ruler or Region
    sources : mapping of name to ImageVolume
        The sources on one grid (e.g. ``{"ct": ..., "mri": ...}``); a ruler is measured on
        the first.

    Returns
    -------
    str
        One line per ruler, one line per source for each region; numbers to 0.1 in their
        units (mm, mm², HU or raw); slices counted from 1, as the window's slider counts them.
    """
    grid = next(iter(sources.values()))
    lines = ["\t".join(_COLUMNS)]
    for n, m in enumerate(measurements, start=1):
        where = [str(n), "", m.plane, str(m.index + 1)]  # counted from 1, as the slider
        if isinstance(m, Ruler):
            where[1] = "ruler"
            lines.append("\t".join([*where, "", _num(m.length_mm(grid)), *[""] * 6, "mm", ""]))
            continue
        where[1] = m.shape
        for s in m.stats(sources):
            lines.append(
                "\t".join(
                    [
                        *where,
                        s.source,
                        "",
                        _num(s.area_mm2),
                        _num(s.mean),
                        _num(s.sd),
                        _num(s.minimum),
                        _num(s.maximum),
                        s.units,
                        str(s.pixels),
                    ]
                )
            )
    return "\n".join(lines) + "\n"
