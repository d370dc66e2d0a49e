"""The CT's bone prior for the ``anatomy`` fusion rule: bone grown from its densest pixels.

A threshold alone (``HU >= 300``, or ``>= 200`` on an 8-bit slice) is not bone on every CT:
an 8-bit CT stored with a narrow window has grey and white matter at 200-249 while the bone
is saturated at 255, and a thresholded brain pixel taken from the CT shows as a speckle in
the fused brain. The prior is therefore grown by hysteresis, slice by slice: the pixels at
the bone level that are connected (scipy's cross-shaped neighbourhood, in the slice) to a
pixel at cortical density:

* 8-bit slices: ``>= 200`` connected to ``>= 250`` (saturated bone);
* Hounsfield units: ``>= 300 HU`` connected to ``>= 700 HU`` (cortical bone).

On a slice that never reaches cortical density (a smoothed template CT whose skull peaks near
550 HU, thick slices' partial volume, an 8-bit CT stored with a wide window) there is nothing
to grow from, and the plain threshold is the prior (there the threshold does not reach the
parenchyma).

A bright island with no cortical-density pixel (narrow-window parenchyma, a hyperdense
bleed, a faint calcification) is not bone: it comes from the MRI like the rest of the brain,
the whole island at once. A calcification that reaches cortical density is bone, all of it
from the CT. The slice-by-slice growth keeps a volume's prior computable one slice at a time.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "CT_NO_DATA",
    "HYSTERESIS",
    "MRI_NO_DATA",
    "NO_DATA_HU",
    "TISSUE_HU",
    "bone_prior",
    "no_data",
    "source_no_data",
    "touching_border",
]

#: (bone level, cortical density) of each scale: ``"8-bit"`` grey levels, ``"hu"`` HU.
HYSTERESIS = {"8-bit": (200.0, 250.0), "hu": (300.0, 700.0)}


def _in_slice(ndim: int) -> np.ndarray:
    """Return scipy's cross-shaped neighbourhood within a slice (no link between slices)."""
    structure = np.zeros((3,) * ndim, bool)
    structure[(1,) * (ndim - 2)] = ndimage.generate_binary_structure(2, 1)
    return structure


def bone_prior(values: np.ndarray, scale: str) -> np.ndarray:
    """Return the bone prior of a CT slice ``(H, W)`` or stack ``(Z, H, W)``, bool.

    Parameters
    ----------
    values : ndarray
        The CT's own values: 0-255 (``scale="8-bit"``) or Hounsfield units (``"hu"``).
    scale : {"8-bit", "hu"}

    Returns
    -------
    bool array shaped like ``values``: pixels at the bone level connected within their slice
    to a pixel at cortical density; every bone-level pixel of a slice that never reaches it.
    """
    low, high = HYSTERESIS[scale]
    v = np.asarray(values)
    candidate = v >= low
    if v.ndim < 2 or not candidate.any():
        return candidate
    peak = v.max(axis=(-2, -1), keepdims=True)
    seed = v >= np.where(peak >= high, high, low)
    labels, n = ndimage.label(candidate, _in_slice(v.ndim))
    keep = np.zeros(n + 1, bool)
    keep[labels[seed & candidate]] = True
    keep[0] = False
    return keep[labels]


#: The CT's "no data" level in HU: the padding a scanner or a reslicing writes where it has no
#: measurement (-1024 HU and below), and the fill outside a resampled CT's field of view
#: (exactly -1000 HU). An 8-bit slice has none: its zeros are the air around the head (giving
#: them to the MRI shows the MRI's background noise and scalp margin where the CT is black).
NO_DATA_HU = -1000.0


def no_data(values: np.ndarray, scale: str) -> np.ndarray:
    """Return where a CT slice ``(H, W)`` or stack ``(Z, H, W)`` has no data, bool.

    In Hounsfield units (``scale="hu"``), the pixels at or below :data:`NO_DATA_HU` that are
    connected, within their slice, to the slice's border: outside the field of view, or a
    straight cut filled with padding when the CT was resliced. Air enclosed by the head
    (sinuses, mastoid cells) is not connected to the border and keeps its CT values. On an
    8-bit slice (``scale="8-bit"``), nothing.
    """
    v = np.asarray(values)
    if scale != "hu":
        return np.zeros(v.shape, bool)
    return touching_border(v <= NO_DATA_HU)


#: Codes of :func:`source_no_data`: the CT has no data (take the MRI) or the MRI has none
#: (take the CT).
CT_NO_DATA = 1
MRI_NO_DATA = 2
#: Above this the CT shows tissue (fat is about -100 HU, lung and air well below).
TISSUE_HU = -500.0


def touching_border(mask: np.ndarray) -> np.ndarray:
    """Keep the parts of ``mask`` connected, within their slice, to the slice's border."""
    if mask.ndim < 2 or not mask.any():
        return np.zeros(mask.shape, bool)
    labels, n = ndimage.label(mask, _in_slice(mask.ndim))
    border = np.zeros(n + 1, bool)
    for edge in (labels[..., 0, :], labels[..., -1, :], labels[..., :, 0], labels[..., :, -1]):
        border[edge] = True
    border[0] = False
    return border[labels]


def source_no_data(
    ct_values: np.ndarray, scale: str, mri_values: np.ndarray, mri_floor: float
) -> np.ndarray:
    """Return which source has no data at each pixel of a slice or stack, uint8.

    :data:`CT_NO_DATA` where :func:`no_data` says so; :data:`MRI_NO_DATA` where the MRI is
    at its floor (``mri_values <= mri_floor``: the MRI's lowest value, which is the fill
    outside its field of view after resampling and the zeros a skull-stripped MRI or a slab
    leaves around what it shows) in a region connected, within the slice, to the slice's
    border, while the CT there shows tissue (above :data:`TISSUE_HU`): the CT has measured
    something the MRI has not; 0 elsewhere. A dark pixel enclosed by the MRI's head (a
    sulcus, a sinus) is never "no data". On an 8-bit CT (``scale="8-bit"``) nothing is
    flagged: its grey levels cannot tell tissue from air.

    Parameters
    ----------
    ct_values : ndarray (H, W) or (Z, H, W), the CT's own values
    scale : {"8-bit", "hu"}
    mri_values : ndarray shaped like ``ct_values``, the MRI's own values on the same grid
    mri_floor : float, the MRI's lowest value (over the whole volume)
    """
    ct = np.asarray(ct_values)
    out = no_data(ct, scale).astype(np.uint8)
    if scale != "hu":
        return out
    empty_mri = touching_border(np.asarray(mri_values) <= mri_floor) & (ct > TISSUE_HU)
    out[empty_mri & (out == 0)] = MRI_NO_DATA
    return out
