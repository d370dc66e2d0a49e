"""What the :class:`~brainfuse.fusion.fuser.Fuser` reads from its input stacks, slice by slice.

:class:`SliceFusion` (one fused slice), the input checks (same size, finite values), and
:class:`_Picker`, which reads the decision images of any slices of a volume (the batch's own
slices are not read twice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainfuse.errors import BrainFuseError, GeometryMismatchError
from brainfuse.fusion.colour import rgb_to_ycbcr
from brainfuse.fusion.compose import is_rgb_pair
from brainfuse.model.intensity import UnitStack

__all__ = ["SliceFusion", "check_finite", "check_shapes", "take"]


@dataclass
class SliceFusion:
    """One fused slice, as :meth:`Fuser.slices` yields it.

    Attributes
    ----------
    index : int, the slice's index in the stacks
    fused : float32 (H, W) or (H, W, 3) in [0, 1]
    decision : uint8 (H, W), 1 where image 1 is taken
    soft : float32 (H, W) in [0, 1], the weight of image 1 used
    activity : (activity1, activity2) float32 (H, W) arrays, or None unless kept (in a
        volume, what is compared: ``activity1 - activity2`` summed over the slice's z
        window, and zeros)
    """

    index: int
    fused: np.ndarray
    decision: np.ndarray
    soft: np.ndarray
    activity: tuple[np.ndarray, np.ndarray] | None = None


def check_shapes(image1: UnitStack, image2: UnitStack) -> bool:
    """Validate the shapes; return True when image 1 is RGB."""
    rgb = is_rgb_pair(image1, image2)
    spatial1 = image1.shape[:-1] if rgb else image1.shape
    if image2.ndim not in (2, 3) or spatial1 != image2.shape:
        raise GeometryMismatchError(
            f"the two images must have the same size to be fused: image 1 is "
            f"{'x'.join(map(str, image1.shape))}, image 2 is "
            f"{'x'.join(map(str, image2.shape))} (put them on one grid first)"
        )
    return rgb


def take(stack: UnitStack, idx: list[int]) -> np.ndarray:
    """Slices ``idx`` of a stack: a view when they are consecutive (no copy), else a copy."""
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return stack[idx[0] : idx[0] + len(idx)]
    return stack[idx]


class Picker:
    """The decision images (image 1's luminance or ``decide``) of any slices of a volume.

    The batch's own slices (``idx``, already read as ``d1``/``d2``) are not read again.
    """

    def __init__(self, image1, image2, decide, rgb, idx, d1, d2):
        self.stacks = (image1, image2) if decide is None else decide
        self.rgb = rgb and decide is None
        self.where = {k: i for i, k in enumerate(idx)}
        self.d1 = np.asarray(d1, np.float32)
        self.d2 = np.asarray(d2, np.float32)

    def __call__(self, js: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous float32 (len(js), H, W) decision images of slices ``js``."""
        if all(j in self.where for j in js):
            pos = [self.where[j] for j in js]
            return np.ascontiguousarray(self.d1[pos]), np.ascontiguousarray(self.d2[pos])
        one, two = take(self.stacks[0], js), take(self.stacks[1], js)
        check_finite(one, two)
        if self.rgb:
            one = rgb_to_ycbcr(one)[0]
        return (
            np.ascontiguousarray(one, dtype=np.float32),
            np.ascontiguousarray(two, dtype=np.float32),
        )


def check_finite(image1: np.ndarray, image2: np.ndarray) -> None:
    """Raise a BrainFuseError naming the image that holds NaN or infinite values."""
    for name, im in (("image 1", image1), ("image 2", image2)):
        if not np.all(np.isfinite(im)):
            raise BrainFuseError(f"{name} contains NaN or infinite values; cannot fuse it")
