"""Put a CT and an MRI on one grid: the step between loading and fusion.

``align_pair`` decides how (as is, by header geometry, or by rigid registration), refuses
pairs that cannot be aligned honestly (a plain picture against a scanner volume, different
sizes without geometry, fields of view that do not overlap, broken spacing), and returns both
images on the reference grid, CT in Hounsfield units with air outside its field of view.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import SimpleITK

from brainfuse.errors import GeometryMismatchError
from brainfuse.grid._names import label
from brainfuse.grid.agreement import Agreement, check_agreement
from brainfuse.grid.reference import REFERENCES, choose_reference, covering_grid
from brainfuse.grid.register import register_rigid
from brainfuse.grid.resample import coverage, resample_to
from brainfuse.model.image import ImageVolume

__all__ = ["REFERENCES", "REGISTER_MODES", "AlignedPair", "align_pair", "check_geometry"]

REGISTER_MODES = ("auto", "none", "geometry", "rigid")

MIN_COVERAGE = 0.02
"""Below this fraction of the reference grid inside the moving field of view, refuse."""
WARN_COVERAGE = 0.5
"""Below this fraction, warn that much of the reference grid has no moving data."""


@dataclass
class AlignedPair:
    """A CT and an MRI on one grid (shape and affine of the reference image).

    Attributes
    ----------
    ct, mri : ImageVolume
        Both on the reference grid. The moving one is resampled (float32; CT in HU with
        −1000 HU outside its field of view; colour stays uint8 RGB); the reference one is
        returned as loaded.
    reference : {"mri", "ct"}
        Which input supplies the grid.
    transform : SimpleITK.Transform or None
        Rigid transform from reference-grid points (LPS mm) to moving-image points, as found
        by registration; identity for ``geometry``; None for ``none``.
    metric_value : float or None
        Final Mattes mutual information of the registration (lower is better); None unless
        registered.
    warnings : list of str
        Things the user should know (partial overlap, ignored geometry).
    mode : {"none", "geometry", "rigid"}
        What was done (``auto`` resolved).
    coverage : float
        Fraction (0–1) of the reference grid inside the moving image's field of view: the
        field of view shared, not a measure of how well the heads agree.
    agreement : Agreement or None
        For ``geometry``: how far a coarse registration moves the pair from where the file
        positions put it (:func:`brainfuse.grid.agreement.check_agreement`); a
        disagreement beyond 5 mm or 5° is also a warning. None otherwise, or when it could
        not be estimated.
    frames : {"same", "different"} or None
        Whether both DICOM sources share their Frame of Reference UID (None where one has
        none). Different frames are normal for two sessions: said in the alignment line,
        not warned about; ``agreement`` checks whether the positions agree.
    """

    ct: ImageVolume
    mri: ImageVolume
    reference: str
    transform: SimpleITK.Transform | None
    metric_value: float | None
    warnings: list[str] = field(default_factory=list)
    mode: str = "none"
    coverage: float = 1.0
    agreement: Agreement | None = None
    frames: str | None = None


def check_geometry(volume: ImageVolume) -> None:
    """Raise :class:`GeometryMismatchError` when a volume's spacing or direction is unusable."""
    spacing = np.asarray(volume.spacing, dtype=float)
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        shown = ", ".join(f"{s:g}" for s in spacing)
        raise GeometryMismatchError(
            f"{label(volume)} has voxel spacing ({shown}) mm (x, y, z); zero, negative or "
            "missing spacing means the file's geometry is broken, so it cannot be placed on a "
            "grid. Check PixelSpacing / slice positions (DICOM) or pixdim (NIfTI)."
        )
    direction = np.asarray(volume.direction, dtype=float)
    det = np.linalg.det(direction) if np.all(np.isfinite(direction)) else math.nan
    if not abs(det) > 1e-3:
        raise GeometryMismatchError(
            f"{label(volume)} has a degenerate orientation (direction cosines "
            f"{np.round(direction, 3).tolist()}); its geometry cannot be used."
        )
    origin = np.asarray(volume.origin, dtype=float)
    if not np.all(np.isfinite(origin)):
        raise GeometryMismatchError(f"{label(volume)} has a non-finite origin {origin.tolist()}.")


def _shape_text(volume: ImageVolume) -> str:
    z, y, x = volume.shape
    return f"{x}×{y}" if z == 1 else f"{x}×{y}×{z}"


def _extent_text(volume: ImageVolume) -> str:
    """Bounding box of the voxel centres in LPS mm, for messages."""
    z, y, x = volume.shape
    corners = np.array([[i, j, k, 1.0] for i in (0, x - 1) for j in (0, y - 1) for k in (0, z - 1)])
    points = (volume.affine @ corners.T)[:3]
    lo, hi = points.min(axis=1), points.max(axis=1)
    return ", ".join(f"{a} {lo[n]:.0f}…{hi[n]:.0f}" for n, a in enumerate("xyz")) + " mm (LPS)"


def _resolve_mode(ct: ImageVolume, mri: ImageVolume, register: str) -> str:
    geo = (ct.has_geometry, mri.has_geometry)
    if all(geo):
        return "geometry" if register == "auto" else register
    if not any(geo):
        if register == "geometry":
            raise GeometryMismatchError(
                f"Neither {label(ct)} nor {label(mri)} carries patient geometry (plain images), "
                "so they cannot be aligned by geometry; use --register none (same size, already "
                "registered) or --register rigid."
            )
        return "none" if register == "auto" else register
    plain, volume = (ct, mri) if not ct.has_geometry else (mri, ct)
    if register == "none" and ct.shape == mri.shape:
        return "none"
    raise GeometryMismatchError(
        f"{label(plain)} is a plain image without position information ({_shape_text(plain)} "
        f"pixels) and {label(volume)} is a scan with patient geometry ({_shape_text(volume)} "
        "voxels): they cannot be placed on one grid. Load both as DICOM or NIfTI, or, only if "
        "they are the same size and already registered pixel for pixel, use --register none."
    )


def align_pair(
    ct: ImageVolume,
    mri: ImageVolume,
    *,
    register: str = "auto",  # one of REGISTER_MODES, checked: it comes from the user
    reference: str = "auto",  # one of REFERENCES
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    check: bool = True,
) -> AlignedPair:
    """Put ``ct`` and ``mri`` on one grid.

    Parameters
    ----------
    ct, mri : ImageVolume
        The two inputs (``ct`` may be any "image 1": PET/SPECT colour too).
    register : {"auto", "none", "geometry", "rigid"}
        ``none``: the images are taken as registered pixel for pixel (same shape required);
        ``geometry``: resample by the files' patient geometry; ``rigid``: Mattes-MI rigid
        registration, then resample; ``auto``: ``geometry`` when both carry geometry,
        ``none`` for two plain images.
    reference : {"auto", "mri", "ct"}
        Whose grid the result is on: ``auto`` (default) the finer in-plane, the CT's on a
        tie, extended to keep both fields of view (:mod:`brainfuse.grid.reference`); ``mri``
        / ``ct`` that image's grid as it is.
    progress : callable, optional
        Fraction done (0–1).
    cancel : threading.Event, optional
        Cancels a running registration (raises :class:`~brainfuse.errors.CancelledError`).
    check : bool
        Check a ``geometry`` alignment against a coarse registration
        (:attr:`AlignedPair.agreement`; about a second).

    Returns
    -------
    AlignedPair

    Raises
    ------
    GeometryMismatchError
        Different sizes with ``none``; a plain image with a scan; broken spacing; no overlap.
    RegistrationError
        Registration impossible (e.g. a single slice against a volume).
    """
    if register not in REGISTER_MODES:
        raise ValueError(f"register must be one of {REGISTER_MODES}, not {register!r}")
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, not {reference!r}")
    for volume in (ct, mri):
        if volume.has_geometry or register in ("geometry", "rigid"):
            check_geometry(volume)
    mode = _resolve_mode(ct, mri, register)
    extend = reference == "auto" and mode != "none"
    reference = choose_reference(ct, mri, reference)
    ref, mov = (mri, ct) if reference == "mri" else (ct, mri)
    warnings: list[str] = []

    if mode == "none":
        if ct.shape != mri.shape:
            raise GeometryMismatchError(
                f"{label(ct)} is {_shape_text(ct)} and {label(mri)} is {_shape_text(mri)}: "
                "images of different sizes cannot be fused pixel for pixel. Use --register "
                "geometry (both files carry patient geometry) or --register rigid."
            )
        if (
            ct.has_geometry
            and mri.has_geometry
            and not np.allclose(ct.affine, mri.affine, atol=1e-3)
        ):
            warnings.append(
                "The two files place their voxels differently in patient space; --register none "
                "ignored that and paired them voxel for voxel."
            )
        moved = mov.with_array(
            mov.array,
            spacing=ref.spacing,
            origin=ref.origin,
            direction=np.array(ref.direction, dtype=float),
            has_geometry=ref.has_geometry,
        )
        if progress is not None:
            progress(1.0)
        return _pair(ref, moved, reference, None, None, warnings, mode, 1.0)

    transform: SimpleITK.Transform | None = None
    metric = None
    if mode == "rigid":
        scaled = None if progress is None else (lambda f: progress(0.9 * f))
        result = register_rigid(ref, mov, progress=scaled, cancel=cancel)
        transform, metric = result.transform, result.metric_value
    covered = coverage(mov, ref, transform=transform)
    kind = {"mri": "MRI", "ct": "CT"}
    if covered < MIN_COVERAGE:
        raise GeometryMismatchError(
            f"The CT {label(ct)} and the MRI {label(mri)} do not overlap in patient space: "
            f"{100 * covered:.1f}% of the {kind[reference]}'s grid lies inside the other image "
            f"(CT spans {_extent_text(ct)}; MRI spans {_extent_text(mri)}). Check that both are "
            "of the same patient" + (", or try --register rigid." if mode == "geometry" else ".")
        )
    if covered < WARN_COVERAGE:
        warnings.append(
            f"Only {100 * covered:.0f}% of the {kind[reference]}'s grid lies inside the "
            f"{kind['ct' if reference == 'mri' else 'mri']}'s field of view; the rest is filled "
            "(air for CT, 0 for MRI)."
        )
    agreement = None
    if mode == "geometry" and check:
        agreement = check_agreement(ref, mov, cancel=cancel)
        if agreement is not None and agreement.disagrees:
            warnings.append(agreement.warning(kind["ct" if reference == "mri" else "mri"]))
    grid = covering_grid(ref, mov, transform) if extend else None
    if grid is not None:  # both fields of view kept: the reference image resampled too
        ref = resample_to(ref, grid)
    moved = resample_to(mov, ref, transform=transform)
    if transform is None:
        transform = SimpleITK.Transform(3, SimpleITK.sitkIdentity)
    if progress is not None:
        progress(1.0)
    pair = _pair(ref, moved, reference, transform, metric, warnings, mode, covered)
    pair.agreement = agreement
    return pair


def _frames(ct: ImageVolume, mri: ImageVolume) -> str | None:
    uids = (ct.source.frame_of_reference_uid, mri.source.frame_of_reference_uid)
    if not all(uids):
        return None
    return "same" if uids[0] == uids[1] else "different"


def _pair(ref, moved, reference, transform, metric, warnings, mode, covered) -> AlignedPair:
    ct, mri = (moved, ref) if reference == "mri" else (ref, moved)
    return AlignedPair(
        ct=ct,
        mri=mri,
        reference=reference,
        transform=transform,
        metric_value=metric,
        warnings=warnings,
        mode=mode,
        coverage=covered,
        frames=_frames(ct, mri),
    )
