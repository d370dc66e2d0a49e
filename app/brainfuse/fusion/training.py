"""Unsupervised reconstruction training of the fusion network (``brainfuse train``).

Loss ``L = L_pixel + lambda * (1 - SSIM(I, O))`` with ``L_pixel`` the mean squared error
(SESF-Fuse, Ma et al. 2021, eq. 1-3; SSIM with an 11 x 11 Gaussian window, sigma 1.5, Wang
et al. 2004). Adam, learning rate multiplied by ``lr_decay`` every ``lr_step`` epochs.
Samples are random ``crop x crop`` crops with random flips, 90-degree turns and intensity
jitter (gamma and contrast), drawn from 2-D slices in [0, 1]. Every random choice comes
from generators seeded with ``(seed, epoch)``, so a run is repeatable and ``--resume``
continues exactly where a checkpoint left off.

Outputs in ``out_dir``: ``brainfuse_ae.safetensors`` (+ ``.sha256``), ``checkpoint.pt``
(model + optimiser, written every epoch, loaded with ``weights_only=True``), ``loss.csv``,
``loss.png`` and ``settings.json``.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from brainfuse._runtime.progress import TextProgress
from brainfuse._runtime.threads import describe_threads
from brainfuse.errors import BrainFuseError
from brainfuse.fusion.device import choose_device
from brainfuse.fusion.network import FusionAutoencoder, count_parameters
from brainfuse.fusion.weights import save_weights

__all__ = ["TrainSettings", "sample_batch", "ssim_torch", "train"]

WEIGHTS_NAME = "brainfuse_ae.safetensors"
BEST_NAME = "best_epoch.safetensors"  # weights of the epoch with the lowest mean loss
MIN_CROP_STD = 0.02  # crops flatter than this (background) are redrawn, up to 10 times
GRAD_CLIP = 1.0  # gradient-norm clipping, for stability of the SSIM term


@dataclass
class TrainSettings:
    """Settings of one training run (written to ``settings.json``)."""

    epochs: int = 10
    steps_per_epoch: int = 120
    batch: int = 12
    crop: int = 128
    lr: float = 1e-4
    lr_decay: float = 0.8
    lr_step: int = 2
    ssim_weight: float = 3.0
    seed: int = 0
    jitter: float = 0.25


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_torch(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM of two (N, 1, H, W) batches (Gaussian 11 x 11, sigma 1.5, valid region)."""
    w = _gaussian_window().to(x.device, x.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = functional.conv2d(x, w), functional.conv2d(y, w)
    sxx = functional.conv2d(x * x, w) - mx * mx
    syy = functional.conv2d(y * y, w) - my * my
    sxy = functional.conv2d(x * y, w) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean()


def sample_batch(
    images: Sequence[np.ndarray], rng: np.random.Generator, s: TrainSettings
) -> np.ndarray:
    """One batch ``(batch, 1, crop, crop)`` float32 of augmented random crops."""
    out = np.empty((s.batch, 1, s.crop, s.crop), np.float32)
    for i in range(s.batch):
        for _ in range(10):  # prefer crops with content over flat background
            im = images[int(rng.integers(len(images)))]
            h, w = im.shape
            if h < s.crop or w < s.crop:
                pads = ((0, max(s.crop - h, 0)), (0, max(s.crop - w, 0)))
                im = np.pad(im, pads, mode="reflect")
                h, w = im.shape
            y0 = int(rng.integers(h - s.crop + 1))
            x0 = int(rng.integers(w - s.crop + 1))
            c = im[y0 : y0 + s.crop, x0 : x0 + s.crop]
            if c.std() >= MIN_CROP_STD:
                break
        if rng.random() < 0.5:
            c = c[:, ::-1]
        if rng.random() < 0.5:
            c = c[::-1, :]
        c = np.rot90(c, int(rng.integers(4)))
        if s.jitter > 0:
            gamma = float(np.exp(rng.uniform(-s.jitter, s.jitter)))
            gain = float(rng.uniform(1 - s.jitter, 1 + s.jitter))
            c = np.clip(np.power(np.clip(c, 0, 1), gamma) * gain, 0.0, 1.0)
        out[i, 0] = c
    return out


def _plot_losses(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot([r["epoch"] for r in rows], [r["loss"] for r in rows], marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss (MSE + lambda(1-SSIM))")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)


def train(
    images: Sequence[np.ndarray],
    out_dir: str | Path,
    settings: TrainSettings | None = None,
    *,
    device: str = "auto",
    threads: int | None = None,
    resume: bool = False,
    sources: Sequence[str] = (),
    progress: Callable[[int, int, float], None] | None = None,
    quiet: bool = False,
) -> dict:
    """Train the autoencoder on 2-D float32 slices in [0, 1].

    Parameters
    ----------
    images : sequence of (H, W) float32 arrays in [0, 1]
    out_dir : folder for weights, checkpoint, loss curve and settings
    settings : TrainSettings
    device : {"auto", "cpu", "cuda"}
    threads : int or None
        CPU threads (default: the cores, at most 8). On a busy machine 1 can be faster.
    resume : bool
        Continue from ``out_dir/checkpoint.pt``.
    sources : the inputs, recorded in ``settings.json``
    progress : callable(epoch, step, loss) or None

    Returns
    -------
    dict
        ``{"weights": path, "sha256": hex, "losses": [per-epoch mean loss], ...}``
    """
    s = settings or TrainSettings()
    if not images:
        raise BrainFuseError("no training images were found in the given inputs")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    choice = choose_device(device, threads)
    dev = choice.device
    described = choice.description
    if dev.type == "cpu":  # training splits each operation over torch's own threads
        torch.set_num_threads(choice.workers)
        described = f"CPU ({describe_threads(choice.workers, per_image=False)})"
    torch.manual_seed(s.seed)
    model = FusionAutoencoder().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    rows: list[dict] = []
    start_epoch = 1
    ckpt = out / "checkpoint.pt"
    if resume:
        if not ckpt.is_file():
            raise BrainFuseError(f"cannot resume: no checkpoint at {ckpt}")
        state = torch.load(ckpt, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        rows = list(state["rows"])
        start_epoch = int(state["epoch"]) + 1
    t0 = time.perf_counter()
    done0 = (start_epoch - 1) * s.steps_per_epoch
    bar = None if quiet else TextProgress(s.epochs * s.steps_per_epoch - done0, "steps", delay=0)
    for epoch in range(start_epoch, s.epochs + 1):
        lr = s.lr * s.lr_decay ** ((epoch - 1) // s.lr_step)
        for g in opt.param_groups:
            g["lr"] = lr
        rng = np.random.default_rng([s.seed, epoch])
        model.train()
        tot = tot_pix = tot_ssim = 0.0
        for step in range(1, s.steps_per_epoch + 1):
            x = torch.from_numpy(sample_batch(images, rng, s)).to(dev)
            y = model(x)
            pix = functional.mse_loss(y, x)
            l_ssim = 1.0 - ssim_torch(y, x)
            loss = pix + s.ssim_weight * l_ssim
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            opt.step()
            tot += float(loss.detach())
            tot_pix += float(pix.detach())
            tot_ssim += float(l_ssim.detach())
            if progress is not None:
                progress(epoch, step, float(loss.detach()))
            if bar is not None and (step % 10 == 0 or step == s.steps_per_epoch):
                done = (epoch - 1) * s.steps_per_epoch + step - done0
                bar(done / bar.total, f"epoch {epoch}/{s.epochs} loss {tot / step:.4f}")
        n = s.steps_per_epoch
        rows.append(
            {
                "epoch": epoch,
                "loss": tot / n,
                "pixel_mse": tot_pix / n,
                "one_minus_ssim": tot_ssim / n,
                "lr": lr,
                "elapsed_s": round(time.perf_counter() - t0, 2),
            }
        )
        model.eval()
        if rows[-1]["loss"] <= min(r["loss"] for r in rows):
            save_weights(model, out / BEST_NAME, metadata={"epoch": epoch})
        tmp = ckpt.with_name("checkpoint.pt.tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "rows": rows,
                "epoch": epoch,
            },
            tmp,
        )
        tmp.replace(ckpt)
        _write_csv(rows, out / "loss.csv")
    if bar is not None:
        bar.close()
    model.eval()
    # The shipped/returned weights are those of the epoch with the lowest mean training loss
    # (the ReLU -> BatchNorm blocks occasionally spike late in training).
    best_epoch = min(rows, key=lambda r: r["loss"])["epoch"] if rows else 0
    best_file = out / BEST_NAME
    if best_file.is_file():
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(best_file)))
    meta = {"settings": asdict(s), "parameters": count_parameters(model), "epoch": best_epoch}
    digest = save_weights(model, out / WEIGHTS_NAME, metadata=meta)
    if rows:
        _plot_losses(rows, out / "loss.png")
    info = {
        "settings": asdict(s),
        "device": described,
        "parameters": count_parameters(model),
        "n_images": len(images),
        "sources": list(sources),
        "weights": WEIGHTS_NAME,
        "sha256": digest,
        "wall_time_s": round(time.perf_counter() - t0, 1),
        "losses": [r["loss"] for r in rows],
        "best_epoch": best_epoch,
    }
    (out / "settings.json").write_text(json.dumps(info, indent=2))
    return {**info, "weights": str(out / WEIGHTS_NAME)}
