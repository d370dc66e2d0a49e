"""A fused volume composed from the stored weight slice by slice when read (no whole copy).

The ``cnn`` method's fused slice ``k`` is ``compose(W[k], CT[k], MRI[k])`` from the pair's
stored soft map ``W`` and its windowed sources (:class:`~brainfuse.pipeline.PairFusion`), so
it can be made again, bit for bit, whenever it is read. ``brainfuse fuse`` keeps the fused
volume this way (:attr:`PairFusion.fused` with ``store_fused=False``): a 512 x 512 x 300
float32 volume is 300 MiB that only the writer needs, slab by slab
(:mod:`brainfuse.export.nifti_stream`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from brainfuse.fusion.compose import compose
from brainfuse.model.intensity import UnitStack

__all__ = ["ComposedVolume"]


class ComposedVolume:
    """``F = W * CT + (1 - W) * MRI`` computed slice by slice when indexed.

    Indexing (``fused[k]``, ``fused[a:b]``, ``fused[[i, j]]``) composes those slices (float32
    in [0, 1], one slice at a time, exactly as :meth:`PairFusion.steps` composes them);
    ``np.asarray(fused)`` makes the whole volume. :class:`~brainfuse.model.image.ImageVolume`
    keeps it as it is (``computed_on_read``).

    Parameters
    ----------
    soft : (Z, Y, X) float16 ndarray, the CT's weight as stored
    ct01, mri01 : (Z, Y, X) UnitStack, the windowed sources
    """

    computed_on_read = True
    dtype = np.dtype(np.float32)

    def __init__(self, soft: np.ndarray, ct01: UnitStack, mri01: UnitStack):
        if not soft.shape == ct01.shape == mri01.shape:
            raise ValueError("the weight and the two sources must have one (Z, Y, X) shape")
        self.soft, self.ct01, self.mri01 = soft, ct01, mri01

    @property
    def shape(self) -> tuple[int, ...]:
        """``(Z, Y, X)``."""
        return tuple(self.soft.shape)

    @property
    def ndim(self) -> int:
        """Number of axes (3)."""
        return self.soft.ndim

    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(self.soft.size)

    def __len__(self) -> int:
        """Return the number of slices."""
        return len(self.soft)

    def compose_slice(self, k: int) -> np.ndarray:
        """Compose slice ``k`` (float32 (Y, X))."""
        return compose(self.soft[k], self.ct01[k], self.mri01[k])

    def __getitem__(self, key: int | np.integer | slice | list[int]) -> np.ndarray:
        """Compose the selected slices (an int gives one 2-D slice)."""
        if isinstance(key, (int, np.integer)):
            return self.compose_slice(range(len(self))[key])
        ks = range(len(self))[key] if isinstance(key, slice) else [int(k) for k in key]
        out = np.empty((len(ks), *self.shape[1:]), np.float32)
        for i, k in enumerate(ks):
            out[i] = self.compose_slice(k)
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        """Compose the slices in order."""
        return (self.compose_slice(k) for k in range(len(self)))

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        """Compose the whole volume (NumPy's array protocol)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)
