"""Write a NIfTI-1 file slab by slab, composing and compressing slabs on worker threads.

nibabel writes an image from one whole array (``np.asanyarray(dataobj)``): for a fused volume
that is composed when read (:class:`brainfuse.pipeline.composed.ComposedVolume`) that would
make the whole float32 copy the pipeline avoided. Here nibabel writes only the header; the
voxels follow slab by slab in NIfTI's on-disk order (``x`` fastest, then ``y``, then ``z``:
the bytes of a C-ordered ``(z, y, x)`` slab), so the file is the one nibabel writes, byte for
byte, for uncompressed ``.nii``.

For ``.nii.gz`` the slabs are deflated (:data:`GZIP_STRATEGY`) independently on worker threads (zlib and the
composition release the GIL) and joined into one gzip member as pigz does: each slab's raw
deflate stream ends in a sync flush, the last one finishes the stream, and the CRC-32 and size
of the whole are written after it. The file decompresses to the same bytes as ``.nii``; its
compressed bytes differ from a single-threaded gzip, and equal inputs give equal files (no
timestamp, no file name in the gzip header).
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.arraywriters import get_slope_inter, make_array_writer

__all__ = ["SLAB_BYTES", "can_stream", "stream_nifti"]

#: Uncompressed bytes per slab at most (whole slices; at least one slice).
SLAB_BYTES = 2 << 20
#: Deflate strategy: run-length matches only. On a fused float32 volume (300 x 512 x 512) it
#: deflates 2.5x faster than the default strategy at level 1 for a file 4 % larger (0.667 of
#: the raw bytes against 0.641).
GZIP_STRATEGY = zlib.Z_RLE
#: Fixed gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
_GZIP_HEADER = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\xff"


def can_stream(data: Any) -> bool:
    """Whether ``data`` ((Z, Y, X), not RGB) is written as it is stored, without scaling."""
    dtype = np.dtype(data.dtype)
    return len(data.shape) == 3 and dtype in (np.dtype(np.float32), np.dtype(np.uint8))


def _header_bytes(image: nib.Nifti1Image) -> bytes:
    """Return the header, extensions and padding nibabel writes before the voxels."""
    image.update_header()
    hdr = image.header.copy()
    probe = np.zeros((1, 1, 1), hdr.get_data_dtype())  # same dtype in and out: no scaling
    writer = make_array_writer(probe, hdr.get_data_dtype(), hdr.has_data_slope, True)
    hdr.set_slope_inter(*get_slope_inter(writer))
    buf = _Buffer()
    hdr.write_to(buf)
    offset = int(hdr.get_data_offset())
    return buf.getvalue() + b"\x00" * max(offset - len(buf.getvalue()), 0)


class _Buffer:
    """The least a nibabel header needs to write itself into memory."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def _slabs(n: int, slice_bytes: int) -> list[tuple[int, int]]:
    """Slice ranges of at most :data:`SLAB_BYTES` and a 32nd of the volume (one slice at least)."""
    step = max(1, min(SLAB_BYTES, n * slice_bytes // 32) // max(slice_bytes, 1))
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def _ordered(jobs: list[Callable[[], Any]], threads: int) -> Iterator[Any]:
    """Run ``jobs`` on ``threads`` workers, a bounded number at once; yield results in order."""
    if threads <= 1:
        for job in jobs:
            yield job()
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="brainfuse-nifti") as pool:
        pending: deque[Future[Any]] = deque()
        todo = iter(jobs)
        for job in todo:
            pending.append(pool.submit(job))
            if len(pending) >= threads:
                break
        while pending:
            yield pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(nxt))


def stream_nifti(
    image: nib.Nifti1Image, data: Any, fh: Any, *, gzip_level: int | None, threads: int = 2
) -> None:
    """Write ``image``'s header then the voxels of ``data`` to ``fh``, slab by slab.

    Parameters
    ----------
    image : nibabel.Nifti1Image
        Built on ``data``'s grid and dtype (its own voxels are not read).
    data : (Z, Y, X) ndarray or an array computed slice by slice when indexed
        float32 or uint8 (:func:`can_stream`).
    fh : binary file object, written with ``write`` only
    gzip_level : int or None
        None writes ``.nii``; otherwise a gzip file at this deflate level.
    threads : int
        Workers that read (compose) and compress slabs.
    """
    dtype = image.header.get_data_dtype()
    head = _header_bytes(image)
    z, y, x = data.shape
    spans = _slabs(z, y * x * dtype.itemsize)

    def raw(a: int, b: int) -> np.ndarray:
        return np.ascontiguousarray(data[a:b], dtype=dtype)

    if gzip_level is None:
        fh.write(head)
        for chunk in _ordered([partial(raw, a, b) for a, b in spans], threads):
            fh.write(chunk)
        return

    def deflated(payload: Any, last: bool) -> tuple[tuple[bytes, bytes], int, int]:
        comp = zlib.compressobj(gzip_level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, GZIP_STRATEGY)
        body = comp.compress(payload), comp.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return body, zlib.crc32(payload), memoryview(payload).nbytes

    def job(a: int, b: int) -> Callable[[], tuple[tuple[bytes, bytes], int, int]]:
        return lambda: deflated(raw(a, b), b == z)

    fh.write(_GZIP_HEADER)
    body, crc, size = deflated(head, not spans)
    fh.write(b"".join(body))
    for body, part_crc, part_size in _ordered([job(a, b) for a, b in spans], threads):
        for piece in body:
            fh.write(piece)
        crc, size = crc32_combine(crc, part_crc, part_size), size + part_size
    fh.write(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


def _gf2_times(matrix: Sequence[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: Sequence[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


@functools.cache
def _zero_bytes_operator(k: int) -> tuple[int, ...]:
    """Return the CRC-32 shift operator over ``2**k`` zero bytes (a 32 x 32 GF(2) matrix)."""
    if k == 0:
        one_bit = [0xEDB88320] + [1 << n for n in range(31)]
        return tuple(_gf2_square(_gf2_square(_gf2_square(one_bit))))  # 8 zero bits
    return tuple(_gf2_square(_zero_bytes_operator(k - 1)))


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """Return the CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)``.

    zlib's ``crc32_combine`` (not exposed by Python's :mod:`zlib`): ``crc1`` is advanced over
    ``len2`` zero bytes by the operators for the powers of two in ``len2`` (made once each by
    repeated squaring of the CRC's GF(2) shift operator, then kept), so that each slab's
    checksum can be made on the worker thread that compressed it.
    """
    k = 0
    while len2 > 0:
        if len2 & 1:
            crc1 = _gf2_times(_zero_bytes_operator(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2
