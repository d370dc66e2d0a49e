"""The image size a compressed DICOM frame's own codestream declares (JPEG, JPEG-LS, J2K).

A decoder allocates what the codestream says, whatever the DICOM header claims, so the
reader checks the two agree before decoding (:func:`brainfuse.io.dicom_read.check_pixel_header`).
"""

from __future__ import annotations

import struct

__all__ = ["codestream_size"]

_SOF = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0), 0xF7}
_STANDALONE = {0x01, 0xD8, *range(0xD0, 0xD8)}


def codestream_size(frame: bytes) -> tuple[int, int] | None:
    """``(columns, rows)`` a compressed frame's own header declares, or ``None`` if unknown.

    Reads the JPEG 2000 SIZ marker (``Xsiz − XOsiz``, ``Ysiz − YOsiz``) or the first
    JPEG / JPEG-LS start-of-frame marker (``X``, ``Y``), which is what the decoder will
    allocate for, whatever the DICOM header says.
    """
    at = frame.find(b"\xff\x4f\xff\x51", 0, 4096)  # J2K: SOC then SIZ
    if at >= 0 and len(frame) >= at + 24:
        x, y, x0, y0 = struct.unpack(">IIII", frame[at + 8 : at + 24])
        return x - x0, y - y0
    if not frame.startswith(b"\xff\xd8"):
        return None
    i = 2
    for _ in range(256):  # markers before the frame header: few in real files
        if i + 4 > len(frame) or frame[i] != 0xFF:
            return None
        marker = frame[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker in _SOF:
            if i + 9 > len(frame):
                return None
            rows, cols = struct.unpack(">HH", frame[i + 5 : i + 9])
            return (cols, rows) if rows else None  # Y = 0: rows come later (DNL)
        i += 2 + struct.unpack(">H", frame[i + 2 : i + 4])[0]
    return None
