"""Typed results of a fusion (no torch, no Qt): :class:`FusionResult` and :class:`PairResult`.

``FusionResult`` is what the engine (:class:`brainfuse.fusion.Fuser`) returns for two arrays;
``PairResult`` is what :mod:`brainfuse.pipeline` returns for two scans (sources on one grid,
windows, fused volume, maps). Exports (:func:`brainfuse.export.export_result`), the command
line and the window all read these, so the model's SHA-256 and the windows used have one
name each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import UnitVolume, Window
from brainfuse.model.patient import PatientCheck

if TYPE_CHECKING:  # SimpleITK is only a type here
    import SimpleITK

__all__ = [
    "AUTO",
    "FORCE_CT",
    "FORCE_MRI",
    "FusionResult",
    "PairResult",
    "describe_edits",
    "edit_counts",
    "edit_provenance",
]


@dataclass
class FusionResult:
    """What one fusion of two arrays produced.

    Attributes
    ----------
    fused : float32 array in [0, 1], shaped like image 1 ((H, W), (Z, H, W), or (..., 3))
    decision_map : uint8 array (H, W) or (Z, H, W); 1 where image 1 is taken (hard map)
    soft_map : float32 array like ``decision_map``, in [0, 1]; the weight of image 1
        actually used (equal to ``decision_map`` when refinement is off); float16 in the
        fusion of a pair of scans (:class:`PairResult`)
    activity : (activity1, activity2) float32 arrays, or None unless asked for
    method : str
    device : str, e.g. ``"CPU (2 threads)"`` or ``"CUDA: NVIDIA H100"``
    timings : dict of str -> float, milliseconds
    fallback : str or None, the message when a CUDA request fell back to the CPU
    model_sha256 : str or None, SHA-256 of the network weights used (``cnn`` only)
    rule : str or None, the rule that actually ran (``"anatomy"`` or ``"sesf"``; ``cnn``
        only): ``anatomy`` is asked for by default but needs a CT (a bone prior)
    """

    fused: np.ndarray
    decision_map: np.ndarray
    soft_map: np.ndarray
    activity: tuple[np.ndarray, np.ndarray] | None = None
    method: str = "cnn"
    device: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None
    model_sha256: str | None = None
    rule: str | None = None

    def rule_note(self, asked: str | None) -> str | None:
        """Say, in a line for the user, when the rule that ran is not the one ``asked`` for."""
        if self.rule is None or asked is None or asked == self.rule:
            return None
        return (
            f"rule '{asked}' needs a CT (a bone prior); image 1 has none "
            f"(PET/SPECT colour or MR), so the '{self.rule}' rule ran"
        )


@dataclass
class PairResult:
    """Everything one fusion of two scans produced, on the reference grid.

    Attributes
    ----------
    ct, mri : ImageVolume
        The sources on the reference grid (the moving one resampled), original units.
    ct01, mri01 : UnitVolume (or arrays), (Z, Y, X) (``ct01`` (Z, Y, X, 3) for colour)
        The sources through their windows, in [0, 1]: what the engine fused. Windowed slice
        by slice when read (``ct01[k]``); ``np.asarray(ct01)`` makes the whole array.
    fused : ImageVolume
        Float32 in [0, 1] (or uint8 RGB for colour image 1) with the reference grid's
        geometry; its ``source`` is empty (the sources' identities stay in ``ct``/``mri``).
    decision_map : ImageVolume
        uint8 hard map (1 = taken from the CT), same geometry.
    soft_map : float16 array (Z, Y, X), the weight of the CT actually used (16 bits:
        within 2.4e-4 of the weight the fused image was composed with)
    fusion : FusionResult
        Method, device, timings, the model's SHA-256 (``fusion.model_sha256``).
    windows : dict ``{"ct": Window, "mri": Window}``, the windows used
    transform : SimpleITK transform or None (from registration)
    reference : ``"mri"`` or ``"ct"``, whose grid
    registration : ``"none"``, ``"geometry"`` or ``"rigid"``, what was done
    warnings : list of str
    edits : uint8 array (Z, Y, X) or None
        Decision-map edits applied by hand (0 automatic, 1 CT, 2 MRI; :mod:`brainfuse.reading.edits`);
        the automatic maps stay in ``fusion`` (``fusion.soft_map``, ``fusion.decision_map``).
    identity : PatientCheck or None
        The patient check of the pair (:mod:`brainfuse.model.patient`): recorded in every
        export's provenance, the override of a different-patients refusal included.
    """

    ct: ImageVolume
    mri: ImageVolume
    ct01: UnitVolume | np.ndarray
    mri01: UnitVolume | np.ndarray
    fused: ImageVolume
    decision_map: ImageVolume
    soft_map: np.ndarray
    fusion: FusionResult
    windows: dict[str, Window]
    transform: SimpleITK.Transform | None = None
    reference: str = "mri"
    registration: str = "none"
    warnings: list[str] = field(default_factory=list)
    edits: np.ndarray | None = None
    identity: PatientCheck | None = None

    @property
    def reference_volume(self) -> ImageVolume:
        """The source whose grid the result is on."""
        return self.ct if self.reference == "ct" else self.mri

    @property
    def other_volume(self) -> ImageVolume:
        """The source that was resampled onto the reference grid."""
        return self.mri if self.reference == "ct" else self.ct


# ---------------------------------------------------------------------- edits on record
#: Edit labels (:mod:`brainfuse.reading.edits`): automatic, forced to the CT, forced to the MRI.
AUTO, FORCE_CT, FORCE_MRI = 0, 1, 2


def _label_array(labels: object) -> np.ndarray:
    """Return the uint8 label array of an array or of an ``EditVolume`` (its ``labels``)."""
    return np.asarray(getattr(labels, "labels", labels))


def edit_counts(labels: object) -> dict[str, int]:
    """Edited voxels per mode: ``{"ct": voxels forced to CT, "mri": voxels forced to MRI}``.

    ``labels`` is a (Z, Y, X) uint8 array (0 automatic, 1 CT, 2 MRI) or an
    :class:`brainfuse.reading.edits.EditVolume`.
    """
    arr = _label_array(labels)
    return {
        "ct": int(np.count_nonzero(arr == FORCE_CT)),
        "mri": int(np.count_nonzero(arr == FORCE_MRI)),
    }


def describe_edits(labels: object) -> str:
    """One line on the manual edits, for provenance (PNG/NIfTI record, DICOM derivation).

    Examples
    --------
    >>> describe_edits(np.array([[[0, 1, 1, 2]]], np.uint8))
    'decision map edited by hand: 2 voxels forced to CT, 1 voxel forced to MRI'
    >>> describe_edits(np.zeros((1, 2, 2), np.uint8))
    'no manual edits'
    """
    n = edit_counts(labels)
    if not n["ct"] and not n["mri"]:
        return "no manual edits"

    def voxels(count: int) -> str:
        return f"{count} voxel{'s' if count != 1 else ''}"

    return (
        f"decision map edited by hand: {voxels(n['ct'])} forced to CT, "
        f"{voxels(n['mri'])} forced to MRI"
    )


def edit_provenance(labels: object | None) -> dict[str, object]:
    """Keys for :func:`brainfuse.export.make_provenance` (``**extra``); empty with no edit.

    Returns
    -------
    dict
        ``{"edits": describe_edits(labels), "edited_voxels_ct": n, "edited_voxels_mri": n}``.
    """
    if labels is None:
        return {}
    n = edit_counts(labels)
    if not n["ct"] and not n["mri"]:
        return {}
    return {
        "edits": describe_edits(labels),
        "edited_voxels_ct": n["ct"],
        "edited_voxels_mri": n["mri"],
    }
