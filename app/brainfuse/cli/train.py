"""``brainfuse train DATA... --out DIR``: train the fusion network without labels.

DATA are image files (PNG/TIFF/JPEG), volumes or DICOM folders (read with
:func:`brainfuse.io.load`; slices in all three orientations), folders of those, or
``.npz``/``.npy`` stacks of 2-D slices (uint8 0-255 or float 0-1, as written by
``scripts/make_training_slices.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from brainfuse.cli.options import FREE_CORES, add_threads_option
from brainfuse.errors import BrainFuseError

__all__ = ["load_training_images", "register", "run"]

_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
_VOLUME_EXT = {".nii", ".gz", ".dcm", ".nrrd", ".mha"}


def _stack01(arr: np.ndarray, path: Path) -> list[np.ndarray]:
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise BrainFuseError(f"{path}: expected a stack of 2-D slices, got shape {arr.shape}")
    scale = 255.0 if arr.dtype == np.uint8 else 1.0
    return [np.clip(s.astype(np.float32) / scale, 0, 1) for s in arr]


def _from_file(path: Path) -> list[np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            key = "slices" if "slices" in z.files else z.files[0]
            return _stack01(z[key], path)
    if suffix == ".npy":
        return _stack01(np.load(path, allow_pickle=False), path)
    if suffix in _IMAGE_EXT:
        from PIL import Image

        with Image.open(path) as im:
            return [np.asarray(im.convert("L"), np.float32) / 255.0]
    from brainfuse.io import load
    from brainfuse.model.intensity import to_unit

    vol = load(path)
    if vol.is_rgb:
        return [np.asarray(s, np.float32).mean(axis=-1) / 255.0 for s in vol.array]
    a01, _ = to_unit(vol)
    out: list[np.ndarray] = []
    for axis in range(3):
        v = np.moveaxis(a01, axis, 0)
        if v.shape[1] < 16 or v.shape[2] < 16:
            continue
        out.extend(np.ascontiguousarray(s) for s in v if (s > 0.05).mean() > 0.1)
    return out


def load_training_images(paths: list[str]) -> tuple[list[np.ndarray], list[str]]:
    """2-D float32 slices in [0, 1] from files/folders, and the list of files used."""
    images: list[np.ndarray] = []
    used: list[str] = []
    for p in map(Path, paths):
        if not p.exists():
            raise BrainFuseError(f"training data '{p}' does not exist")
        files = [p]
        if p.is_dir() and not any(p.glob("*.dcm")):
            files = sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and (f.suffix.lower() in _IMAGE_EXT | _VOLUME_EXT | {".npz", ".npy"})
            )
        for f in files:
            images.extend(_from_file(f))
            used.append(str(f))
    return images, used


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse train`` and its options to ``subparsers``."""
    from brainfuse.fusion.training import TrainSettings

    d = TrainSettings()
    p = subparsers.add_parser(
        "train",
        help="train the fusion network on your own images (unsupervised)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="+", help="images, volumes, DICOM folders, folders or .npz stacks")
    p.add_argument("--out", required=True, help="output folder (weights, checkpoint, loss curve)")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--crop", type=int, default=d.crop, help="crop side in pixels")
    p.add_argument("--lr", type=float, default=d.lr, help="initial learning rate (Adam)")
    p.add_argument("--ssim-weight", type=float, default=d.ssim_weight, help="lambda of the loss")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add_threads_option(p, chosen=FREE_CORES)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse train``; return the exit status."""
    from brainfuse.fusion.training import TrainSettings, train

    images, used = load_training_images(args.data)
    settings = TrainSettings(
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        ssim_weight=args.ssim_weight,
        seed=args.seed,
    )
    print(f"training on {len(images)} slices from {len(used)} file(s)", file=sys.stderr)
    info = train(
        images,
        args.out,
        settings,
        device=args.device,
        threads=args.threads,
        resume=args.resume,
        sources=used,
    )
    print(f"device: {info['device']}")
    print(f"weights: {info['weights']} (sha256 {info['sha256']})")
    print(f"final loss: {info['losses'][-1]:.4f}; wall time {info['wall_time_s']:.0f} s")
    return 0
