"""Intensities, in one place: windows, CT presets, the MR auto window, 0-255 conversion (no Qt).

Every shell maps a source to [0, 1] here, so the window on screen, the fusion and the exports
agree:

* Plain 8-bit images (PNG/JPEG slices, RGB pseudo-colour) are used as they are, 0-255 ->
  0-1 (:func:`from_uint8`), so a fused PNG written on the 0-255 scale (:func:`to_uint8`)
  compares with its sources. They are never put through a Hounsfield window.
* CT in Hounsfield units: a window ``center/width``, default the brain window; the presets
  (:data:`CT_PRESETS`, from ``resources/presets/ct_windows.json``) apply only to data in HU.
* MR and other scans without physical units: :func:`mr_auto_window`, robust percentiles
  (0.5 % and 99.5 % of the voxels above the volume's minimum, i.e. ignoring the zero
  background).

The window used travels with the data (:class:`Window`) so exports can record it.

The CT's bone is found in the CT's own values, never through a display window: the anatomy
metrics' threshold ``HU >= 300`` on CT in Hounsfield units, ``>= 200`` on 8-bit CT slices
(:func:`bone_mask`; ``../shared/reference/anatomy.md``), and the ``anatomy`` fusion rule's
prior grown from cortical density (:func:`volume_bone_mask`, :mod:`brainfuse.model.bone`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from brainfuse._runtime.resources import resource_path
from brainfuse.errors import BrainFuseError
from brainfuse.model.bone import bone_prior, source_no_data
from brainfuse.model.counting import above_minimum_percentiles, countable
from brainfuse.model.image import ImageVolume
from brainfuse.model.scale255 import from_uint8, to_255, to_uint8

__all__ = [
    "BONE_HU",
    "BONE_LEVEL_8BIT",
    "CT_PRESETS",
    "BoneScale",
    "BoneStack",
    "BoneVolume",
    "NoDataStack",
    "NoDataVolume",
    "UnitStack",
    "UnitVolume",
    "Window",
    "WindowError",
    "WindowSpec",
    "apply_window",
    "bone_mask",
    "bone_scale",
    "default_window",
    "from_uint8",
    "is_eight_bit",
    "load_ct_presets",
    "mr_auto_window",
    "parse_window",
    "to_255",
    "to_uint8",
    "to_unit",
    "volume_bone_mask",
    "volume_no_data",
    "window_for",
]

MR_PERCENTILES = (0.5, 99.5)
_PLAIN_FORMATS = {"PNG", "JPEG", "JPG", "TIFF", "TIF", "BMP"}


class WindowError(BrainFuseError, ValueError):
    """A window was given in a form that cannot be read, or does not apply to the image."""


@dataclass(frozen=True)
class Window:
    """A window (window/level): ``low`` -> 0, ``high`` -> 1, clipped outside.

    Attributes
    ----------
    center, width : float
        Centre (level) and width (> 0) in the image's units (HU for CT).
    kind : str
        ``"preset:<name>"``, ``"manual"``, ``"percentile"`` (MR auto) or ``"8-bit"``.
    units : str
        Those of the source (``"HU"`` for CT), ``""`` for none.
    """

    center: float
    width: float
    kind: str = "manual"
    units: str = ""

    @property
    def low(self) -> float:
        """Value shown black: ``center - width / 2``."""
        return self.center - self.width / 2.0

    @property
    def high(self) -> float:
        """Value shown white: ``center + width / 2``."""
        return self.center + self.width / 2.0

    @property
    def levels(self) -> tuple[float, float]:
        """``(low, high)`` display limits."""
        return (self.low, self.high)

    def dragged(self, d_width: float, d_center: float) -> Window:
        """Move the window by a mouse drag: width and centre moved, width kept >= 1, manual."""
        return Window(self.center + d_center, max(1.0, self.width + d_width), "manual", self.units)

    def describe(self) -> str:
        """E.g. ``preset:brain C40/W80 HU``, ``percentile C406/W804`` (rounded to read).

        Values of 100 or more are shown whole, smaller ones with three significant digits:
        a display window finer than that changes nothing a reader can see.
        """
        u = f" {self.units}" if self.units else ""
        return f"{self.kind} C{_readable(self.center)}/W{_readable(self.width)}{u}"


def _readable(value: float) -> str:
    """``405.586`` -> ``406``, ``0.12345`` -> ``0.123``, ``40.0`` -> ``40``."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def load_ct_presets(path: Path | None = None) -> dict[str, Window]:
    """CT window presets (HU) from ``resources/presets/ct_windows.json``, in menu order.

    Raises
    ------
    ValueError
        If an entry has no positive ``width``.
    """
    if path is None:
        path = resource_path("resources") / "presets" / "ct_windows.json"
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    presets = {}
    for name, entry in raw.items():
        if name.startswith("_"):
            continue
        if float(entry.get("width", 0)) <= 0:
            raise ValueError(f"{path}: preset {name!r} needs a positive width, got {entry}")
        presets[name] = Window(
            float(entry["center"]), float(entry["width"]), f"preset:{name}", "HU"
        )
    return presets


#: CT window presets in HU, the one registry (menu, command line, engine): brain 40/80,
#: subdural 75/215, bone 500/2000.
CT_PRESETS: dict[str, Window] = load_ct_presets()

#: What a caller may give as a window: None (the source's default), a preset name,
#: ``"C/W"`` text, ``(center, width)`` or a :class:`Window`.
WindowSpec = str | tuple[float, float] | Window | None


def parse_window(spec: WindowSpec) -> tuple[float, float] | str | None:
    """``"40/80"`` -> (40, 80); a preset name stays a name; tuples and Windows pass through."""
    if spec is None or isinstance(spec, tuple):
        return spec
    if isinstance(spec, Window):
        return (spec.center, spec.width)
    text = str(spec).strip().lower()
    if text in CT_PRESETS:
        return text
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[/,:]\s*(\d+(?:\.\d+)?)\s*", text)
    if not m or float(m.group(2)) <= 0:
        raise WindowError(
            f"window '{spec}' is not understood: give CENTER/WIDTH (e.g. 40/80, width > 0) "
            f"or one of the presets {', '.join(CT_PRESETS)}"
        )
    return float(m.group(1)), float(m.group(2))


def apply_window(array: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map ``low -> 0``, ``high -> 1``, clipped, float32."""
    scale = 1.0 / max(high - low, 1e-12)
    out = np.array(array, dtype=np.float32)  # the one float copy, then in place
    out -= np.float32(low)
    out *= np.float32(scale)
    return np.clip(out, 0.0, 1.0, out=out)


def is_eight_bit(volume: ImageVolume) -> bool:
    """Colour, or a plain 8-bit picture (PNG/JPEG/TIFF or no patient geometry) not in HU."""
    plain = volume.format.upper() in _PLAIN_FORMATS or not volume.has_geometry
    return volume.is_rgb or (volume.array.dtype == np.uint8 and plain and volume.units != "HU")


def _is_hu(volume: ImageVolume) -> bool:
    return volume.units == "HU" or (volume.modality == "CT" and not is_eight_bit(volume))


#: Bone threshold in Hounsfield units.
BONE_HU = 300.0
#: Bone threshold on 8-bit CT slices (0-255).
BONE_LEVEL_8BIT = 200.0
_NOT_CT = {"MR", "PT", "NM", "PET", "SPECT"}


#: How image 1's bone is found: ``"8-bit"`` (an 8-bit slice, >= 200) or ``"hu"`` (HU, >= 300).
BoneScale = Literal["8-bit", "hu"]


def bone_mask(values: np.ndarray, scale: BoneScale) -> np.ndarray:
    """Find the bone of a CT from its own values; a boolean array shaped like ``values``.

    ``HU >= 300`` (``scale="hu"``) or ``>= 200`` on an 8-bit slice (``scale="8-bit"``,
    values 0-255).
    """
    if scale == "hu":
        return np.asarray(values) >= BONE_HU
    if scale == "8-bit":
        return np.asarray(values) >= BONE_LEVEL_8BIT
    raise BrainFuseError(f"bone scale must be '8-bit' or 'hu', not {scale!r}")


def bone_scale(volume: ImageVolume) -> BoneScale | None:
    """Tell how image 1's bone is found: ``"hu"``, ``"8-bit"`` or None.

    ``"hu"`` for CT in HU, ``"8-bit"`` for a grey 8-bit picture (the CT role of a plain slice
    pair), None for colour PET/SPECT or a scan labelled MR/PET/NM (no CT).
    """
    if volume.is_rgb or volume.modality.upper() in _NOT_CT:
        return None
    if _is_hu(volume):
        return "hu"
    return "8-bit" if is_eight_bit(volume) else None


class _SliceWise:
    """A value computed from a source's voxels slice by slice when read (no whole copy kept).

    Indexing (``stack[k]``, ``stack[a:b]``, ``stack[[i, j]]``) computes those slices;
    ``np.asarray(stack)`` computes the whole array. Subclasses say what is computed.
    """

    dtype: np.dtype

    def __init__(self, array: np.ndarray):
        self.array = array

    def _compute(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the computed array (that of the source)."""
        return tuple(self.array.shape)

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return self.array.ndim

    @property
    def size(self) -> int:
        """Number of values."""
        return self.array.size

    def __len__(self) -> int:
        """Return the number of slices."""
        return len(self.array)

    def __getitem__(self, key: int | slice | list[int]) -> np.ndarray:
        """Compute the selected slices."""
        return self._compute(self.array[key])

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        """Compute the whole volume (NumPy's array protocol)."""
        out = self._compute(self.array)
        return out if dtype is None else out.astype(dtype, copy=False)


class BoneVolume(_SliceWise):
    """The bone prior of a CT volume, found slice by slice when read.

    Indexing (``bone[k]``, ``bone[a:b]``, ``bone[[i, j]]``) returns the boolean
    :func:`~brainfuse.model.bone.bone_prior` of those slices; ``np.asarray(bone)`` makes the
    whole mask. On a 512 x 512 x 300 CT this saves a 75 MiB array for a labelling that costs
    a few ms per slice.

    Parameters
    ----------
    array : the CT's voxels, ``(Z, Y, X)``
    scale : BoneScale, from :func:`bone_scale`
    """

    dtype = np.dtype(bool)

    def __init__(self, array: np.ndarray, scale: BoneScale):
        super().__init__(array)
        self.scale = scale

    def _compute(self, values: np.ndarray) -> np.ndarray:
        return bone_prior(values, self.scale)


class NoDataVolume(_SliceWise):
    """Which source has no data, per voxel of a CT-MRI pair on one grid, found when read.

    Indexing returns the uint8 codes of :func:`~brainfuse.model.bone.source_no_data` of
    those slices (``CT_NO_DATA``: take the MRI; ``MRI_NO_DATA``: take the CT; 0).

    Parameters
    ----------
    ct, mri : the two sources' voxels on the same grid, ``(Z, Y, X)`` (the MRI grey)
    scale : BoneScale of the CT, from :func:`bone_scale`
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, ct: np.ndarray, mri: np.ndarray, scale: BoneScale):
        super().__init__(ct)
        self.mri = mri
        self.scale = scale
        self.mri_floor = float(np.min(mri)) if np.size(mri) else 0.0

    def __getitem__(self, key: Any) -> np.ndarray:
        """Compute the selected slices."""
        return source_no_data(self.array[key], self.scale, self.mri[key], self.mri_floor)

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        """Compute the whole volume (NumPy's array protocol)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)


#: Which source has no data, as the engine reads it: a uint8 array or a :class:`NoDataVolume`.
NoDataStack = np.ndarray | NoDataVolume


def volume_no_data(ct: ImageVolume, mri: ImageVolume, *, lazy: bool = False) -> NoDataStack | None:
    """Return which source has no data on a pair's common grid, or None when image 1 is no CT.

    :class:`NoDataVolume` (``lazy=True``) or its whole uint8 array; an RGB MRI (PET or
    SPECT is image 1 then, never a CT) gives None.
    """
    scale = bone_scale(ct)
    if scale is None or mri.is_rgb:
        return None
    stack = NoDataVolume(ct.array, mri.array, scale)
    return stack if lazy else np.asarray(stack)


#: The bone prior as the engine reads it: a bool array or a :class:`BoneVolume`.
BoneStack = np.ndarray | BoneVolume


@overload
def volume_bone_mask(volume: ImageVolume, *, lazy: Literal[False] = False) -> np.ndarray | None: ...
@overload
def volume_bone_mask(volume: ImageVolume, *, lazy: Literal[True]) -> BoneVolume | None: ...
@overload
def volume_bone_mask(volume: ImageVolume, *, lazy: bool) -> BoneStack | None: ...
def volume_bone_mask(volume: ImageVolume, *, lazy: bool = False) -> BoneStack | None:
    """Return the bone prior of image 1, or None when it is not a CT.

    :func:`brainfuse.model.bone.bone_prior` (bone grown from cortical density) in its
    :func:`bone_scale`; never depends on a display window.
    ``lazy=True`` returns a :class:`BoneVolume` that finds the bone slice by slice when read.
    """
    scale = bone_scale(volume)
    if scale is None:
        return None
    volume_mask = BoneVolume(volume.array, scale)
    return volume_mask if lazy else np.asarray(volume_mask)


def mr_auto_window(array: np.ndarray, units: str = "") -> Window:
    """Choose the automatic window of a scan without physical units: robust percentiles.

    Parameters
    ----------
    array : ndarray, any shape
    units : str, recorded in the window

    Returns
    -------
    Window of kind ``"percentile"``: 0.5 % and 99.5 % of the voxels above the minimum
    (the zero background ignored); the full range when those coincide.
    """
    a = np.asarray(array)
    lo_all, hi_all = float(a.min()), float(a.max())
    if countable(a):  # same numbers, without sorting a copy of the foreground
        lo, hi = above_minimum_percentiles(a, MR_PERCENTILES)
    else:
        fg = a[a > lo_all]
        lo, hi = np.percentile(fg if fg.size else a, MR_PERCENTILES)
    if hi <= lo:
        lo, hi = lo_all, (hi_all if hi_all > lo_all else lo_all + 1.0)
    return Window((lo + hi) / 2.0, float(hi - lo), "percentile", units)


def default_window(volume: ImageVolume) -> Window:
    """Choose the window a source gets when none is asked for.

    8-bit images as they are (``"8-bit"``, 127.5/255), CT in HU the brain preset, anything
    else :func:`mr_auto_window`.
    """
    if is_eight_bit(volume):
        return Window(127.5, 255.0, "8-bit", volume.units)
    if _is_hu(volume):
        return replace(CT_PRESETS["brain"], units=volume.units)
    return mr_auto_window(volume.array, volume.units)


def window_for(volume: ImageVolume, window: WindowSpec = None) -> Window:
    """Resolve the window :func:`to_unit` applies to ``volume`` (see there for ``window``).

    Raises
    ------
    WindowError
        A window for a colour image, a HU preset for an image without HU, or bad text.
    """
    spec = parse_window(window)
    if spec is None and is_eight_bit(volume):
        return default_window(volume)
    if volume.is_rgb:
        raise WindowError(
            f"{volume.name or 'colour image'}: colour (RGB) images are used as they are; "
            "a window cannot be applied to them"
        )
    if isinstance(spec, str):
        if not _is_hu(volume):
            raise WindowError(
                f"the CT preset '{spec}' is in Hounsfield units, but {volume.name or 'this image'}"
                " has none (an 8-bit picture?): give CENTER/WIDTH in its own values"
            )
        return replace(CT_PRESETS[spec], units=volume.units)
    if spec is not None:
        return Window(spec[0], spec[1], "manual", volume.units)
    return default_window(volume)


def _windowed(array: np.ndarray, window: Window) -> np.ndarray:
    if window.kind == "8-bit":
        return from_uint8(array)
    return apply_window(array, window.low, window.high)


class UnitVolume(_SliceWise):
    """A source through its window, computed slice by slice when read (no whole float copy).

    Indexing (``stack[k]``, ``stack[a:b]``, ``stack[[i, j]]``) returns float32 in [0, 1]
    exactly as :func:`to_unit` would; ``np.asarray(stack)`` makes the whole array.

    Parameters
    ----------
    array : the source's voxels (``(Z, Y, X)`` or ``(Z, Y, X, 3)``)
    window : Window, from :func:`window_for`
    """

    dtype = np.dtype(np.float32)

    def __init__(self, array: np.ndarray, window: Window):
        super().__init__(array)
        self.window = window

    def _compute(self, values: np.ndarray) -> np.ndarray:
        return _windowed(values, self.window)


#: A source in [0, 1] as the engine reads it: a float32 array, or a :class:`UnitVolume`
#: windowed slice by slice when indexed.
UnitStack = np.ndarray | UnitVolume


@overload
def to_unit(
    volume: ImageVolume, window: WindowSpec = None, *, lazy: Literal[False] = False
) -> tuple[np.ndarray, Window]: ...
@overload
def to_unit(
    volume: ImageVolume, window: WindowSpec = None, *, lazy: Literal[True]
) -> tuple[UnitVolume, Window]: ...
@overload
def to_unit(
    volume: ImageVolume, window: WindowSpec = None, *, lazy: bool
) -> tuple[np.ndarray | UnitVolume, Window]: ...


def to_unit(
    volume: ImageVolume, window: WindowSpec = None, *, lazy: bool = False
) -> tuple[np.ndarray | UnitVolume, Window]:
    """Source voxels -> float32 in [0, 1] plus the window used.

    Parameters
    ----------
    volume : ImageVolume
    window : None, preset name, ``"C/W"`` text, ``(center, width)`` or Window
        ``None`` picks :func:`default_window`. Presets are in HU: only for CT in HU.
    lazy : bool
        Return a :class:`UnitVolume` that windows only the slices read (same numbers, no
        whole float copy), for volumes.

    Returns
    -------
    array01 : float32 array (or UnitVolume) shaped like ``volume.array``
    window : Window

    Raises
    ------
    WindowError
        A window for a colour image, a HU preset for an image without HU, or bad text.
    """
    used = window_for(volume, window)
    return (UnitVolume(volume.array, used) if lazy else _windowed(volume.array, used)), used
