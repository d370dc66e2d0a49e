"""Dev-set table for the fusion engine: our default, ablations and baselines.

Scores SSIM, PSNR, SF, MI, Qabf (``brainfuse.metrics``, 0-255 scale, every pixel) averaged
over the CT-MRI development pairs (``../shared/data/pairs/ct-mri``; research-use data, only
read, never copied). Activities are computed once per weights file and re-used for the
decision-map variants.

Usage::

    python scripts/ablation.py [--weights W.safetensors ...] [--limit N] [--configs default,...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from brainfuse import metrics
from brainfuse.fusion import Fuser
from brainfuse.fusion.activity import box_sum
from brainfuse.fusion.fuser import METHODS

PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pairs" / "ct-mri"
NAMES = ("ssim", "psnr", "sf", "mi", "qabf")
SESF = {"ssim": 0.730, "psnr": 12.82, "sf": 37.5, "mi": 3.26, "qabf": 0.631}

# name -> Fuser keyword overrides on top of the defaults
CONFIGS: dict[str, dict] = {
    "default": {},
    "hard map (no refinement)": {"refine": False},
    "detail blend: no level floor (kappa 0)": {"detail_params": {"kappa": 0.0}},
    "detail blend: beta .5": {"detail_params": {"beta": 0.5}},
    "detail blend: beta .7": {"detail_params": {"beta": 0.7}},
    "detail blend: c 100": {"detail_params": {"c": 100.0}},
    "detail blend: c 200": {"detail_params": {"c": 200.0}},
    "detail blend: sigma 2": {"detail_params": {"sigma": 2.0}},
    "v1 default: flat blend q50 b.5 + border sigma .6": {"refine_mode": "flat"},
    "flat blend only (hard borders)": {"refine_mode": "flat", "border_sigma": 0.0},
    "guided-filter refinement r=2 eps=1e-3": {"refine_mode": "guided"},
    "guided-filter refinement r=4 eps=0.1": {
        "refine_mode": "guided",
        "gf_radius": 4.0,
        "gf_eps": 0.1,
    },
    "Gaussian-blurred map (sigma 2)": {"refine_mode": "gaussian"},
    "no consistency verification": {"consistency": False},
    "no CV, hard map": {"consistency": False, "refine": False},
    "raw-pixel SF": {"activity_source": "pixels"},
    "k=11 (SESF)": {"window_size": 11},
    "k=7": {"window_size": 7},
    "k=15": {"window_size": 15},
}


def load_pairs(limit: int | None):
    ids = sorted(p.name[: -len("_ct.png")] for p in PAIRS.glob("*_ct.png"))[:limit]
    for i in ids:
        a = np.asarray(Image.open(PAIRS / f"{i}_ct.png").convert("L"), np.float32) / 255
        b = np.asarray(Image.open(PAIRS / f"{i}_mri.png").convert("L"), np.float32) / 255
        yield i, a, b


def score(fused01, a, b) -> dict:
    f = np.round(255 * fused01)
    a255, b255 = np.round(255 * a), np.round(255 * b)
    return {
        "ssim": metrics.ssim(f, a255, b255),
        "psnr": metrics.psnr(f, a255, b255),
        "sf": metrics.spatial_frequency(f),
        "mi": metrics.mutual_information(f, a255, b255),
        "qabf": metrics.qabf(f, a255, b255),
    }


def run(weights: str | None, configs: dict, pairs: list, extra: dict) -> dict[str, dict]:
    rows: dict[str, list[dict]] = {name: [] for name in configs}
    base = Fuser(weights=weights, threads=2, **extra)
    pix = Fuser(activity_source="pixels", threads=2, **extra)
    for _, a, b in pairs:
        cache = {}
        for name, over in configs.items():
            src = over.get("activity_source", "deep")
            fz = pix if src == "pixels" else base
            if src not in cache:
                k0 = fz.window_size
                fz.window_size = 1
                cache[src] = fz.activity(a[None], b[None])
                fz.window_size = k0
            e1, e2 = cache[src]
            import torch

            k = over.get("window_size", base.window_size)
            a1 = box_sum(torch.from_numpy(e1), k)[0].numpy()
            a2 = box_sum(torch.from_numpy(e2), k)[0].numpy()
            saved = {key: getattr(fz, key) for key in over if key != "activity_source"}
            for key, v in over.items():
                if key != "activity_source":
                    setattr(fz, key, v)
            dm = fz.decide(a1, a2)
            soft = fz.soften(dm, a, b, a1 + a2)
            for key, v in saved.items():
                setattr(fz, key, v)
            rows[name].append(score(soft * a + (1 - soft) * b, a, b))
    return {n: {m: float(np.mean([r[m] for r in rs])) for m in NAMES} for n, rs in rows.items()}


def baselines(pairs) -> dict[str, dict]:
    out = {}
    for method in METHODS:
        if method == "cnn":
            continue
        fz = Fuser(method, threads=2)
        rs = [score(fz.fuse(a, b).fused, a, b) for _, a, b in pairs]
        out[f"baseline {method}"] = {m: float(np.mean([r[m] for r in rs])) for m in NAMES}
    return out


def table(results: dict[str, dict]) -> str:
    lines = [
        "| setting | SSIM | PSNR dB | SF | MI bits | Qabf | >= SESF on all |",
        "|---|---|---|---|---|---|---|",
    ]
    lines.append("| SESF-Fuse release (method.md) | .730 | 12.82 | 37.5 | 3.26 | .631 | |")
    for name, r in results.items():
        ok = all(r[m] >= SESF[m] for m in NAMES)
        lines.append(
            f"| {name} | {r['ssim']:.3f} | {r['psnr']:.2f} | {r['sf']:.1f} | {r['mi']:.2f} "
            f"| {r['qabf']:.3f} | {'yes' if ok else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", nargs="*", default=[None])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--configs", default=None, help="semicolon-separated subset of CONFIGS")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], help="extra Fuser defaults, key=value")
    args = ap.parse_args()
    extra = {
        k: type(getattr(Fuser(activity_source="pixels"), k))(v)
        for k, v in (s.split("=") for s in args.set)
    }
    configs = CONFIGS if not args.configs else {k: CONFIGS[k] for k in args.configs.split(";")}
    pairs = list(load_pairs(args.limit))
    t0 = time.time()
    results = {}
    for w in args.weights:
        res = run(w, configs, pairs, extra)
        tag = "" if w is None else f" [{Path(w).parent.name}]"
        results.update({f"{k}{tag}": v for k, v in res.items()})
    if args.baselines:
        results.update(baselines(pairs))
    print(f"{len(pairs)} pairs, {time.time() - t0:.0f} s, settings {extra}")
    print(table(results))


if __name__ == "__main__":
    main()
