"""Build the training set of the shipped fusion weights from redistributable images only.

Sources (all allow shipping derived weights; see models/MODEL_CARD.md):

* ``../shared/demo-sources/ch2.nii.gz`` (Colin27 T1 MRI, MNI notice) and ``scct.nii.gz``
  (CT template, BSD-2, Rorden 2012; Cormack units converted to HU): slices in all three
  orientations, CT in brain, subdural and bone windows, MR in robust percentiles;
* scikit-image's bundled CC0 / public-domain photographs and textures;
* pydicom's ``CT_small.dcm`` / ``MR_small.dcm`` and nibabel's ``anatomical.nii`` (MIT).

Never reads ``../shared/data`` (research-use only). Writes one compressed ``.npz`` with a
uint8 array ``slices`` of shape (N, 256, 256) that ``brainfuse train`` reads directly.

Usage::

    python scripts/make_training_slices.py --out runs/trainset.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from scipy import ndimage

SIZE = 256
REPO = Path(__file__).resolve().parents[1]
DEMO = REPO.parent / "shared" / "demo-sources"
CT_WINDOWS = {"brain": (40, 80), "subdural": (75, 215), "bone": (600, 2800)}
SKIMAGE = ["camera", "coins", "brick", "grass", "gravel", "cell", "text", "astronaut",
           "coffee", "chelsea", "rocket", "microaneurysms", "retina", "hubble_deep_field",
           "clock", "horse", "immunohistochemistry"]  # fmt: skip


def cormack_to_hu(c: np.ndarray) -> np.ndarray:
    """Inverse of the Clinical toolbox's Cormack scale (facts from demo-sources/README)."""
    x = c - 900.0
    return np.where(x <= 0, c - 1024.0, np.where(x <= 2200, x / 11.0 - 124.0, x - 2124.0))


def fit(slice2d: np.ndarray) -> np.ndarray:
    """Centre a slice on a 256 x 256 canvas (zero padding, centre crop)."""
    out = np.zeros((SIZE, SIZE), np.float32)
    h, w = slice2d.shape
    sy, sx = max((h - SIZE) // 2, 0), max((w - SIZE) // 2, 0)
    c = slice2d[sy : sy + SIZE, sx : sx + SIZE]
    oy, ox = (SIZE - c.shape[0]) // 2, (SIZE - c.shape[1]) // 2
    out[oy : oy + c.shape[0], ox : ox + c.shape[1]] = c
    return out


def volume_slices(vol01: np.ndarray, step: int, zoom: float) -> list[np.ndarray]:
    """Slices along all three axes (every ``step``-th with >15 % foreground), zoomed."""
    out = []
    for axis in range(3):
        v = np.moveaxis(vol01, axis, 0)
        for k in range(0, v.shape[0], step):
            s = v[k]
            if (s > 0.05).mean() < 0.15:
                continue
            if zoom != 1:
                s = ndimage.zoom(s, zoom, order=1)
            out.append(fit(np.rot90(s)))
    return out


def window(a: np.ndarray, c: float, w: float) -> np.ndarray:
    """Map the window of centre ``c`` and width ``w`` linearly onto 0..1 (clipped, float32)."""
    return np.clip((a - (c - w / 2)) / w, 0, 1).astype(np.float32)


def percentile01(a: np.ndarray) -> np.ndarray:
    """Window ``a`` onto 0..1 between the 0.5th and 99.5th percentiles of its non-minimum values."""
    fg = a[a > a.min()]
    lo, hi = np.percentile(fg, (0.5, 99.5))
    return window(a, (lo + hi) / 2, hi - lo)


def main() -> None:
    """Build the training slices and save them to ``--out`` as a compressed ``.npz``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/trainset.npz")
    ap.add_argument("--step", type=int, default=3, help="take every STEP-th slice (1 mm MRI)")
    args = ap.parse_args()
    slices: list[np.ndarray] = []
    names: list[str] = []

    def add(items, name):
        slices.extend(items)
        names.extend([name] * len(items))

    mri = np.asarray(nib.load(DEMO / "ch2.nii.gz").dataobj, dtype=np.float32)
    add(volume_slices(percentile01(mri), args.step, 1.25), "ch2 MRI")
    ct = cormack_to_hu(np.asarray(nib.load(DEMO / "scct.nii.gz").dataobj, dtype=np.float32))
    for wname, (c, w) in CT_WINDOWS.items():
        add(volume_slices(window(ct, c, w), max(args.step // 2, 1), 2.5), f"scct CT {wname}")
    import skimage.data as skd
    from skimage.color import rgb2gray

    for name in SKIMAGE:
        im = getattr(skd, name)()
        im = rgb2gray(im[..., :3]) if im.ndim == 3 else im.astype(np.float32) / max(im.max(), 1)
        im = im.astype(np.float32)
        h, w = im.shape
        for y in range(0, max(h - SIZE, 0) + 1, SIZE):
            for x in range(0, max(w - SIZE, 0) + 1, SIZE):
                add([fit(im[y : y + SIZE, x : x + SIZE])], f"skimage {name}")
    for fname in ("CT_small.dcm", "MR_small.dcm"):
        ds = pydicom.dcmread(get_testdata_file(fname))
        a = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + float(
            getattr(ds, "RescaleIntercept", 0)
        )
        a01 = window(a, 40, 400) if fname.startswith("CT") else percentile01(a)
        add([fit(ndimage.zoom(a01, SIZE / a01.shape[0], order=1))], f"pydicom {fname}")
    import nibabel.testing

    anat = Path(nibabel.testing.data_path) / "anatomical.nii"
    add(
        volume_slices(percentile01(np.asarray(nib.load(anat).dataobj, np.float32)), 2, 6),
        "nibabel anatomical.nii",
    )
    arr = np.round(np.stack(slices) * 255).astype(np.uint8)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, slices=arr, names=np.array(names))
    counts = {n: names.count(n) for n in dict.fromkeys(names)}
    print(f"{arr.shape[0]} slices -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    for n, c in counts.items():
        print(f"  {n}: {c}")


if __name__ == "__main__":
    main()
