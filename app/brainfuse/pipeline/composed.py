"""A fused volume composed from the stored weight slice by slice when read (no whole copy).

The ``cnn`` method's fused slice ``k`` is ``compose(W[k], CT[k], MRI[k])`` from the pair's
stored soft map ``W`` and its windowed sources (:class:`~brainfuse.pipeline.PairFusion`), so
it can be made again, bit for bit, whenever it is read. ``brainfuse fuse`` keeps the fused
volume this way (:attr:`PairFusion.fused` with ``store_fused=False``): a 512 x 512 x 300
float32 volume is 300 MiB that only the writer needs, slab by slab
(:mod:`brainfuse.export.nifti_stream`).
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future

import numpy as np

from brainfuse._runtime.threads import background_thread
from brainfuse.fusion.compose import compose
from brainfuse.model.intensity import UnitStack

__all__ = ["ComposedVolume", "CompressedWeight", "PackedMask", "SliceComputed"]


class SliceComputed:
    """A read-only (Z, Y, X) volume whose slices are computed when indexed (no whole copy kept).

    Indexing (``v[k]``, ``v[a:b]``, ``v[[i, j]]``) computes those slices one at a time;
    ``np.asarray(v)`` makes the whole volume. :class:`~brainfuse.model.image.ImageVolume`
    keeps such an array as it is (``computed_on_read``). Subclasses say how a slice is made
    (:meth:`compose_slice`).
    """

    computed_on_read = True
    dtype: np.dtype

    def __init__(self, shape: tuple[int, int, int]):
        self._shape = (int(shape[0]), int(shape[1]), int(shape[2]))

    def compose_slice(self, k: int) -> np.ndarray:
        """Compute slice ``k``, (Y, X)."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(Z, Y, X)``."""
        return self._shape

    @property
    def ndim(self) -> int:
        """Number of axes (3)."""
        return 3

    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(np.prod(self._shape))

    def __len__(self) -> int:
        """Return the number of slices."""
        return self._shape[0]

    def __getitem__(self, key: int | np.integer | slice | list[int]) -> np.ndarray:
        """Compute the selected slices (an int gives one 2-D slice)."""
        if isinstance(key, (int, np.integer)):
            return self.compose_slice(range(len(self))[key])
        ks = range(len(self))[key] if isinstance(key, slice) else [int(k) for k in key]
        out = np.empty((len(ks), *self._shape[1:]), self.dtype)
        for i, k in enumerate(ks):
            out[i] = self.compose_slice(k)
        return out

    def __iter__(self) -> Iterator[np.ndarray]:
        """Compute the slices in order."""
        return (self.compose_slice(k) for k in range(len(self)))

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        """Compute the whole volume (NumPy's array protocol)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)


class ComposedVolume(SliceComputed):
    """``F = W * CT + (1 - W) * MRI`` computed slice by slice when indexed.

    Slices are float32 in [0, 1], composed exactly as :meth:`PairFusion.steps` composes them.

    Parameters
    ----------
    soft : (Z, Y, X) float16 ndarray, the CT's weight as stored
    ct01, mri01 : (Z, Y, X) UnitStack, the windowed sources
    """

    dtype = np.dtype(np.float32)

    def __init__(self, soft: np.ndarray, ct01: UnitStack, mri01: UnitStack):
        if not soft.shape == ct01.shape == mri01.shape:
            raise ValueError("the weight and the two sources must have one (Z, Y, X) shape")
        super().__init__(soft.shape)
        self.soft, self.ct01, self.mri01 = soft, ct01, mri01

    def compose_slice(self, k: int) -> np.ndarray:
        """Compose slice ``k`` (float32 (Y, X))."""
        return compose(self.soft[k], self.ct01[k], self.mri01[k])


class PackedMask(SliceComputed):
    """A 0/1 uint8 volume (a hard decision map) held as bits, 1 bit a voxel instead of 8.

    Written one slice at a time (``mask[k] = values``, values 0 or 1), read as uint8 0/1.

    Parameters
    ----------
    shape : (Z, Y, X)
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__(shape)
        self.bits = np.zeros((self._shape[0], (self._shape[1] * self._shape[2] + 7) // 8), np.uint8)

    def __setitem__(self, k: int | np.integer, values: np.ndarray) -> None:
        """Store slice ``k`` (0/1 values of shape (Y, X)).

        Raises
        ------
        ValueError
            A value other than 0 or 1, or another shape.
        """
        v = np.asarray(values)
        if v.shape != self._shape[1:] or (v.size and int(v.max(initial=0)) > 1) or v.min() < 0:
            raise ValueError("a packed mask slice holds 0 and 1 only, on the volume's plane")
        self.bits[k] = np.packbits(v.reshape(-1).astype(bool))

    def compose_slice(self, k: int) -> np.ndarray:
        """Unpack slice ``k`` (uint8 0/1 (Y, X))."""
        n = self._shape[1] * self._shape[2]
        return np.unpackbits(self.bits[k], count=n).reshape(self._shape[1:])


class CompressedWeight(SliceComputed):
    """A float16 (Z, Y, X) weight held as losslessly compressed slices, read back bit for bit.

    The CT's weight of a fusion that only writes its result (``brainfuse fuse``) is read once,
    slice by slice, when the fused volume is composed for the writer. Each slice's bytes are
    split into their low and high halves (a weight in [0, 1] has few distinct high bytes:
    sign, exponent and two mantissa bits) and deflated (zlib level 1, run-length strategy):
    2.9x smaller on the 512 x 512 x 300 bench pair (157 -> 53 MiB), 2.4 ms a 512 x 512 slice
    to store and under 1 ms to read (this machine, one core). The deflating runs on one
    background thread (zlib lets go of the GIL), so it costs the fusion's calling thread a
    copy of the slice; at most :attr:`PENDING` slices wait for it. A slice not yet stored
    reads as zeros.

    Parameters
    ----------
    shape : (Z, Y, X)
    """

    dtype = np.dtype(np.float16)
    #: zlib level and strategy of a stored slice.
    LEVEL, STRATEGY = 1, zlib.Z_RLE
    #: Most slices waiting to be deflated before storing another waits for the oldest.
    PENDING = 8

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__(shape)
        self._stored: list[bytes | Future[bytes] | None] = [None] * self._shape[0]
        self._waiting: deque[Future[bytes]] = deque()

    @classmethod
    def deflate(cls, plane: np.ndarray) -> bytes:
        """Compress one float16 slice: its low bytes then its high bytes, deflated."""
        halves = plane.view(np.uint8).reshape(-1, 2).T
        packer = zlib.compressobj(cls.LEVEL, zlib.DEFLATED, 15, 8, cls.STRATEGY)
        return packer.compress(halves.tobytes()) + packer.flush()

    def _held(self, k: int) -> bytes | None:
        stored = self._stored[k]
        if isinstance(stored, Future):
            stored = self._stored[k] = stored.result()
        return stored

    @property
    def nbytes(self) -> int:
        """Bytes held (the compressed slices; waits for those being deflated)."""
        return sum(len(b) for k in range(len(self)) if (b := self._held(k)) is not None)

    def __setitem__(self, k: int | np.integer, values: np.ndarray) -> None:
        """Store slice ``k``, cast to float16 as an assignment to a float16 array casts it.

        Raises
        ------
        ValueError
            Values not of the volume's plane.
        """
        v = np.asarray(values)
        if v.shape != self._shape[1:]:
            raise ValueError("a weight slice must lie on the volume's plane")
        while len(self._waiting) >= self.PENDING:
            self._waiting.popleft().result()
        while self._waiting and self._waiting[0].done():
            self._waiting.popleft()
        plane = v.astype(self.dtype)  # a copy the deflating thread owns
        task = background_thread("deflate").submit(self.deflate, plane)
        self._stored[range(len(self))[k]] = task
        self._waiting.append(task)

    def compose_slice(self, k: int) -> np.ndarray:
        """Decompress slice ``k`` (float16 (Y, X))."""
        stored = self._held(k)
        if stored is None:
            return np.zeros(self._shape[1:], self.dtype)
        halves = np.frombuffer(zlib.decompress(stored), np.uint8).reshape(2, -1)
        return np.ascontiguousarray(halves.T).view(self.dtype).reshape(self._shape[1:])
