"""A larger hostile corpus by seeded mutation of valid files (the slow robustness run).

Valid bases (DICOM in several transfer syntaxes, NIfTI-1/2, gzipped NIfTI, PNG, TIFF) are
mutated: cut at a random point, random bytes flipped, 32-bit fields overwritten with
extreme values, a block repeated. Every family of :mod:`tests.hostile.factory` is added
as it is. Run ``python -m tests.hostile.corpus OUT [--seed N] [--per-base N]`` to write the
corpus to a folder; ``tests/hostile/test_corpus.py`` (marked ``slow``) runs it through the
CLI.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

from tests.hostile.factory import CASES, ct_pixels, dicom_slice, mr_volume, nifti_volume

Mutation = Callable[[bytes, np.random.Generator], bytes]


def _cut(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(1, len(data)))]


def _flip(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for at in rng.integers(0, len(out), size=int(rng.integers(1, 9))):
        out[at] = int(rng.integers(0, 256))
    return bytes(out)


def _extreme(data: bytes, rng: np.random.Generator) -> bytes:
    """Overwrite a 32-bit field in the first 1 kB (headers) with 0, -1 or a huge value."""
    out = bytearray(data)
    at = int(rng.integers(0, max(min(len(out), 1024) - 4, 1)))
    value = [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80"]
    out[at : at + 4] = value[int(rng.integers(0, 4))]
    return bytes(out)


def _repeat(data: bytes, rng: np.random.Generator) -> bytes:
    a = int(rng.integers(0, len(data)))
    b = min(len(data), a + int(rng.integers(1, 256)))
    return data[:b] + data[a:b] + data[b:]


MUTATIONS: dict[str, Mutation] = {
    "cut": _cut,
    "flip": _flip,
    "extreme": _extreme,
    "repeat": _repeat,
}


def _bases(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Valid files of every format the loader reads."""
    folder.mkdir(parents=True, exist_ok=True)
    bases = {"dicom-explicit": dicom_slice(folder, rng, name="explicit_ct.dcm")}
    for name, syntax in (
        ("dicom-implicit", ImplicitVRLittleEndian),
        ("dicom-deflated", DeflatedExplicitVRLittleEndian),
        ("dicom-rle", RLELossless),
    ):
        path = dicom_slice(folder, rng, name=f"{name}_ct.dcm")
        ds = pydicom.dcmread(path)
        if syntax == RLELossless:
            ds.compress(RLELossless)
        else:
            ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)
        bases[name] = path
    bases["nifti1"] = nifti_volume(folder / "n1_mr.nii", mr_volume(rng))
    nib.save(nib.Nifti2Image(mr_volume(rng), np.eye(4)), str(folder / "n2_mr.nii"))
    bases["nifti2"] = folder / "n2_mr.nii"
    bases["nifti-gz"] = nifti_volume(folder / "gz_mr.nii.gz", mr_volume(rng))
    Image.fromarray((ct_pixels(rng) // 8).astype(np.uint8)).save(folder / "png_ct.png")
    bases["png"] = folder / "png_ct.png"
    Image.fromarray(ct_pixels(rng)).save(folder / "tiff_ct.tif")
    bases["tiff"] = folder / "tiff_ct.tif"
    return bases


def generate(folder: Path, *, seed: int = 17, per_base: int = 6) -> Iterator[tuple[str, Path]]:
    """Write the corpus into ``folder``; yield ``(case id, path)`` for each file.

    Parameters
    ----------
    folder : Path
        Created if missing; each case gets its own sub-folder.
    seed : int
        Seed of every random choice (same seed, same corpus).
    per_base : int
        Mutated files per base file and mutation kind.
    """
    rng = np.random.default_rng(seed)
    bases = _bases(folder / "_bases", rng)
    for name, base in bases.items():
        data = base.read_bytes()
        raw = gzip.decompress(data) if base.name.endswith(".gz") else data
        for kind, mutate in MUTATIONS.items():
            for k in range(per_base):
                case_dir = folder / f"{name}-{kind}-{k}"
                case_dir.mkdir()
                mutated = mutate(raw, rng)
                if base.name.endswith(".gz"):
                    mutated = gzip.compress(mutated)
                path = case_dir / base.name
                path.write_bytes(mutated)
                yield f"{name}/{kind}-{k}", path
    for case in CASES:
        if case.family == "permission":
            continue  # needs an unprivileged user: see test_fuzz
        case_dir = folder / case.id.replace("/", "-")
        case_dir.mkdir()
        yield case.id, case.write(case_dir, rng)
    shutil.rmtree(folder / "_bases")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the corpus into (must not exist)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--per-base", type=int, default=6)
    args = parser.parse_args()
    args.out.mkdir(parents=True)
    n = sum(1 for _ in generate(args.out, seed=args.seed, per_base=args.per_base))
    print(f"wrote {n} files under {args.out}")


if __name__ == "__main__":
    main()
