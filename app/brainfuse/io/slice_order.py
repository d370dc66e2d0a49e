"""Order slices along their normal and derive the slice spacing from their positions.

DICOM slices are sorted by the projection of ``ImagePositionPatient`` on the slice normal
``cross(row, col)`` (never by file name or InstanceNumber); the spacing is the median step
between neighbours, and gaps, uneven steps, repeated positions and tilted stacks are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SliceOrder", "order_slices", "slice_normal"]

_TOLERANCE_MM = 0.01


def slice_normal(orientation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return unit row, column and normal vectors (LPS) from ImageOrientationPatient."""
    iop = np.asarray([float(v) for v in orientation], dtype=float)
    row, col = iop[:3], iop[3:]
    row = row / np.linalg.norm(row)
    col = col / np.linalg.norm(col)
    normal = np.cross(row, col)
    return row, col, normal / np.linalg.norm(normal)


@dataclass
class SliceOrder:
    """Result of :func:`order_slices`.

    Attributes
    ----------
    order : list of int
        Indices of the input slices, sorted along the normal, duplicates removed.
    spacing : float, mm
        Median distance between neighbouring slices (``None`` for one slice).
    origin : (3,) ndarray
        Position of the first slice in ``order``.
    warnings : list of str
    """

    order: list[int]
    spacing: float | None
    origin: np.ndarray
    warnings: list[str] = field(default_factory=list)


def order_slices(positions: np.ndarray, normal: np.ndarray) -> SliceOrder:
    """Sort slice positions along ``normal`` and check their spacing.

    Parameters
    ----------
    positions : (N, 3) array-like, mm
        ImagePositionPatient of each slice (LPS).
    normal : (3,) array-like
        Unit slice normal, ``cross(row, col)``.

    Returns
    -------
    SliceOrder
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 3)
    normal = np.asarray(normal, dtype=float)
    distance = positions @ normal
    order = list(np.argsort(distance, kind="stable"))
    warnings: list[str] = []
    # Repeated positions (several acquisitions/echoes in one series): keep the first.
    kept = [order[0]]
    for idx in order[1:]:
        if abs(distance[idx] - distance[kept[-1]]) > _TOLERANCE_MM:
            kept.append(idx)
    if len(kept) < len(order):
        warnings.append(
            f"{len(order) - len(kept)} image(s) repeat a slice position already present "
            "(several acquisitions or echoes?); the first image at each position was kept"
        )
    order = kept
    if len(order) == 1:
        return SliceOrder([int(order[0])], None, positions[order[0]], warnings)
    steps = np.diff(distance[order])
    spacing = float(np.median(steps))
    big = np.flatnonzero(steps > 1.5 * spacing)
    if big.size:
        where = ", ".join(f"{steps[i]:.2f} mm after slice {i + 1}" for i in big[:5]) + (
            " …" if big.size > 5 else ""
        )
        warnings.append(
            f"{big.size} gap(s) in the slice stack (expected {spacing:.2f} mm): {where}; "
            "slices are shown evenly spaced"
        )
    elif np.max(np.abs(steps - spacing)) > max(_TOLERANCE_MM, 0.01 * spacing):
        warnings.append(
            f"non-uniform slice spacing: {steps.min():.3f}–{steps.max():.3f} mm "
            f"(median {spacing:.3f} mm used)"
        )
    # Slices whose positions drift in-plane (gantry tilt) are not a rectilinear grid.
    delta = positions[order[-1]] - positions[order[0]]
    along = float(delta @ normal)
    drift = float(np.linalg.norm(delta - along * normal))
    if along > 0 and drift > 0.01 * along + _TOLERANCE_MM:
        angle = float(np.degrees(np.arctan2(drift, along)))
        warnings.append(
            f"slice positions are tilted {angle:.1f}° from the slice normal (gantry tilt?); "
            "the volume is treated as not tilted, so positions are approximate"
        )
    return SliceOrder([int(i) for i in order], spacing, positions[order[0]], warnings)
