"""The CT's bone prior for the ``anatomy`` fusion rule: bone grown from its densest pixels.

A threshold alone (``HU >= 300``, or ``>= 200`` on an 8-bit slice) is not bone on every CT:
an 8-bit CT stored with a narrow window has grey and white matter at 200-249 while the bone
is saturated at 255, and a thresholded brain pixel taken from the CT shows as a speckle in
the fused brain. The prior is therefore grown by hysteresis, slice by slice: the pixels at
the bone level that are connected (scipy's cross-shaped neighbourhood, in the slice) to a
pixel at cortical density:

* 8-bit slices: ``>= 200`` connected to ``>= 250`` (saturated bone);
* Hounsfield units: ``>= 300 HU`` connected to ``>= 700 HU`` (cortical bone).

On a slice whose bone never reaches that density (a smoothed template CT whose skull peaks
near 550 HU, thick slices' partial volume, an 8-bit CT stored with a wide window) the seed is
the densest half of the slice's bone range instead, ``(bone level + slice maximum) / 2``, so
the skull is still found whole.

A bright island with no cortical-density pixel (narrow-window parenchyma, a hyperdense
bleed, a faint calcification) is not bone: it comes from the MRI like the rest of the brain,
the whole island at once. A calcification that reaches cortical density is bone, all of it
from the CT. The slice-by-slice growth keeps a volume's prior computable one slice at a time.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["HYSTERESIS", "bone_prior"]

#: (bone level, cortical density) of each scale: ``"8-bit"`` grey levels, ``"hu"`` HU.
HYSTERESIS = {"8-bit": (200.0, 250.0), "hu": (300.0, 700.0)}


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
    to a seed (cortical density, or the densest half of the slice's bone range where the
    slice never reaches it).
    """
    low, high = HYSTERESIS[scale]
    v = np.asarray(values)
    candidate = v >= low
    if v.ndim < 2 or not candidate.any():
        return candidate
    peak = v.max(axis=(-2, -1), keepdims=True)
    seed = v >= np.where(peak >= high, high, 0.5 * (low + peak))
    structure = np.zeros((3,) * v.ndim, bool)
    centre = (1,) * (v.ndim - 2)
    structure[centre] = ndimage.generate_binary_structure(2, 1)  # in the slice only
    labels, n = ndimage.label(candidate, structure)
    keep = np.zeros(n + 1, bool)
    keep[labels[seed & candidate]] = True
    keep[0] = False
    return keep[labels]
