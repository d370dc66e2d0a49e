"""Rigid (6-parameter) registration by Mattes mutual information, on SimpleITK.

The fixed image is the reference grid (by default the MRI), the moving image the other
modality. The result maps points of the fixed image (LPS mm) into the moving image, ready for
:func:`brainfuse.grid.resample_to`.

Method
------
* Transform: ``Euler3DTransform`` (3 rotations about the fixed image's centre + 3
  translations), or ``Euler2DTransform`` when both images are single slices.
* Metric: Mattes mutual information [1]_ (32 histogram bins), estimated on a random sample of
  at most ``samples`` voxels per level with a fixed seed, so runs are reproducible.
* Optimizer: regular-step gradient descent with scales from physical shift, which honours
  ``StopRegistration()`` (LBFGSB does not), so the user can cancel.
* Working copies: images larger than ``max_voxels`` (80³) are block-averaged first, both to
  the same voxel size, which bounds the run time.
* Pyramid: shrink 4/2/1 with Gaussian smoothing 2/1/0 voxels; levels whose images would be
  smaller than 8 voxels along an axis are dropped.
* Initialisation: from the header geometry (identity), the image centres (``geometry``) or
  the intensity centres of mass (``moments``); ``auto`` keeps whichever of the three gives the
  best metric on the coarsest level.
* Intensities are clipped to their 0.5–99.5 percentiles and scaled to [0, 1] first, so a few
  metal or bone voxels do not squeeze the histogram.

References
----------
.. [1] D. Mattes, D. R. Haynor, H. Vesselle, T. K. Lewellen, W. Eubank, "PET-CT image
   registration in the chest using free-form deformations", IEEE Trans. Med. Imaging 22(1),
   120–128, 2003.
.. [2] SimpleITK notebook "Registration Initialization"; ``sitkImageRegistrationMethod.h``
   (StopRegistration).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import SimpleITK

from brainfuse.errors import CancelledError, RegistrationError
from brainfuse.grid._names import label
from brainfuse.grid.sitk_bridge import to_sitk, to_sitk_2d
from brainfuse.model.image import ImageVolume

__all__ = ["RegistrationResult", "register_rigid", "rigid_difference"]

Initializer = Literal["auto", "identity", "geometry", "moments"]
_MIN_LEVEL_SIZE = 8


@dataclass(frozen=True)
class RegistrationResult:
    """Outcome of :func:`register_rigid`.

    Attributes
    ----------
    transform : SimpleITK.Euler3DTransform or SimpleITK.Euler2DTransform
        Maps fixed-image points (LPS mm) to moving-image points.
    metric_value : float
        Final Mattes mutual information at the finest level (negative; lower is better).
    iterations : int
        Optimizer iterations, summed over the pyramid levels.
    stop_condition : str
        The optimizer's stop reason at the last level.
    initializer : str
        The initialisation kept (``identity``, ``geometry`` or ``moments``).
    elapsed_s : float
        Wall time of the registration, seconds.
    """

    transform: SimpleITK.Transform
    metric_value: float
    iterations: int
    stop_condition: str
    initializer: str = "identity"
    elapsed_s: float = 0.0


def _grey01(volume: ImageVolume, two_d: bool) -> SimpleITK.Image:
    """Float32 image scaled to [0, 1] between the 0.5 and 99.5 percentiles (colour → luma)."""
    array = volume.array.astype(np.float32)
    if volume.is_rgb:
        array = array @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    lo, hi = np.percentile(array, [0.5, 99.5])
    if not hi > lo:
        raise RegistrationError(
            f"Cannot register {label(volume)}: the image is uniform (all values {lo:g}), "
            "there is nothing to align."
        )
    array = (np.clip(array, lo, hi) - lo) / np.float32(hi - lo)
    grey = volume.with_array(array.astype(np.float32), is_rgb=False)
    return to_sitk_2d(grey) if two_d else to_sitk(grey)


def _working_spacing(image: SimpleITK.Image, max_voxels: int) -> float:
    """Voxel size (mm) at which ``image``'s field of view holds at most ``max_voxels``."""
    extent = np.asarray(image.GetSize(), dtype=float) * np.asarray(image.GetSpacing())
    return float(np.prod(extent) / max_voxels) ** (1.0 / image.GetDimension())


def _bin_to(image: SimpleITK.Image, spacing_mm: float) -> SimpleITK.Image:
    """Average blocks of voxels (integer factor per axis) to approach ``spacing_mm``."""
    factors = [max(1, round(spacing_mm / s)) for s in image.GetSpacing()]
    factors = [
        min(f, max(1, n // _MIN_LEVEL_SIZE)) for f, n in zip(factors, image.GetSize(), strict=True)
    ]
    return SimpleITK.BinShrink(image, factors) if max(factors) > 1 else image


def _levels(
    image: SimpleITK.Image, shrink: Sequence[int], sigmas: Sequence[float]
) -> tuple[list[int], list[float]]:
    smallest = min(image.GetSize())
    kept = [
        (f, s)
        for f, s in zip(shrink, sigmas, strict=True)
        if f == 1 or smallest // f >= _MIN_LEVEL_SIZE
    ]
    if not kept or kept[-1][0] != 1:
        kept.append((1, 0.0))
    return [f for f, _ in kept], [s for _, s in kept]


def _base_transform(two_d: bool, fixed: SimpleITK.Image) -> SimpleITK.Transform:
    transform = SimpleITK.Euler2DTransform() if two_d else SimpleITK.Euler3DTransform()
    size = np.asarray(fixed.GetSize(), dtype=float)
    centre = fixed.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2))
    transform.SetCenter(centre)
    return transform


def _candidates(
    fixed: SimpleITK.Image, moving: SimpleITK.Image, two_d: bool, initializer: Initializer
) -> dict[str, SimpleITK.Transform]:
    names = ["identity", "geometry", "moments"] if initializer == "auto" else [initializer]
    out: dict[str, SimpleITK.Transform] = {}
    for name in names:
        base = _base_transform(two_d, fixed)
        if name == "identity":
            out[name] = base
            continue
        mode = {
            "geometry": SimpleITK.CenteredTransformInitializerFilter.GEOMETRY,
            "moments": SimpleITK.CenteredTransformInitializerFilter.MOMENTS,
        }.get(name)
        if mode is None:
            raise ValueError(f"unknown initializer {name!r}")
        try:
            out[name] = SimpleITK.CenteredTransformInitializer(fixed, moving, base, mode)
        except RuntimeError:
            continue  # e.g. moments of an empty image; other candidates remain
    return out


def _method(
    factors: Sequence[int], sigmas: Sequence[float], samples: int, fixed: SimpleITK.Image, seed: int
) -> SimpleITK.ImageRegistrationMethod:
    reg = SimpleITK.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    n_voxels = math.prod(fixed.GetSize())
    dim = fixed.GetDimension()
    percentages = [min(1.0, samples * f**dim / n_voxels) for f in factors]
    reg.SetMetricSamplingPercentagePerLevel(percentages, seed)
    reg.SetInterpolator(SimpleITK.sitkLinear)
    reg.SetShrinkFactorsPerLevel(list(factors))
    reg.SetSmoothingSigmasPerLevel(list(sigmas))
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    return reg


def register_rigid(
    fixed: ImageVolume,
    moving: ImageVolume,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    initializer: Initializer = "auto",
    shrink_factors: Sequence[int] = (4, 2, 1),
    smoothing_sigmas: Sequence[float] = (2.0, 1.0, 0.0),
    samples: int = 20000,
    max_iterations: int = 100,
    max_voxels: int = 80**3,
    seed: int = 20250601,
) -> RegistrationResult:
    """Find the rigid transform that best aligns ``moving`` to ``fixed`` (Mattes MI).

    Parameters
    ----------
    fixed, moving : ImageVolume
        The reference image and the image to move; both 3-D volumes, or both single slices
        (then the registration is 2-D, in plane). Colour images are registered by luminance.
    progress : callable, optional
        Called with the fraction done (0–1) at each optimizer iteration.
    cancel : threading.Event, optional
        When set, the registration stops at its next iteration and
        :class:`~brainfuse.errors.CancelledError` is raised.
    initializer : {"auto", "identity", "geometry", "moments"}
        Starting transform; see the module notes.
    shrink_factors, smoothing_sigmas : sequence
        Pyramid levels (shrink factor, Gaussian sigma in voxels), coarse to fine.
    samples : int
        Metric samples per level (random, seeded).
    max_iterations : int
        Optimizer iterations per level at most.
    max_voxels : int
        Larger images are block-averaged (integer factors, ``BinShrink``) to about this many
        voxels before the pyramid, the moving image to the same voxel size; this bounds the
        time (a 128³ volume registers on 64³) at a cost well below a millimetre.
    seed : int
        Seed of the metric sampling.

    Returns
    -------
    RegistrationResult

    Raises
    ------
    RegistrationError
        A single slice against a volume, a uniform image, or images that do not overlap.
    CancelledError
        ``cancel`` was set.
    """
    if fixed.is_2d != moving.is_2d:
        raise RegistrationError(
            f"Cannot register a single slice with a volume ({label(fixed)} has "
            f"{fixed.n_slices} slice(s), {label(moving)} has {moving.n_slices}); use "
            "--register geometry, or give two volumes or two slices."
        )
    if cancel is not None and cancel.is_set():
        raise CancelledError("Registration cancelled.")
    start = time.perf_counter()
    two_d = fixed.is_2d
    fixed_img = _grey01(fixed, two_d)
    moving_img = _grey01(moving, two_d)
    # Register on block-averaged copies of at most ``max_voxels`` (same voxel size for both).
    working = _working_spacing(fixed_img, max_voxels)
    fixed_img, moving_img = _bin_to(fixed_img, working), _bin_to(moving_img, working)
    factors, sigmas = _levels(fixed_img, shrink_factors, smoothing_sigmas)

    initial_name, initial = _choose_initial(
        fixed_img, moving_img, two_d, initializer, factors[0], sigmas[0], samples, seed
    )

    reg = _method(factors, sigmas, samples, fixed_img, seed)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0,
        minStep=1e-3,
        numberOfIterations=max_iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-6,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    transform = type(initial)(initial)  # optimised in place
    reg.SetInitialTransform(transform, inPlace=True)

    state = {"cancelled": False, "iterations": 0}
    n_levels = len(factors)

    def on_iteration() -> None:
        state["iterations"] += 1
        if cancel is not None and cancel.is_set():
            state["cancelled"] = True
            reg.StopRegistration()
            return
        if progress is not None:
            level = reg.GetCurrentLevel()
            within = min(1.0, reg.GetOptimizerIteration() / max_iterations)
            progress(min(1.0, (level + within) / n_levels))

    reg.AddCommand(SimpleITK.sitkIterationEvent, on_iteration)
    try:
        reg.Execute(fixed_img, moving_img)
    except RuntimeError as exc:
        raise RegistrationError(
            f"Registration of {label(moving)} to {label(fixed)} failed: the images do not "
            f"overlap enough once placed in patient space ({_first_line(exc)})."
        ) from exc
    if state["cancelled"] or (cancel is not None and cancel.is_set()):
        raise CancelledError("Registration cancelled.")
    if progress is not None:
        progress(1.0)
    return RegistrationResult(
        transform=transform,
        metric_value=float(reg.GetMetricValue()),
        iterations=int(state["iterations"]),
        stop_condition=reg.GetOptimizerStopConditionDescription(),
        initializer=initial_name,
        elapsed_s=time.perf_counter() - start,
    )


def _first_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _choose_initial(
    fixed: SimpleITK.Image,
    moving: SimpleITK.Image,
    two_d: bool,
    initializer: Initializer,
    factor: int,
    sigma: float,
    samples: int,
    seed: int,
) -> tuple[str, SimpleITK.Transform]:
    candidates = _candidates(fixed, moving, two_d, initializer)
    if len(candidates) == 1:
        return next(iter(candidates.items()))
    # Score each start by the metric on the coarsest level (cheap: a few thousand samples).
    fixed_c = SimpleITK.Shrink(
        SimpleITK.SmoothingRecursiveGaussian(fixed, sigma * min(fixed.GetSpacing()))
        if sigma > 0
        else fixed,
        [factor] * fixed.GetDimension(),
    )
    scores: dict[str, float] = {}
    for name, transform in candidates.items():
        reg = _method([1], [0.0], samples, fixed_c, seed)
        reg.SetInitialTransform(transform)
        try:
            scores[name] = reg.MetricEvaluate(fixed_c, moving)
        except RuntimeError:
            continue
    if not scores:
        return "identity", candidates.get("identity", _base_transform(two_d, fixed))
    best = min(scores, key=scores.__getitem__)
    return best, candidates[best]


class MatrixTransform(Protocol):
    """A SimpleITK transform with a matrix: Euler, Versor, Similarity or Affine.

    ``SimpleITK.Transform`` itself has no ``GetMatrix``; :func:`brainfuse.grid.load_transform` and
    :func:`register_rigid` return the concrete classes, which do.
    """

    def GetDimension(self) -> int:  # noqa: N802 (SimpleITK's name)
        """Return the number of spatial dimensions (2 or 3)."""

    def GetMatrix(self) -> tuple[float, ...]:  # noqa: N802 (SimpleITK's name)
        """Return the row-major dim×dim matrix."""

    def TransformPoint(self, point: tuple[float, ...]) -> tuple[float, ...]:  # noqa: N802
        """Map one point (mm) through the transform."""


def rigid_difference(
    a: MatrixTransform, b: MatrixTransform, centre: Sequence[float]
) -> tuple[float, float]:
    """Measure how far apart two rigid transforms are.

    The rotation is the angle of ``A·B⁻¹``'s rotation matrix; the displacement is
    ``|A(c) − B(c)|`` at the point ``centre`` (e.g. the image centre, LPS mm).

    Parameters
    ----------
    a, b : MatrixTransform
        Two transforms of the same dimension (2 or 3).
    centre : sequence of float
        The point where the displacement is measured (LPS mm).

    Returns
    -------
    tuple of float
        (rotation in degrees, displacement in mm).
    """
    dim = a.GetDimension()
    ra = np.asarray(a.GetMatrix(), dtype=np.float64).reshape(dim, dim)
    rb = np.asarray(b.GetMatrix(), dtype=np.float64).reshape(dim, dim)
    r = ra @ rb.T
    if dim == 2:
        angle = math.degrees(abs(math.atan2(r[1, 0], r[0, 0])))
    else:
        angle = math.degrees(math.acos(float(np.clip((np.trace(r) - 1) / 2, -1.0, 1.0))))
    pa = np.asarray(a.TransformPoint(tuple(float(c) for c in centre)))
    pb = np.asarray(b.TransformPoint(tuple(float(c) for c in centre)))
    return angle, float(np.linalg.norm(pa - pb))
