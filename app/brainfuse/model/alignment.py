"""What an alignment did, in numbers a reader can check: rigid parameters, metric, field of view.

The rigid transform of an :class:`~brainfuse.grid.AlignedPair` maps points of the reference
grid (LPS mm) to points of the moving image. It is reported about the centre of the
reference grid: ``translation_mm`` is how far that centre moves, ``rotation_deg`` the
Euler angles about the L, P and S axes (ITK's Euler3DTransform convention,
``R = Rz·Rx·Ry``). Shared model: no SimpleITK import (any object with ITK's ``GetDimension``,
``GetMatrix`` and ``TransformPoint`` will do), so export can record it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainfuse.model.image import ImageVolume

__all__ = [
    "alignment_report",
    "blend",
    "checkerboard",
    "grid_centre",
    "report_text",
    "rigid_parameters",
]


def grid_centre(volume: ImageVolume) -> np.ndarray:
    """LPS position (mm) of the centre of ``volume``'s voxel grid."""
    z, y, x = volume.shape[:3]
    return (volume.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0]))[:3]


def rigid_parameters(transform: Any, centre: np.ndarray) -> tuple[list[float], list[float]]:
    """``(translation_mm, rotation_deg)`` (three each) of a rigid transform about ``centre``.

    Identity (or no transform) gives zeros. 2-D transforms report the in-plane rotation as
    the S angle.
    """
    if transform is None:
        return [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    dim = transform.GetDimension()
    c = np.asarray(centre, float)[:dim]
    moved = np.asarray(transform.TransformPoint(tuple(float(v) for v in c)), float)
    shift = list(moved - c)
    # the linear part from unit steps about the centre (works for any rigid ITK transform)
    matrix = np.column_stack(
        [
            np.asarray(transform.TransformPoint(tuple(float(v) for v in c + e)), float) - moved
            for e in np.eye(dim)
        ]
    )
    if dim == 2:
        return [*shift, 0.0], [0.0, 0.0, float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))]
    ax = np.arcsin(np.clip(matrix[2, 1], -1.0, 1.0))
    if abs(np.cos(ax)) > 1e-5:
        ay = np.arctan2(-matrix[2, 0], matrix[2, 2])
        az = np.arctan2(-matrix[0, 1], matrix[1, 1])
    else:  # gimbal lock: put the whole turn in Z
        ay, az = 0.0, np.arctan2(matrix[1, 0], matrix[0, 0])
    return [float(v) for v in shift], [float(np.degrees(a)) for a in (ax, ay, az)]


def alignment_report(pair: Any, relation: str | None = None) -> dict[str, Any]:
    """Report on an aligned pair (:class:`~brainfuse.grid.AlignedPair`).

    Parameters
    ----------
    pair : AlignedPair
    relation : str, optional
        How the two sources relate (:meth:`brainfuse.model.patient.PatientCheck.relation`,
        e.g. ``same patient, different studies``), said in the line.

    Returns
    -------
    dict
        ``mode`` (``none``/``geometry``/``rigid``), ``translation_mm`` (3, mm),
        ``rotation_deg`` (3, degrees about L, P, S), ``metric`` (final Mattes mutual
        information, lower is better; None unless registered), ``fov_shared`` (fraction 0–1
        of the reference grid inside the moving image's field of view: not a quality
        score; also under its former name ``overlap``), ``agreement`` (None, or the
        geometry check: ``offset_mm``, ``rotation_deg``, ``shift_mm``, ``disagrees``,
        ``text``), ``frames`` (``same``/``different``/None) and ``relation``.
    """
    ref = pair.ct if pair.reference == "ct" else pair.mri
    shift, angles = rigid_parameters(pair.transform, grid_centre(ref))
    agreement = getattr(pair, "agreement", None)
    shared = float(pair.coverage)
    return {
        "mode": pair.mode,
        "translation_mm": shift,
        "rotation_deg": angles,
        "metric": None if pair.metric_value is None else float(pair.metric_value),
        "fov_shared": shared,
        "overlap": shared,
        "agreement": None
        if agreement is None
        else {
            "offset_mm": agreement.offset_mm,
            "rotation_deg": agreement.rotation_deg,
            "shift_mm": list(agreement.shift_mm),
            "disagrees": agreement.disagrees,
            "text": agreement.text(),
        },
        "frames": getattr(pair, "frames", None),
        "relation": relation,
    }


def shift_words(t: Any) -> str:
    """Say a shift in LPS millimetres in words (``4.4 mm left, 37.0 mm posterior, …``).

    >>> shift_words([-1.0, 2.04, 0.0])
    '1.0 mm right, 2.0 mm posterior, 0.0 mm superior'
    """
    words = (("left", "right"), ("posterior", "anterior"), ("superior", "inferior"))
    return ", ".join(
        f"{abs(float(v)):.1f} mm {pos if float(v) >= 0 else neg}"
        for v, (pos, neg) in zip(t, words, strict=True)
    )


def rotation_words(r: Any) -> str:
    """Say rotations in degrees about the patient's axes (``4.2° about left–right, …``).

    >>> rotation_words([4.2, -0.5, 3.71])
    '4.2° about left–right, -0.5° about front–back, 3.7° about head–foot'
    """
    axes = ("left–right", "front–back", "head–foot")
    return ", ".join(f"{float(v):.1f}° about {axis}" for v, axis in zip(r, axes, strict=True))


def report_text(report: dict[str, Any]) -> str:
    """Write the report as one line for people and for provenance.

    E.g. ``rigid, shift 4.4 mm left, 37.0 mm posterior, 0.2 mm superior; rotation 4.2° about
    left–right, 4.2° about front–back, 3.7° about head–foot; similarity 0.491 (mutual
    information, higher is better), field of view shared 98 %`` or ``geometry, field of view
    shared 90 %, heads agree within 1.2 mm and 0.4°, same patient, different frames of
    reference``. The similarity is the registration's Mattes mutual information with its sign
    turned (the optimiser minimises its negative), so that higher reads better.
    """
    text = str(report["mode"])
    if report["mode"] == "rigid":
        t, r = report["translation_mm"], report["rotation_deg"]
        text += f", shift {shift_words(t)}; rotation {rotation_words(r)}"
        if report["metric"] is not None:
            similarity = -float(report["metric"])
            text += f"; similarity {similarity:.3f} (mutual information, higher is better)"
    shared = report.get("fov_shared", report.get("overlap", 1.0))
    text += f", field of view shared {100 * shared:.0f} %"
    agreement = report.get("agreement")
    if agreement:
        text += f", {agreement['text']}"
    relation = report.get("relation")
    if relation:
        text += f", {relation}"
        if report.get("frames") == "different" and "frames of reference" not in relation:
            text += ", different frames of reference"
    elif report.get("frames") == "different":
        text += ", different frames of reference"
    return text


def checkerboard(a: np.ndarray, b: np.ndarray, square_px: tuple[float, float]) -> np.ndarray:
    """Interleave ``a`` and ``b`` (same 2-D shape) in squares of ``square_px`` (rows, cols).

    The check view of an alignment: edges that run on across square borders mean the two
    images agree there.
    """
    rows, cols = a.shape[:2]
    r = (np.arange(rows) // max(square_px[0], 1.0)).astype(int)
    c = (np.arange(cols) // max(square_px[1], 1.0)).astype(int)
    take_a = (r[:, None] + c[None, :]) % 2 == 0
    return np.where(take_a, a, b)


def blend(a: np.ndarray, b: np.ndarray, weight_a: float) -> np.ndarray:
    """``weight_a · a + (1 − weight_a) · b`` (float32)."""
    w = float(np.clip(weight_a, 0.0, 1.0))
    return (w * np.asarray(a, np.float32) + (1.0 - w) * np.asarray(b, np.float32)).astype(
        np.float32
    )
