"""Dev-set table for the fusion engine: our default, ablations and baselines.

Scores SSIM, PSNR, SF, MI, Qabf and the anatomy retention bone_kept / brain_kept
(``brainfuse.metrics``, 0-255 scale, every pixel; ``../shared/reference/anatomy.md``) averaged
over the CT-MRI development pairs (``../shared/data/pairs/ct-mri``; research-use data, only
read, never copied). Activities are computed once per weights file and re-used for the
decision-map variants.

The engine knows only the shipped method (:class:`brainfuse.fusion.FusionSettings`); the
research variants tried on the way (flat-area blend, Gaussian or guided-filter refinement,
raw-pixel activity) are written here, as :class:`Variant` s built from the engine's own
functions.

Usage::

    python scripts/ablation.py [--weights W.safetensors ...] [--limit N] [--configs default;...]
        [--set window=7 ...] [--baselines] [--halves]

``--halves`` also prints the table on each half of the development cases (settings were
chosen on cases 2, 21, 28, 32 and checked on 34, 37, 41: adjacent slices of one case are
near copies, so the split is by case).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from brainfuse import metrics
from brainfuse.fusion import DetailBlend, Fuser, FusionSettings
from brainfuse.fusion.activity import box_sum, gradient_energy
from brainfuse.fusion.anatomy import rule_that_runs, slice_maps
from brainfuse.fusion.decision import guided_filter, hard_map
from brainfuse.fusion.fuser import METHODS
from brainfuse.fusion.settings import AnatomyRule
from brainfuse.model.bone import bone_prior

PAIRS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pairs" / "ct-mri"
NAMES = ("ssim", "psnr", "sf", "mi", "qabf")
ANATOMY = ("bone_kept", "brain_kept", "skull_kept", "brain_clean")
TUNE_CASES = ("2", "21", "28", "32")  # settings chosen on these; checked on 34, 37, 41
SESF = {"ssim": 0.730, "psnr": 12.82, "sf": 37.5, "mi": 3.26, "qabf": 0.631}

#: A research refinement: (hard map, image 1, image 2, a1 + a2) -> soft map.
Refinement = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def flat_blend(q: float = 50.0, beta: float = 0.5, border_sigma: float = 0.6) -> Refinement:
    """Build a refinement that blends the map towards 0.5 in the flattest ``q`` % of the slice.

    The map is kept hard but blended towards 0.5 in the flattest ``q`` percent of the slice
    (low deep activity in both images) by ``beta`` (a mask smoothed by a Gaussian of sigma
    2 px at 256 x 256); ``border_sigma`` (px at 256 x 256) softens the region borders.
    """

    def refine(dm, i1, i2, activity):
        scale = min(dm.shape) / 256.0
        flat = (activity <= np.percentile(activity, q)).astype(np.float32)
        flat = ndimage.gaussian_filter(flat, 2.0 * scale, mode="nearest") * beta
        d = dm.astype(np.float32)
        if border_sigma > 0:
            d = ndimage.gaussian_filter(d, border_sigma * scale, mode="nearest")
        return (d * (1.0 - flat) + 0.5 * flat).astype(np.float32)

    return refine


def gaussian_blur(sigma: float = 2.0) -> Refinement:
    """Gaussian blur of the hard map (sigma in px at 256 x 256)."""

    def refine(dm, i1, i2, activity):
        s = sigma * min(dm.shape) / 256.0
        return ndimage.gaussian_filter(dm.astype(np.float32), s, mode="nearest")

    return refine


def guided(radius: float = 2.0, eps: float = 1e-3) -> Refinement:
    """Guided filter of the hard map (He et al. 2013), guided by the mean of the sources."""

    def refine(dm, i1, i2, activity):
        r = max(round(radius * min(dm.shape) / 256.0), 1)
        out = guided_filter(0.5 * (i1 + i2), dm.astype(np.float32), r, eps)
        return np.clip(out, 0.0, 1.0)

    return refine


@dataclass(frozen=True)
class Variant:
    """One row of the table: settings changes, an optional refinement and the activity source.

    The changes are to the engine's settings (``FusionSettings`` fields); the research
    refinement, if any, replaces the settings' one; the activity source is ``deep`` features
    with the default precision, ``deep-float32``, or raw ``pixels``.
    """

    changes: dict = field(default_factory=dict)
    refine: Refinement | None = None
    source: str = "deep"


_D = FusionSettings()  # the shipped method
CONFIGS: dict[str, Variant] = {
    "default (rule anatomy, k 6)": Variant(),
    "anatomy: no tolerance caps on the blend": Variant({"anatomy": AnatomyRule(tolerance=255.0)}),
    "anatomy: hard map (no blend)": Variant({"refine": "none"}),
    "anatomy: no closing of the skull (r 0)": Variant({"anatomy": AnatomyRule(close_radius=0.0)}),
    "anatomy: no convex-hull fallback for open skulls": Variant(
        {"anatomy": AnatomyRule(ring_coverage=2.0)}
    ),
    "anatomy: deep map alone outside the skull (edge ratio off)": Variant(
        {"anatomy": AnatomyRule(edge_ratio=0.0)}
    ),
    "anatomy: pixel edges alone outside the skull (edge ratio 1)": Variant(
        {"anatomy": AnatomyRule(edge_ratio=1.0)}
    ),
    "anatomy: edge ratio 1.5": Variant({"anatomy": AnatomyRule(edge_ratio=1.5)}),
    "anatomy: edge ratio 3": Variant({"anatomy": AnatomyRule(edge_ratio=3.0)}),
    "anatomy: edge strength mean over 5 px (radius 2)": Variant(
        {"anatomy": AnatomyRule(edge_radius=2.0)}
    ),
    "anatomy: no inner-table rim (the MRI up to the bone)": Variant(
        {"anatomy": AnatomyRule(inner_table=0.0)}
    ),
    "anatomy: inner-table rim 3 px": Variant({"anatomy": AnatomyRule(inner_table=3.0)}),
    "anatomy: float32 encoder": Variant(source="deep-float32"),
    "anatomy: encoder's first stage (16 maps)": Variant({"anatomy": AnatomyRule(encoder_stages=1)}),
    "anatomy: encoder's first 3 stages (48 maps)": Variant(
        {"anatomy": AnatomyRule(encoder_stages=3)}
    ),
    "anatomy: all 4 encoder stages (64 maps, as sesf)": Variant(
        {"anatomy": AnatomyRule(encoder_stages=4)}
    ),
    "anatomy: k 5": Variant({"window": 5}),
    "anatomy: k 7": Variant({"window": 7}),
    "rule sesf (k 6)": Variant({"rule": "sesf"}),
    "sesf: float32 encoder": Variant({"rule": "sesf"}, source="deep-float32"),
    "sesf: k 5 (previous default)": Variant({"rule": "sesf", "window": 5}),
    "sesf: k 5, no background masking": Variant({"rule": "sesf", "window": 5, "background": 0.0}),
    "sesf: k 7": Variant({"rule": "sesf", "window": 7}),
}
SESF_CONFIGS: dict[str, Variant] = {
    "hard map (no refinement)": Variant({"refine": "none"}),
    "detail blend: no level floor (kappa 0)": Variant({"detail": DetailBlend(kappa=0.0)}),
    "detail blend: beta .5": Variant({"detail": DetailBlend(beta=0.5)}),
    "detail blend: beta .7": Variant({"detail": DetailBlend(beta=0.7)}),
    "detail blend: c 100": Variant({"detail": DetailBlend(c=100.0)}),
    "detail blend: c 200": Variant({"detail": DetailBlend(c=200.0)}),
    "detail blend: sigma 2": Variant({"detail": DetailBlend(sigma=2.0)}),
    "v1 default: flat blend q50 b.5 + border sigma .6": Variant(refine=flat_blend()),
    "flat blend only (hard borders)": Variant(refine=flat_blend(border_sigma=0.0)),
    "guided-filter refinement r=2 eps=1e-3": Variant(refine=guided()),
    "guided-filter refinement r=4 eps=0.1": Variant(refine=guided(4.0, 0.1)),
    "Gaussian-blurred map (sigma 2)": Variant(refine=gaussian_blur()),
    "no consistency verification": Variant({"consistency": False}),
    "no CV, hard map": Variant({"consistency": False, "refine": "none"}),
    "raw-pixel SF": Variant(source="pixels"),
    "k=11 (SESF)": Variant({"window": 11}),
    "k=7": Variant({"window": 7}),
    "k=15": Variant({"window": 15}),
}
CONFIGS.update(
    {
        f"sesf: {k}": Variant({"rule": "sesf", **v.changes}, v.refine, v.source)
        for k, v in SESF_CONFIGS.items()
        if k != "default"
    }
)


def load_pairs(limit: int | None):
    """Yield ``(id, ct, mri)`` for the first ``limit`` pairs by id (all if None), scaled to 0..1."""
    ids = sorted(p.name[: -len("_ct.png")] for p in PAIRS.glob("*_ct.png"))[:limit]
    for i in ids:
        a = np.asarray(Image.open(PAIRS / f"{i}_ct.png").convert("L"), np.float32) / 255
        b = np.asarray(Image.open(PAIRS / f"{i}_mri.png").convert("L"), np.float32) / 255
        yield i, a, b


def score(fused01, a, b) -> dict:
    """Score ``fused01`` against its sources ``a`` and ``b`` (all 0..1) on the 0-255 scale."""
    f = np.round(255 * fused01)
    a255, b255 = np.round(255 * a), np.round(255 * b)
    return {
        "ssim": metrics.ssim(f, a255, b255),
        "psnr": metrics.psnr(f, a255, b255),
        "sf": metrics.spatial_frequency(f),
        "mi": metrics.mutual_information(f, a255, b255),
        "qabf": metrics.qabf(f, a255, b255),
        "bone_kept": metrics.bone_kept(f, a255),
        "brain_kept": metrics.brain_kept(f, a255, b255),
        "skull_kept": metrics.skull_kept(f, a255),
        "brain_clean": metrics.brain_clean(f, a255, b255),
    }


def energies(
    fusers: dict[str, Fuser], a: np.ndarray, b: np.ndarray, source: str, stages: int | None
):
    """Un-summed (k = 1) activity energies of one pair, deep (first ``stages``) or raw-pixel."""
    if source == "pixels":
        e = gradient_energy(torch.from_numpy(np.stack([a, b])[:, None]))
        return e[:1].numpy(), e[1:].numpy()
    return fusers[source].activity(a[None], b[None], stages=stages)


def run(
    weights: str | None,
    configs: dict[str, Variant],
    pairs: list,
    base: FusionSettings,
):
    """Score every variant on every pair (8-bit CTs have no no-data pixels)."""
    rows: dict[str, list[dict]] = {name: [] for name in configs}
    energy = {
        "deep": Fuser(weights=weights, threads=2, settings=base.with_(window=1)),
        "deep-float32": Fuser(
            weights=weights, threads=2, settings=base.with_(window=1, precision="float32")
        ),
    }
    for _, a, b in pairs:
        bone = bone_prior(np.round(255 * a), "8-bit")
        cache = {}
        for name, variant in configs.items():
            settings = base.with_(**variant.changes)
            stages = settings.encoder_stages(rule_that_runs(settings, True))
            key = (variant.source, stages)
            if key not in cache:
                cache[key] = energies(energy, a, b, variant.source, stages)
            e1, e2 = cache[key]
            a1 = box_sum(torch.from_numpy(e1), settings.window)[0].numpy()
            a2 = box_sum(torch.from_numpy(e2), settings.window)[0].numpy()
            if variant.refine is not None:  # research refinements of the sesf map
                dm = hard_map(a1, a2, settings)
                soft = variant.refine(dm, a, b, a1 + a2)
            else:
                _, soft = slice_maps(a1, a2, a, b, bone, settings)
            rows[name].append(score(soft * a + (1 - soft) * b, a, b))
    return rows


def baselines(pairs) -> dict[str, dict]:
    """Score every baseline method (all of ``METHODS`` but ``cnn``) on every pair."""
    out = {}
    for method in METHODS:
        if method == "cnn":
            continue
        fz = Fuser(method, threads=2)
        out[f"baseline {method}"] = [score(fz.fuse(a, b).fused, a, b) for _, a, b in pairs]
    return out


def means(rows: dict[str, list[dict]], keep: list[bool]) -> dict[str, dict]:
    """Average each score over the pairs where ``keep`` is True (NaN skipped).

    Also give the worst slice of brain_clean and how many slices fall below .90 and .95.
    """
    out = {}
    for n, rs in rows.items():
        kept = [r for r, k in zip(rs, keep, strict=True) if k]
        out[n] = {m: float(np.nanmean([r[m] for r in kept])) for m in rs[0]}
        clean = np.array([r["brain_clean"] for r in kept], float)
        clean = clean[np.isfinite(clean)]
        out[n]["clean_worst"] = float(clean.min()) if clean.size else float("nan")
        out[n]["clean_90"] = int((clean < 0.90).sum())
        out[n]["clean_95"] = int((clean < 0.95).sum())
    return out


def table(results: dict[str, dict]) -> str:
    """Format ``results`` as a Markdown table below the SESF-Fuse release's row."""
    lines = [
        "| setting | SSIM | PSNR dB | SF | MI bits | Qabf | bone kept | brain kept "
        "| skull kept | brain clean (worst, < .90, < .95) | >= SESF on all |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines.append("| SESF-Fuse release (method.md) | .730 | 12.82 | 37.5 | 3.26 | .631 | | | | | |")
    for name, r in results.items():
        ok = all(r[m] >= SESF[m] for m in NAMES)
        lines.append(
            f"| {name} | {r['ssim']:.3f} | {r['psnr']:.2f} | {r['sf']:.1f} | {r['mi']:.2f} "
            f"| {r['qabf']:.3f} | {r['bone_kept']:.3f} | {r['brain_kept']:.3f} "
            f"| {r['skull_kept']:.3f} | {r['brain_clean']:.3f} ({r['clean_worst']:.2f}, "
            f"{r['clean_90']}, {r['clean_95']}) | {'yes' if ok else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Score the chosen variants (and baselines) on the development pairs; print the tables."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", nargs="*", default=[None])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--configs", default=None, help="semicolon-separated subset of CONFIGS")
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--halves", action="store_true", help="also each half of the cases")
    ap.add_argument("--set", nargs="*", default=[], help="FusionSettings fields, key=value")
    args = ap.parse_args()
    types = {f.name: type(getattr(_D, f.name)) for f in dataclasses.fields(FusionSettings)}
    extra = {
        k: (v.lower() in ("1", "true", "yes")) if types[k] is bool else types[k](v)
        for k, v in (s.split("=") for s in args.set)
    }
    base = _D.with_(**extra)
    configs = CONFIGS if not args.configs else {k: CONFIGS[k] for k in args.configs.split(";")}
    pairs = list(load_pairs(args.limit))
    t0 = time.time()
    rows = {}
    for w in args.weights:
        res = run(w, configs, pairs, base)
        tag = "" if w is None else f" [{Path(w).parent.name}]"
        rows.update({f"{k}{tag}": v for k, v in res.items()})
    if args.baselines:
        rows.update(baselines(pairs))
    print(f"{len(pairs)} pairs, {time.time() - t0:.0f} s, settings {extra}")
    print(table(means(rows, [True] * len(pairs))))
    if args.halves:
        tune = [i[:-3] in TUNE_CASES for i, _, _ in pairs]
        for label, keep in (
            ("tune: cases " + ", ".join(TUNE_CASES), tune),
            ("check: the other cases", [not t for t in tune]),
        ):
            print(f"\n{label} ({sum(keep)} pairs)\n")
            print(table(means(rows, keep)))


if __name__ == "__main__":
    main()
