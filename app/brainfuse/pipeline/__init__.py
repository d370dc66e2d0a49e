"""From two loaded scans to one fused result on one grid (no Qt): the one fusion path.

Both shells go through here. :func:`align` puts the CT (or PET/SPECT) and the MRI on one
grid (:func:`brainfuse.grid.align_pair`); :func:`prepare` maps each to [0, 1] through its
window (:func:`brainfuse.model.intensity.to_unit`, the one place for intensities); a
:class:`PairFusion` fuses slice by slice into preallocated arrays, the shown slice first
(:meth:`PairFusion.steps`, one yield per slice: progress and cancel point) and assembles the
typed :class:`~brainfuse.model.results.PairResult` (:meth:`PairFusion.result`).
:func:`fuse_pair` (the command line) drains it; the window's worker wraps the same generator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np

from brainfuse.fusion import Fuser
from brainfuse.fusion.compose import compose
from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import (
    BoneStack,
    NoDataStack,
    UnitVolume,
    Window,
    WindowSpec,
    to_uint8,
    to_unit,
    volume_bone_mask,
    volume_no_data,
)
from brainfuse.model.patient import PatientCheck
from brainfuse.model.results import FusionResult, PairResult
from brainfuse.pipeline.composed import ComposedVolume, CompressedWeight, PackedMask
from brainfuse.pipeline.identity import check_identity
from brainfuse.pipeline.order import FusionStep, slice_order

if TYPE_CHECKING:  # SimpleITK is only a type here
    import SimpleITK

__all__ = [
    "FusionStep",
    "PairFusion",
    "PairResult",
    "PreparedPair",
    "align",
    "check_identity",
    "fuse_pair",
    "prepare",
    "slice_order",
]

Progress = Callable[[float], None]
#: How a pair's soft map is stored (:attr:`PairFusion.soft_map`).
SOFT_DTYPE = np.dtype(np.float16)


@dataclass
class PreparedPair:
    """The pair on one grid and through its windows: the fusion's input.

    Attributes
    ----------
    ct, mri : ImageVolume, on the reference grid (original units)
    ct01, mri01 : UnitVolume, the sources windowed to [0, 1] slice by slice when read
        (``ct01`` may carry a trailing RGB axis); no whole float copy is kept
    windows : ``{"ct": Window, "mri": Window}``
    transform, reference, registration, warnings : as in :class:`PairResult`
    bone : bool array or BoneVolume (Z, Y, X), or None
        The CT's bone prior from its own values (:func:`brainfuse.model.bone.bone_prior`),
        found slice by slice when ``lazy``; None when image 1 is not a CT.
    decide : (ct, mri) UnitVolume (or float32 arrays) in [0, 1], or None
        The fixed representations the decision map is computed from (each source through
        its default window), so that a display window never changes which pixels come
        from which source; None when they are ``ct01``/``mri01`` themselves.
    identity : PatientCheck or None
        The patient check of the pair (:func:`check_identity`), carried into the result.
    nodata : uint8 array or NoDataVolume (Z, Y, X), or None
        Which source has no data (:func:`brainfuse.model.bone.source_no_data`): where the
        CT has none (outside its field of view, a straight cut filled with padding) the MRI
        is taken, where the MRI has none (outside its field of view, around a
        skull-stripped brain, beside a slab) the CT. None when image 1 is not a CT.
    """

    ct: ImageVolume
    mri: ImageVolume
    ct01: UnitVolume | np.ndarray
    mri01: UnitVolume | np.ndarray
    windows: dict[str, Window]
    transform: SimpleITK.Transform | None = None
    reference: str = "mri"
    registration: str = "none"
    warnings: list[str] = field(default_factory=list)
    bone: BoneStack | None = None
    decide: tuple[UnitVolume | np.ndarray, UnitVolume | np.ndarray] | None = None
    identity: PatientCheck | None = None
    nodata: NoDataStack | None = None


def align(
    ct: ImageVolume,
    mri: ImageVolume,
    *,
    register: str = "auto",
    reference: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    allow_different_patients: bool = False,
    transform: SimpleITK.Transform | None = None,
):
    """Put the pair on one grid: :func:`brainfuse.grid.align_pair` (returns its AlignedPair).

    The patients are checked first (:func:`check_identity`): a pair of different patients
    is refused before any work unless ``allow_different_patients``. With ``transform`` (a
    saved rigid one, MRI grid points -> CT points) the CT is resampled onto the MRI's grid
    through it instead (:func:`brainfuse.pipeline.transform.align_by_transform`); ``register``
    is then not used and the result is on the MRI's grid (``reference="ct"`` is refused).

    Raises
    ------
    DifferentPatientsError, GeometryMismatchError, RegistrationError, CancelledError
    UnsupportedInputError
        ``transform`` with ``reference="ct"``.
    """
    check_identity(ct, mri, allow_different_patients=allow_different_patients)
    if transform is not None:
        from brainfuse.errors import UnsupportedInputError
        from brainfuse.pipeline.transform import align_by_transform

        if reference == "ct":
            raise UnsupportedInputError(
                "a saved transform puts the CT on the MRI's grid: use reference mri"
            )
        return align_by_transform(ct, mri, transform)
    from brainfuse.grid import align_pair

    return align_pair(
        ct, mri, register=register, reference=reference, progress=progress, cancel=cancel
    )


def prepare(
    aligned,
    ct_window: WindowSpec = None,
    mr_window: WindowSpec = None,
    *,
    lazy: bool = True,
    allow_different_patients: bool = False,
    mr_default: Window | None = None,
) -> PreparedPair:
    """Window an aligned pair to [0, 1], with its patient check (:func:`check_identity`).

    Parameters
    ----------
    aligned : brainfuse.grid.AlignedPair
    ct_window, mr_window : None (the source's default), preset name, ``"C/W"``,
        ``(center, width)`` or Window; see :func:`brainfuse.model.intensity.to_unit`.
    lazy : bool
        Window slice by slice when the fusion reads them
        (:class:`~brainfuse.model.intensity.UnitVolume`, same numbers, no whole float copy of the
        sources); False makes the whole arrays.
    allow_different_patients : bool
        The user's explicit override of a different-patients refusal.
    mr_default : Window or None
        The MRI's default window (:func:`~brainfuse.model.intensity.default_window` of
        ``aligned.mri``) when the caller has it already (the window computes it to show the
        MRI), so that its percentiles are not counted again; None computes it.

    Raises
    ------
    DifferentPatientsError
        The pair is of different patients and no override was given.
    """
    identity = check_identity(
        aligned.ct, aligned.mri, allow_different_patients=allow_different_patients
    )
    ct01, w_ct = to_unit(aligned.ct, ct_window, lazy=lazy)
    # the MRI through its default window: as the caller counted it, or counted here
    if mr_default is not None:
        mri_default = _through(aligned.mri, mr_default, lazy)
    elif mr_window is None or not aligned.ct.is_rgb:
        mri_default = to_unit(aligned.mri, lazy=lazy)
    mri01, w_mr = mri_default if mr_window is None else to_unit(aligned.mri, mr_window, lazy=lazy)
    decide = None
    if not aligned.ct.is_rgb and (ct_window is not None or mr_window is not None):
        ct_fixed = ct01 if ct_window is None else to_unit(aligned.ct, lazy=lazy)[0]
        decide = (ct_fixed, mri_default[0])
    return PreparedPair(
        ct=aligned.ct,
        mri=aligned.mri,
        ct01=ct01,
        mri01=mri01,
        windows={"ct": w_ct, "mri": w_mr},
        transform=aligned.transform,
        reference=aligned.reference,
        registration=aligned.mode,
        warnings=list(aligned.warnings),
        bone=volume_bone_mask(aligned.ct, lazy=lazy),
        decide=decide,
        identity=identity,
        nodata=volume_no_data(aligned.ct, aligned.mri, lazy=lazy),
    )


def _through(
    volume: ImageVolume, window: Window, lazy: bool
) -> tuple[UnitVolume | np.ndarray, Window]:
    """``to_unit(volume)`` when ``window`` is already known to be its default window."""
    unit = UnitVolume(volume.array, window)
    return (unit if lazy else np.asarray(unit)), window


class PairFusion:
    """The fusion of one prepared pair, slice by slice, into preallocated arrays.

    Parameters
    ----------
    prepared : PreparedPair
    fuser : Fuser, created once by the caller
    store_fused : bool
        Keep the fused volume as an array (the window, which shows and edits it); False
        composes it when read (:attr:`fused`).

    Attributes
    ----------
    fused : float32 (Z, Y, X) or (Z, Y, X, 3) in [0, 1], the precision a NIfTI export writes
        With ``store_fused=False`` (the ``cnn`` method, grey images) a
        :class:`~brainfuse.pipeline.composed.ComposedVolume` instead, which composes the
        same slices from ``soft_map`` when read: 4 bytes a voxel less for a caller that only
        writes the result (``brainfuse fuse``).
    decision_map : uint8 (Z, Y, X), 0/1
        With ``store_fused=False`` a :class:`~brainfuse.pipeline.composed.PackedMask` (1 bit
        a voxel) that reads as the same uint8 array.
    soft_map : float16 (Z, Y, X) in [0, 1]
        The weight of the CT, kept in 16 bits (half the memory of float32: 150 MiB of a
        512 x 512 x 300 volume; 0 and 1 exact, elsewhere within 2.4e-4 of the engine's
        float32 map). The ``cnn`` method's fused slices are composed from this stored
        weight, so a window change (:meth:`recomposed`) or an edit recomposes them bit for
        bit; they differ from a composition with the float32 weight by at most 2.4e-4.
        With ``store_fused=False`` a :class:`~brainfuse.pipeline.composed.CompressedWeight`
        (the same float16 slices deflated, about a third of the memory) that reads as the
        same array.
    done : bool (Z,), the slices fused so far
    neighbours : Neighbourhood or None
        What a volume's slices share (:mod:`brainfuse.fusion.volume`), kept across
        :meth:`steps` calls so that a resumed fusion encodes no slice twice.
    timings : dict of str -> float, milliseconds
    """

    def __init__(self, prepared: PreparedPair, fuser: Fuser, *, store_fused: bool = True):
        self.prepared = prepared
        self.fuser = fuser
        shape = prepared.mri01.shape
        if store_fused or fuser.method != "cnn" or prepared.ct01.shape != shape:
            self.soft_map = np.zeros(shape, SOFT_DTYPE)
            self.fused = np.zeros(prepared.ct01.shape, np.float32)
            self.decision_map = np.zeros(shape, np.uint8)
        else:  # held compactly and computed when read, the same numbers: read like arrays
            z, y, x = shape
            self.soft_map = cast(np.ndarray, CompressedWeight((z, y, x)))
            composed = ComposedVolume(self.soft_map, prepared.ct01, prepared.mri01)
            self.fused = cast(np.ndarray, composed)
            self.decision_map = cast(np.ndarray, PackedMask((z, y, x)))
        self.done = np.zeros(shape[0], bool)
        self.timings: dict[str, float] = {}
        # a volume is decided in 3-D windows: neighbours' activities held while needed
        self.neighbours = fuser.neighbourhood(shape, prepared.mri.spacing)

    def recomposed(self, prepared: PreparedPair) -> PairFusion:
        """Recompose the same decision under other display windows, without the encoder.

        The CNN method decides on window-independent images (:attr:`PreparedPair.decide`),
        so a new window only recomposes ``F = W * CT + (1 - W) * MRI`` from this fusion's
        soft map ``W`` and the sources of ``prepared`` (the same aligned pair, other windows).

        Raises
        ------
        ValueError
            The method is not ``cnn``, a slice is not fused yet, or the grids differ.
        """
        if self.fuser.method != "cnn" or not self.done.all():
            raise ValueError("only a finished fusion of the cnn method can be recomposed")
        if prepared.mri01.shape != self.prepared.mri01.shape:
            raise ValueError("recomposing needs the same grid")
        t0 = time.perf_counter()
        new = PairFusion(prepared, self.fuser)
        new.decision_map[...] = self.decision_map
        new.soft_map[...] = self.soft_map
        for k in range(self.n_slices):
            new.fused[k] = compose(self.soft_map[k], prepared.ct01[k], prepared.mri01[k])
        new.done[:] = True
        new.timings = {"recompose": (time.perf_counter() - t0) * 1e3}
        return new

    @property
    def rule(self) -> str | None:
        """The fusion rule this pair runs (``anatomy`` needs a CT; None for baselines)."""
        p = self.prepared
        return self.fuser.rule_for(p.ct01, p.mri01, p.bone)

    @property
    def n_slices(self) -> int:
        """Number of slices of the common grid."""
        return self.done.size

    def steps(
        self, first: int | None = None, *, cancel: threading.Event | None = None
    ) -> Iterator[FusionStep]:
        """Fuse every slice not yet done, ``first`` alone first, then outwards from it.

        The first slice is fused alone (it is on screen), the rest in the fuser's batches.
        In a volume the first slice's neighbours within its z windows are encoded with it
        (:mod:`brainfuse.fusion.volume`), and every slice's numbers are the same whatever
        the order or a cancel and resume.

        Yields
        ------
        FusionStep after each slice (its arrays are written by then).

        Raises
        ------
        CancelledError
            ``cancel`` was set (checked between batches of slices).
        """
        t0 = time.perf_counter()
        order = [k for k in slice_order(self.n_slices, first) if not self.done[k]]
        total, done = self.n_slices, int(self.done.sum())
        p = self.prepared
        if self.neighbours is not None:
            self.neighbours.done |= self.done
        recompose = self.fuser.method == "cnn"  # the baselines' maps are not their weights
        for part in (order[:1], order[1:]):
            slices = self.fuser.slices(
                p.ct01,
                p.mri01,
                part,
                bone=p.bone,
                decide=p.decide,
                cancel=cancel,
                timings=self.timings,
                neighbours=self.neighbours,
                nodata=p.nodata,
            )
            for s in slices:
                k = s.index
                self.decision_map[k], self.soft_map[k] = s.decision, s.soft
                if not isinstance(self.fused, np.ndarray):
                    pass  # composed when read, from the weight as stored
                elif recompose:  # from the weight as stored (see soft_map)
                    self.fused[k] = compose(self.soft_map[k], p.ct01[k], p.mri01[k])
                else:
                    self.fused[k] = s.fused
                self.done[k] = True
                done += 1
                yield FusionStep(k, done, total)
        self.timings["total"] = self.timings.get("total", 0.0) + (time.perf_counter() - t0) * 1e3

    def result(self) -> PairResult:
        """Assemble the typed result on the reference grid (call when every slice is done)."""
        p = self.prepared
        ref = p.ct if p.reference == "ct" else p.mri
        fusion = FusionResult(
            fused=self.fused,
            decision_map=self.decision_map,
            soft_map=self.soft_map,
            method=self.fuser.method,
            device=self.fuser.device,
            timings=dict(self.timings),
            fallback=self.fuser.fallback,
            model_sha256=self.fuser.model_sha256,
            rule=self.rule,
        )
        dm = ImageVolume(  # on the reference grid; the fused image takes the same geometry
            self.decision_map,
            spacing=ref.spacing,
            origin=ref.origin,
            direction=ref.direction,
            has_geometry=ref.has_geometry,
            modality="OT",
            description="decision map (1 = CT)",
        )
        rgb = self.fused.ndim == 4
        fused = dm.with_array(
            to_uint8(self.fused) if rgb else self.fused,
            is_rgb=rgb,
            description=f"BrainFuse fusion ({fusion.method}) of {p.ct.name} and {p.mri.name}",
        )
        return PairResult(
            ct=p.ct,
            mri=p.mri,
            ct01=p.ct01,
            mri01=p.mri01,
            fused=fused,
            decision_map=dm,
            soft_map=self.soft_map,
            fusion=fusion,
            windows=dict(p.windows),
            transform=p.transform,
            reference=p.reference,
            registration=p.registration,
            warnings=list(p.warnings),
            identity=p.identity,
        )


def _stage(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f: progress(lo + (hi - lo) * float(f))


def fuse_pair(
    ct: ImageVolume,
    mri: ImageVolume,
    *,
    method: str = "cnn",
    rule: str | None = None,
    device: str = "auto",
    ct_window: WindowSpec = None,
    mr_window: WindowSpec = None,
    register: str = "auto",
    reference: str = "auto",
    first: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    fuser: Fuser | None = None,
    allow_different_patients: bool = False,
    transform: SimpleITK.Transform | None = None,
) -> PairResult:
    """Fuse a CT (or PET/SPECT) with an MRI: one grid, windows, fusion.

    Parameters
    ----------
    ct, mri : ImageVolume
        Image 1 (CT in HU, 8-bit slice, or colour PET/SPECT) and image 2 (MRI).
    method : str
        See :func:`brainfuse.fusion.available_methods`; ignored when ``fuser`` is given.
    rule : {"anatomy", "sesf"} or None
        The ``cnn`` method's rule (default the settings' default, ``anatomy``); ignored
        when ``fuser`` is given. The rule that ran is ``result.fusion.rule``.
    device : {"auto", "cpu", "cuda"}
        Ignored when ``fuser`` is given.
    ct_window, mr_window : preset name, ``"C/W"``, (center, width) or Window, optional
        Windows mapping each source to [0, 1] (defaults: CT brain 40/80 HU, MR robust
        percentiles, 8-bit images as they are).
    register : {"auto", "none", "geometry", "rigid"}
    reference : {"auto", "mri", "ct"}
        Whose grid the result is on (:func:`brainfuse.grid.align_pair`).
    first : int, optional
        Slice fused first (alone); default the middle one.
    progress : callable(fraction) or None
    cancel : threading.Event or None
    fuser : Fuser or None
        A fuser created once by the caller; otherwise one is made.
    allow_different_patients : bool
        Fuse sources of different patients (recorded in every export's provenance).
    transform : SimpleITK.Transform or None
        A saved rigid transform to align by instead of ``register`` (see :func:`align`).

    Returns
    -------
    PairResult

    Raises
    ------
    DifferentPatientsError, GeometryMismatchError, RegistrationError, CancelledError,
    ModelError, WindowError
    """
    aligned = align(
        ct,
        mri,
        register=register,
        reference=reference,
        progress=_stage(progress, 0.0, 0.3),
        cancel=cancel,
        allow_different_patients=allow_different_patients,
        transform=transform,
    )
    prepared = prepare(
        aligned, ct_window, mr_window, allow_different_patients=allow_different_patients
    )
    if fuser is None:
        from brainfuse.fusion import FusionSettings

        settings = FusionSettings() if rule is None else FusionSettings(rule=rule)
        fuser = Fuser(method, settings=settings, device=device)
    fusion = PairFusion(prepared, fuser)
    for step in fusion.steps(first, cancel=cancel):
        if progress is not None:
            progress(0.3 + 0.7 * step.fraction)
    return fusion.result()
