"""From two loaded scans to one fused result on one grid (no Qt).

:func:`fuse_pair` strings the core together: put the CT (or PET/SPECT) and the MRI on one
grid (:func:`brainfuse.grid.align_pair`), map each to [0, 1] through its window
(:func:`brainfuse.fusion.intensity.to_unit`), fuse slice by slice
(:class:`brainfuse.fusion.Fuser`) and wrap the fused image and the decision map as
:class:`~brainfuse.image.ImageVolume` on the reference grid. The ``cli`` and ``gui`` are thin
shells over it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainfuse.errors import GeometryMismatchError
from brainfuse.fusion import Fuser, FusionResult, WindowUsed, to_unit
from brainfuse.image import ImageVolume, SourceIdentity

__all__ = ["PairResult", "fuse_pair"]


@dataclass
class PairResult:
    """Everything one fusion produced, on the reference grid.

    Attributes
    ----------
    ct, mri : ImageVolume
        The sources on the reference grid (the moving one resampled), original units.
    ct01, mri01 : float32 arrays (Z, Y, X) (``ct01`` (Z, Y, X, 3) for colour), in [0, 1]
    fused : ImageVolume
        Float32 in [0, 1] (or uint8 RGB for colour image 1) with the reference grid's
        geometry; its ``source`` is empty (the sources' identities stay in ``ct``/``mri``).
    decision_map : ImageVolume
        uint8 hard map (1 = taken from the CT), same geometry.
    soft_map : float32 array (Z, Y, X), the weight of the CT actually used
    fusion : FusionResult
    windows : dict ``{"ct": WindowUsed, "mri": WindowUsed}``
    transform : SimpleITK transform or None (from registration)
    reference : ``"mri"`` or ``"ct"``
    warnings : list of str
    weights_sha256 : str or None, SHA-256 of the network weights used (CNN method)
    """

    ct: ImageVolume
    mri: ImageVolume
    ct01: np.ndarray
    mri01: np.ndarray
    fused: ImageVolume
    decision_map: ImageVolume
    soft_map: np.ndarray
    fusion: FusionResult
    windows: dict[str, WindowUsed]
    transform: Any = None
    reference: str = "mri"
    warnings: list[str] = field(default_factory=list)
    weights_sha256: str | None = None


@dataclass
class _Aligned:
    ct: ImageVolume
    mri: ImageVolume
    transform: Any
    reference: str
    warnings: list[str]


def _align(ct, mri, register, reference, progress, cancel) -> _Aligned:
    try:
        from brainfuse.grid import align_pair
    except ImportError:  # grid engine not installed in this checkout
        align_pair = None
    if align_pair is not None:
        pair = align_pair(
            ct, mri, register=register, reference=reference, progress=progress, cancel=cancel
        )
        return _Aligned(
            pair.ct, pair.mri, pair.transform, pair.reference, list(getattr(pair, "warnings", []))
        )
    if ct.shape != mri.shape:
        raise GeometryMismatchError(
            f"{ct.name} ({'x'.join(map(str, ct.shape))}) and {mri.name} "
            f"({'x'.join(map(str, mri.shape))}) differ in size and cannot be fused pixel by pixel"
        )
    return _Aligned(ct, mri, None, reference, [])


def _stage(progress: Callable[[float], None] | None, lo: float, hi: float):
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * float(f))


def fuse_pair(
    ct: ImageVolume,
    mri: ImageVolume,
    *,
    method: str = "cnn",
    device: str = "auto",
    ct_window: str | tuple[float, float] | None = None,
    mr_window: str | tuple[float, float] | None = None,
    register: str = "auto",
    reference: str = "mri",
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    fuser: Fuser | None = None,
) -> PairResult:
    """Fuse a CT (or PET/SPECT) with an MRI: one grid, windows, fusion.

    Parameters
    ----------
    ct, mri : ImageVolume
        Image 1 (CT in HU, or colour PET/SPECT) and image 2 (MRI).
    method : str
        See :func:`brainfuse.fusion.available_methods`; ignored when ``fuser`` is given.
    device : {"auto", "cpu", "cuda"}
        Ignored when ``fuser`` is given.
    ct_window, mr_window : preset name, ``"C/W"`` or (center, width), optional
        Windows mapping each source to [0, 1] (defaults: CT brain 40/80 HU, MR robust
        percentiles, 8-bit images as they are).
    register : {"auto", "none", "geometry", "rigid"}
    reference : {"mri", "ct"}
        Whose grid the result is on.
    progress : callable(fraction) or None
    cancel : threading.Event or None
    fuser : Fuser or None
        A fuser created once by the caller (the GUI keeps one); otherwise one is made.

    Returns
    -------
    PairResult

    Raises
    ------
    GeometryMismatchError, RegistrationError, CancelledError, ModelError
    """
    aligned = _align(ct, mri, register, reference, _stage(progress, 0.0, 0.3), cancel)
    ct01, w_ct = to_unit(aligned.ct, ct_window)
    mri01, w_mr = to_unit(aligned.mri, mr_window)
    if fuser is None:
        fuser = Fuser(method, device=device)
    result = fuser.fuse(ct01, mri01, progress=_stage(progress, 0.3, 1.0), cancel=cancel)
    ref_vol = aligned.ct if aligned.reference == "ct" else aligned.mri
    geometry = {
        "spacing": ref_vol.spacing,
        "origin": ref_vol.origin,
        "direction": ref_vol.direction,
        "has_geometry": ref_vol.has_geometry,
        "source": SourceIdentity(),
        "path": "",
        "window": None,
        "monochrome1": False,
    }
    rgb = result.fused.ndim == 4
    fused_arr = np.round(result.fused * 255).astype(np.uint8) if rgb else result.fused
    fused = ImageVolume(
        fused_arr,
        modality="OT",
        is_rgb=rgb,
        format="",
        description=f"BrainFuse fusion ({result.method}) of {aligned.ct.name} and "
        f"{aligned.mri.name}",
        **geometry,
    )
    dm = ImageVolume(
        result.decision_map,
        modality="OT",
        description="decision map (1 = CT)",
        **geometry,
    )
    if progress is not None:
        progress(1.0)
    return PairResult(
        ct=aligned.ct,
        mri=aligned.mri,
        ct01=ct01,
        mri01=mri01,
        fused=fused,
        decision_map=dm,
        soft_map=result.soft_map,
        fusion=result,
        windows={"ct": w_ct, "mri": w_mr},
        transform=aligned.transform,
        reference=aligned.reference,
        warnings=aligned.warnings,
        weights_sha256=fuser.model_sha256,
    )
