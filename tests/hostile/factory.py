"""Hostile and odd input files, written by the tests (seeded, small, fast).

Each family of the robustness corpus (issue 17) has a writer here. A :class:`Case` says what
BrainFuse must do with the file: ``refuse`` (exit 2, one ``brainfuse: error:`` line that
contains ``expect``) or ``odd`` (a valid but unusual file: loaded, with at most one warning
line, containing ``expect`` when given). Files are tiny; the only large ones (the 16384²
RLE slice, ~8 MB) live in the memory test.
"""

from __future__ import annotations

import gzip
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from tests.dicom_factory import write_slice

Writer = Callable[[Path, np.random.Generator], Path]

SIZE = 16  # pixels per side of the DICOM slices
VOLUME = (12, 12, 6)  # NIfTI (x, y, z)


@dataclass(frozen=True)
class Case:
    """One hostile or odd input.

    Attributes
    ----------
    family : str
        The corpus family (issue 17).
    name : str
        Unique within the family.
    write : callable
        ``write(folder, rng) -> path`` makes the file (or folder) in ``folder``.
    outcome : str
        ``"refuse"`` or ``"odd"``.
    expect : str
        Text the error (refuse) or the warning (odd) must contain; ``""`` for none.
    partner : str
        ``"nifti"`` (a matching MR volume), ``"twin"`` (the same, with the case file's own
        affine) or ``"dicom"`` (a matching MR slice): what ``brainfuse fuse`` pairs the
        case with.
    fuse_args : tuple of str
        Extra ``brainfuse fuse`` options the case needs to fuse (odd cases).
    """

    family: str
    name: str
    write: Writer
    outcome: str
    expect: str = ""
    partner: str = "nifti"
    fuse_args: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"


# --------------------------------------------------------------------------- helpers
def ct_pixels(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A small CT-like slice of stored values (HU + 1024)."""
    yy, xx = np.mgrid[:size, :size]
    head = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.4) ** 2
    return (np.where(head, 1064, 24) + rng.integers(0, 20, (size, size))).astype(np.uint16)


def dicom_slice(folder: Path, rng: np.random.Generator, name: str = "ct.dcm", **kw) -> Path:
    """A valid classic CT slice (explicit VR little endian)."""
    kw.setdefault("position", (-6.4, -6.4, 0.0))
    return write_slice(folder / name, ct_pixels(rng), **kw)


def _rewrite(path: Path, edit: Callable[[pydicom.Dataset], None], **write_kw) -> Path:
    ds = pydicom.dcmread(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom objects to the invalid values on purpose
        edit(ds)
        ds.save_as(path, enforce_file_format=True, **write_kw)
    return path


def _pixel_data_offset(data: bytes) -> int:
    return data.rindex(b"\xe0\x7f\x10\x00")


def rle_fragment(segments: list[bytes]) -> bytes:
    """An RLE frame: 64-byte header (segment count, offsets) followed by the segments."""
    header = struct.pack("<I", len(segments))
    offsets, at = [], 64
    for seg in segments:
        offsets.append(at)
        at += len(seg)
    header += struct.pack(f"<{15}I", *(offsets + [0] * (15 - len(offsets))))
    return header + b"".join(segments)


def rle_constant_segment(n_bytes: int, value: int) -> bytes:
    """RLE (PackBits) encoding of ``n_bytes`` equal bytes: runs of 128 (``n_bytes % 128 == 0``)."""
    return bytes([257 - 128, value]) * (n_bytes // 128)


def rle_slice(path: Path, rows: int, cols: int, *, segments: list[bytes] | None = None) -> Path:
    """A 16-bit CT slice in RLE Lossless, constant value unless ``segments`` are given."""
    write_slice(path, np.zeros((1, 1), np.uint16), position=(0, 0, 0))
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = rows, cols
    if segments is None:
        segments = [rle_constant_segment(rows * cols, 0x04), rle_constant_segment(rows * cols, 0)]
    ds.PixelData = encapsulate([rle_fragment(segments)])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.save_as(path, enforce_file_format=True)
    return path


def nifti_volume(path: Path, data: np.ndarray, *, zooms=(1.0, 1.0, 1.0)) -> Path:
    img = nib.Nifti1Image(data, np.diag([*zooms, 1.0]))
    img.header.set_xyzt_units("mm")
    nib.save(img, str(path))
    return path


def mr_volume(rng: np.random.Generator) -> np.ndarray:
    x, y, _z = np.mgrid[: VOLUME[0], : VOLUME[1], : VOLUME[2]]
    brain = (x - 6) ** 2 + (y - 6) ** 2 < 20
    return (np.where(brain, 600.0, 20.0) + rng.normal(0, 5, VOLUME)).astype(np.float32)


def _patch_nifti(path: Path, patches: list[tuple[int, str, tuple]], *, gz: bool = False) -> Path:
    raw = bytearray(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    for offset, fmt, values in patches:
        struct.pack_into(fmt, raw, offset, *values)
    path.write_bytes(gzip.compress(bytes(raw)) if gz else bytes(raw))
    return path


def png_declaring(path: Path, width: int, height: int, *, depth: int = 8, colour: int = 0) -> Path:
    """A tiny PNG whose header declares ``width``×``height`` pixels (only one row of data)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width * max(depth // 8, 1) + 1))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


# --------------------------------------------------------------------------- families
def _bomb(width, height, depth=8, colour=0) -> Writer:
    return lambda d, rng: png_declaring(
        d / "bomb_ct.png", width, height, depth=depth, colour=colour
    )


def _syntax(uid: str) -> Writer:
    """A valid slice whose Transfer Syntax UID value is replaced, byte for byte, by ``uid``."""

    def write(d, rng):
        path = dicom_slice(d, rng)
        data = path.read_bytes()
        old = b"1.2.840.10008.1.2.1\x00"  # Explicit VR Little Endian, padded to 20 bytes
        new = uid.encode().ljust(len(old), b"\x00")
        assert len(new) == len(old)
        path.write_bytes(data.replace(old, new, 1))
        return path

    return write


def _deflate_cut(fraction: float) -> Writer:
    def write(d, rng):
        path = dicom_slice(d, rng)
        _rewrite(
            path,
            lambda ds: setattr(ds.file_meta, "TransferSyntaxUID", DeflatedExplicitVRLittleEndian),
        )
        data = path.read_bytes()
        start = data.index(b"\x02\x00\x10\x00")  # past the file meta's transfer syntax
        start = data.index(b"\x00", data.index(b"1.2.840.10008.1.2.1.99", start)) + 1
        cut = start + int((len(data) - start) * fraction)
        path.write_bytes(data[:cut])
        return path

    return write


def _rle_random(seed: int) -> Writer:
    def write(d, rng):
        r = np.random.default_rng(seed)
        segments = [r.bytes(int(r.integers(40, 400))) for _ in range(2)]
        return rle_slice(d / "rle_random.dcm", SIZE, SIZE, segments=segments)

    return write


def _rle_fifteen_segments(d, rng):
    n = SIZE * SIZE
    good = [rle_constant_segment(n, 4), rle_constant_segment(n, 0)]
    path = rle_slice(d / "rle15.dcm", SIZE, SIZE, segments=good)
    data = bytearray(path.read_bytes())
    at = data.index(struct.pack("<II", 2, 64))
    end = 64 + sum(len(s) for s in good)
    struct.pack_into("<I", data, at, 15)
    struct.pack_into("<13I", data, at + 12, *([end] * 13))
    path.write_bytes(bytes(data))
    return path


def _nifti_dims(version: int, dims: tuple[int, ...], *, gz: bool = False, dtype=np.int16) -> Writer:
    def write(d, rng):
        name = f"dims_mr.nii{'.gz' if gz else ''}"
        path = d / name
        cls = nib.Nifti1Image if version == 1 else nib.Nifti2Image
        nib.save(cls(np.zeros((2, 2, 2), dtype), np.eye(4)), str(path))
        full = (len(dims), *dims) + (1,) * (7 - len(dims))
        patch = (40, "<8h", full) if version == 1 else (16, "<8q", full)
        return _patch_nifti(path, [patch], gz=gz)

    return write


def _pixdim(value: float) -> Writer:
    def write(d, rng):
        path = nifti_volume(d / "pixdim_mr.nii", mr_volume(rng))
        # pixdim[1..3] at 80; qform_code at 252, sform_code at 254 set to 0
        return _patch_nifti(path, [(80, "<3f", (value, value, value)), (252, "<2h", (0, 0))])

    return write


def _dicom_edit(name: str, edit: Callable[[pydicom.Dataset], None]) -> Writer:
    return lambda d, rng: _rewrite(dicom_slice(d, rng, name=name), edit)


def _frames(n):
    return lambda ds: setattr(ds, "NumberOfFrames", n)


def _bits(bits: int):
    def edit(ds):
        ds.BitsAllocated = bits
        ds.BitsStored = bits
        ds.HighBit = bits - 1

    return edit


def _huge_header(ds):
    ds.Rows = ds.Columns = 65535
    ds.NumberOfFrames = 5000


def _slope(value: str):
    def edit(ds):
        ds["RescaleSlope"].value = value

    return edit


def _palette_without_lut(ds):
    ds.PhotometricInterpretation = "PALETTE COLOR"


def _palette_short_lut(ds):
    ds.PhotometricInterpretation = "PALETTE COLOR"
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        ds[f"{colour}PaletteColorLookupTableDescriptor"].VR = "US"
        setattr(ds, f"{colour}PaletteColorLookupTableData", b"\x00\x01" * 7)


def _modality_lut(bits: int, n_entries: int):
    def edit(ds):
        item = pydicom.Dataset()
        item.LUTDescriptor = [n_entries, 0, bits]
        item["LUTDescriptor"].VR = "US"
        item.ModalityLUTType = "HU"
        item.LUTData = b"\x00\x00" * max(n_entries, 1)
        item["LUTData"].VR = "OW"
        ds.ModalityLUTSequence = pydicom.Sequence([item])
        for kw in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
            if kw in ds:
                delattr(ds, kw)

    return edit


def _rgb_nifti(channels: int) -> Writer:
    def write(d, rng):
        names = "RGBA"[:channels]
        dtype = np.dtype([(c, "u1") for c in names])
        grey = np.clip(mr_volume(rng) / 3, 0, 255).astype(np.uint8)
        data = np.zeros(VOLUME, dtype)
        for c in names:
            data[c] = grey if c != "A" else 255
        return nifti_volume(d / f"rgb{channels * 8}_mr.nii", data)

    return write


def _unreadable_folder(d, rng):
    folder = d / "series"
    folder.mkdir()
    dicom_slice(folder, rng, name="a.dcm")
    folder.chmod(0)
    return folder


def _unreadable_file(d, rng):
    path = dicom_slice(d, rng, name="locked.dcm")
    path.chmod(0)
    return path


def _unreadable_member(d, rng):
    folder = d / "series"
    for k in range(3):
        path = dicom_slice(
            folder, rng, name=f"{k}.dcm", position=(-6.4, -6.4, 2.0 * k), instance=k + 1
        )
    path.chmod(0)
    return folder


def _cut_in_pixel_header(k: int) -> Writer:
    def write(d, rng):
        path = dicom_slice(d, rng)
        data = path.read_bytes()
        path.write_bytes(data[: _pixel_data_offset(data) + k])
        return path

    return write


def _noisy_header(ds):
    ds.PatientSex = "0000"
    ds.StudyDate = "20231301"
    ds.InstitutionName = "Institute " * 10  # LO longer than 64 characters
    ds.SpecificCharacterSet = "ISO_IR 999"


def _no_preamble(d, rng):
    path = dicom_slice(d, rng)
    data = path.read_bytes()
    ds = pydicom.dcmread(path)
    path.write_bytes(data[132:])
    del ds
    return path


def _missing_last_byte(d, rng):
    path = dicom_slice(d, rng)
    path.write_bytes(path.read_bytes()[:-1])
    return path


def _trailing_padding(d, rng):
    """Pixel data with 64 bytes of padding after the image (less than a frame)."""

    def edit(ds):
        ds.PixelData = ds.PixelData + b"\x00" * 64

    return _rewrite(dicom_slice(d, rng), edit)


def _codestream_declaring(syntax: str, width: int, height: int) -> Writer:
    """A 64×64 slice compressed with ``syntax`` whose codestream then declares another size."""

    def write(d, rng):
        path = write_slice(d / "coded_ct.dcm", ct_pixels(rng, 64), position=(-25.6, -25.6, 0))
        ds = pydicom.dcmread(path)
        ds.compress(syntax)
        frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
        if syntax == JPEG2000Lossless:  # SIZ: Xsiz, Ysiz after Lsiz and Rsiz
            at = frame.index(b"\xff\x4f\xff\x51") + 8
            struct.pack_into(">II", frame, at, width, height)
        else:  # JPEG-LS SOF55: Y, X after Lf and P
            at = frame.index(b"\xff\xf7") + 5
            struct.pack_into(">HH", frame, at, height, width)
        ds.PixelData = encapsulate([bytes(frame)])
        ds.save_as(path, enforce_file_format=True)
        return path

    return write


def _sizeof_hdr(d, rng):
    path = nifti_volume(d / "sizeof_mr.nii", mr_volume(rng))
    return _patch_nifti(path, [(0, "<i", (340,))])


def _voxels(kind: str) -> Writer:
    def write(d, rng):
        data = mr_volume(rng)
        flat = data.reshape(-1)
        picks = rng.choice(flat.size, size=7, replace=False)
        values = {
            "nan": [np.nan],
            "+inf": [np.inf],
            "-inf": [-np.inf],
            "mixed": [np.nan, np.inf, -np.inf],
            "all-nan": [np.nan],
        }
        flat[picks] = np.resize(values[kind], picks.size)
        if kind == "all-nan":
            data[:] = np.nan
        return nifti_volume(d / "voxels_mr.nii", data)

    return write


_NONE = ("--register", "none")  # placeholder geometry pairs only voxel for voxel

CASES: tuple[Case, ...] = (
    # Pillow decompression bomb
    Case("bomb", "png-20000x20000", _bomb(20000, 20000), "refuse", "decompression bomb"),
    Case(
        "bomb", "png16-30000x10000", _bomb(30000, 10000, depth=16), "refuse", "decompression bomb"
    ),
    Case(
        "bomb",
        "png-rgb-12000x12000-cut",
        _bomb(12000, 12000, colour=2),
        "refuse",
        "not a readable PNG",
    ),
    # transfer syntax
    Case(
        "syntax",
        "not-a-transfer-syntax",
        _syntax("1.2.3.4.5.6.7"),
        "refuse",
        "not a transfer syntax",
    ),
    Case(
        "syntax",
        "sop-class-as-syntax",
        _syntax("1.2.840.10008.5.1.4"),
        "refuse",
        "not a transfer syntax",
    ),
    Case("syntax", "garbage-uid", _syntax("abc.def"), "refuse", "not a transfer syntax"),
    # deflated stream cut
    Case("deflate", "cut-30%", _deflate_cut(0.3), "refuse", "ct.dcm"),
    Case("deflate", "cut-70%", _deflate_cut(0.7), "refuse", "ct.dcm"),
    Case("deflate", "cut-95%", _deflate_cut(0.95), "refuse", "ct.dcm"),
    # RLE segments of random bytes
    *(
        Case("rle", f"random-seed{s}", _rle_random(s), "refuse", "rle_random.dcm")
        for s in (1, 2, 3)
    ),
    # compressed data declaring another (huge) size than the DICOM header
    Case(
        "codestream",
        "j2k-30000x30000",
        _codestream_declaring(JPEG2000Lossless, 30000, 30000),
        "refuse",
        "declare 30000×30000",
    ),
    Case(
        "codestream",
        "j2k-128x64",
        _codestream_declaring(JPEG2000Lossless, 128, 64),
        "refuse",
        "declare 128×64",
    ),
    Case(
        "codestream",
        "jpegls-30000x30000",
        _codestream_declaring(JPEGLSLossless, 30000, 30000),
        "refuse",
        "declare 30000×30000",
    ),
    # NIfTI dims
    Case("nifti-dims", "nifti2-2^31", _nifti_dims(2, (2**31, 2, 2)), "refuse", "dims_mr.nii"),
    Case(
        "nifti-dims",
        "nifti2-2^40-cube",
        _nifti_dims(2, (2**40, 2**40, 2**40)),
        "refuse",
        "dims_mr.nii",
    ),
    Case("nifti-dims", "nifti1-negative", _nifti_dims(1, (-5, 2, 2)), "refuse", "dims_mr.nii"),
    Case(
        "nifti-dims", "nifti2-negative", _nifti_dims(2, (2, -(2**40), 2)), "refuse", "dims_mr.nii"
    ),
    Case(
        "nifti-dims",
        "gz-1200^3",
        _nifti_dims(1, (1200, 1200, 1200), gz=True),
        "refuse",
        "dims_mr.nii.gz",
    ),
    # NaN/inf pixdim, qform/sform 0
    Case("pixdim", "nan", _pixdim(float("nan")), "odd", "voxel size", "twin", _NONE),
    Case("pixdim", "inf", _pixdim(float("inf")), "odd", "voxel size", "twin", _NONE),
    Case("pixdim", "zero", _pixdim(0.0), "odd", "repaired", "twin"),
    # BitsAllocated / NumberOfFrames against the pixel data length
    Case("pixel-length", "frames-3-data-1", _dicom_edit("ct.dcm", _frames(3)), "refuse", "ct.dcm"),
    Case("pixel-length", "frames-0", _dicom_edit("ct.dcm", _frames(0)), "refuse", "ct.dcm"),
    Case("pixel-length", "bits-8-data-16", _dicom_edit("ct.dcm", _bits(8)), "refuse", "ct.dcm"),
    Case("pixel-length", "bits-32-data-16", _dicom_edit("ct.dcm", _bits(32)), "refuse", "ct.dcm"),
    Case(
        "pixel-length",
        "65535²x5000-declared",
        _dicom_edit("ct.dcm", _huge_header),
        "refuse",
        "would need about",
    ),
    Case(
        "pixel-length",
        "rescale-slope-nan",
        _dicom_edit("ct.dcm", _slope("NaN")),
        "refuse",
        "every voxel",
    ),
    # palette / modality LUT
    Case(
        "lut",
        "palette-without-lut",
        _dicom_edit("ct.dcm", _palette_without_lut),
        "refuse",
        "ct.dcm",
    ),
    Case("lut", "palette-short-lut", _dicom_edit("ct.dcm", _palette_short_lut), "refuse", "ct.dcm"),
    Case(
        "lut",
        "modality-lut-uint0",
        _dicom_edit("ct.dcm", _modality_lut(0, 256)),
        "refuse",
        "ct.dcm",
    ),
    Case(
        "lut",
        "modality-lut-uint7",
        _dicom_edit("ct.dcm", _modality_lut(7, 256)),
        "refuse",
        "ct.dcm",
    ),
    # RGB NIfTI
    Case("rgb-nifti", "rgb24", _rgb_nifti(3), "odd", ""),
    Case("rgb-nifti", "rgba32", _rgb_nifti(4), "odd", "alpha"),
    # permissions
    Case("permission", "folder", _unreadable_folder, "refuse", "ermission denied"),
    Case("permission", "file", _unreadable_file, "refuse", "ermission denied"),
    Case("permission", "one-file-in-series", _unreadable_member, "refuse", "ermission denied"),
    # file cut inside the Pixel Data element header
    *(
        Case("cut-pixel-header", f"cut+{k}", _cut_in_pixel_header(k), "refuse", "ct.dcm")
        for k in (1, 3, 6, 9, 11)
    ),
    # library warnings on a readable file
    Case("warnings", "invalid-values", _dicom_edit("ct.dcm", _noisy_header), "odd", "", "dicom"),
    Case("warnings", "no-preamble", _no_preamble, "odd", "", "dicom"),
    # damaged but once accepted: the rule is "refuse when voxels may be missing or wrong"
    Case("damaged", "dicom-missing-last-byte", _missing_last_byte, "refuse", "ct.dcm"),
    Case("damaged", "rle-header-15-segments", _rle_fifteen_segments, "refuse", "15"),
    Case("damaged", "nifti-wrong-sizeof-hdr", _sizeof_hdr, "odd", "sizeof_hdr"),
    Case(
        "damaged",
        "dicom-trailing-padding",
        _trailing_padding,
        "odd",
        "64 bytes of padding",
        "dicom",
    ),
    # NaN and ±inf voxels: one rule
    Case("non-finite", "nan", _voxels("nan"), "odd", "NaN"),
    Case("non-finite", "+inf", _voxels("+inf"), "odd", "infinite"),
    Case("non-finite", "-inf", _voxels("-inf"), "odd", "infinite"),
    Case("non-finite", "mixed", _voxels("mixed"), "odd", "NaN and"),
    Case("non-finite", "all-nan", _voxels("all-nan"), "refuse", "every voxel"),
)


def partner(kind: str, folder: Path, rng: np.random.Generator, case_file: Path) -> Path:
    """A valid MR to fuse a case with: a NIfTI volume or a DICOM slice on the case's grid.

    A DICOM partner shares the case file's frame of reference (where it can be read), as
    a CT and an MR of one session would.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "twin":  # the case file's own affine, where it is finite
        affine = np.asarray(nib.load(str(case_file)).affine)
        img = nib.Nifti1Image(mr_volume(rng), affine if np.isfinite(affine).all() else np.eye(4))
        nib.save(img, str(folder / "partner_mr.nii.gz"))
        return folder / "partner_mr.nii.gz"
    if kind != "dicom":
        return nifti_volume(folder / "partner_mr.nii.gz", mr_volume(rng))
    path = dicom_slice(folder, rng, name="mr.dcm", modality="MR", slope=None, window=None)
    try:
        frame = pydicom.dcmread(case_file, force=True, stop_before_pixels=True).FrameOfReferenceUID
    except Exception:  # a hostile case file: any partner will do
        return path
    return _rewrite(path, lambda ds: setattr(ds, "FrameOfReferenceUID", frame))


_PROGRESS_BAR = re.compile(r"^\[[#.]+\] ")


def stderr_lines(text: str) -> list[str]:
    """The non-empty lines a run wrote to stderr, without progress-bar lines (``[###...]``
    of a long ``brainfuse fuse``: neither a warning nor an error)."""
    lines = (line.strip("\r") for line in text.replace("\r", "\n").splitlines())
    return [line for line in lines if line.strip() and not _PROGRESS_BAR.match(line)]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (readable ones) with its SHA-256, to prove nothing changed."""
    import hashlib

    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            try:
                out[str(p)] = hashlib.sha256(p.read_bytes()).digest()
            except OSError:
                out[str(p)] = b"unreadable"
    return out
