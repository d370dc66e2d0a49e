"""The evaluation's ``summary.md``: mean ± sd per method and metric, best in bold (no Qt)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from brainfuse.metrics import ANATOMY_NAMES

if TYPE_CHECKING:
    from brainfuse.bench.evaluation import EvaluationResult, Row

__all__ = ["write_summary"]

_LABELS = {
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
    "en": "EN (bits)",
    "sd": "SD",
    "sf": "SF",
    "ag": "AG",
    "mi": "MI (bits)",
    "qabf": "Qabf",
    "vif": "VIF",
    "scd": "SCD",
    "bone_kept": "bone kept",
    "brain_kept": "brain kept",
    "skull_kept": "skull kept",
    "brain_clean": "brain clean",
}


_DECIMALS = dict(
    ssim=4,
    psnr=3,
    en=3,
    sd=3,
    sf=3,
    ag=3,
    mi=3,
    qabf=4,
    vif=4,
    scd=4,
    bone_kept=3,
    brain_kept=3,
    skull_kept=3,
    brain_clean=3,
)


def _worst_lines(rows: list[Row], methods: Sequence[str]) -> list[str]:
    """Tell the worst slice of ``brain_clean`` per method and how many fall below .90 (.95)."""
    lines = [
        "| method | brain clean: worst slice | slices < .90 | slices < .95 |",
        "|---|---|---|---|",
    ]
    for m in methods:
        v = np.array([float(r["brain_clean"]) for r in rows if r["method"] == m])
        v = v[np.isfinite(v)]
        if v.size == 0:
            continue
        lines.append(f"| {m} | {v.min():.3f} | {int((v < 0.90).sum())} | {int((v < 0.95).sum())} |")
    return lines


def _rank(stats: dict[str, dict[str, tuple[float, float]]], key: str, method: str) -> float:
    mean = stats[method][key][0]
    return -np.inf if np.isnan(mean) else mean


def _table(rows: list[Row], methods: Sequence[str], prefix: str) -> list[str]:
    keys = [k for k in _LABELS if not prefix or k not in ANATOMY_NAMES]
    stats: dict[str, dict[str, tuple[float, float]]] = {}
    for m in methods:
        vals = {k: np.array([float(r[prefix + k]) for r in rows if r["method"] == m]) for k in keys}
        stats[m] = {}
        for k, v in vals.items():
            finite = v[np.isfinite(v)]  # PSNR of identical images is inf; blank heads NaN
            if finite.size == 0:
                stats[m][k] = (float("inf") if np.isinf(v).any() else float("nan"), 0.0)
            else:
                stats[m][k] = (
                    float(finite.mean()),
                    float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
                )
    best = {k: max(methods, key=functools.partial(_rank, stats, k)) for k in keys}
    lines = ["| method | " + " | ".join(_LABELS[k] for k in keys) + " |"]
    lines.append("|---|" + "---|" * len(keys))
    for m in methods:
        cells = []
        for k in keys:
            mean, sd = stats[m][k]
            d = _DECIMALS[k]
            if np.isfinite(mean):
                cell = f"{mean:.{d}f} ± {sd:.{d}f}"
            else:  # inf (identical images), or n/a (no pair where it is defined)
                cell = "n/a" if np.isnan(mean) else f"{mean}"
            if len(methods) > 1 and best[k] == m:
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def write_summary(result: EvaluationResult) -> Path:
    """Write ``summary.md``: mean ± sd (sample) per method for each metric, best in bold.

    Two tables: the whole slice (the literature's convention, with the anatomy retention
    ``bone_kept``/``brain_kept`` of CT pairs) and the head only (background air excluded,
    :func:`brainfuse.metrics.head_mask`). Means skip infinite (PSNR of identical images)
    and undefined (head metrics of a blank pair, anatomy metrics of a pair without a CT or
    with too little bone) values.
    """
    rows, methods = (
        result.rows,
        [m for m in result.methods if any(r["method"] == m for r in result.rows)],
    )
    n = result.pairs_done
    lines = [
        "# Fusion evaluation",
        "",
        f"{n} of {result.pairs_total} pairs"
        + (" (interrupted)" if result.cancelled else "")
        + f", methods: {', '.join(result.methods)}. Higher is better for every metric; "
        "best mean in bold. Metrics on the 0–255 scale, colour on BT.601 luminance; "
        "SSIM/PSNR are the means over both sources, MI and VIF the sums. bone kept / "
        "brain kept: fraction of the CT's bone (CT >= 200) and of the intracranial area "
        "where the fused image is within 25 grey levels of the CT / the MRI; skull kept / "
        "brain clean: the same on the skull grown by hysteresis from saturated bone and its "
        "cavity (../shared/reference/anatomy.md; CT pairs only).",
        "",
    ]
    if methods:
        ms = {m: np.mean([float(r["fuse_ms"]) for r in rows if r["method"] == m]) for m in methods}
        lines += ["## Whole slice", "", *_table(rows, methods, ""), ""]
        lines += ["## Head only (background excluded)", "", *_table(rows, methods, "head_"), ""]
        worst = _worst_lines(rows, methods)
        if len(worst) > 2:
            lines += ["## Brain clean, slice by slice", "", *worst, ""]
        lines += ["## Fusion time", "", "| method | device | ms / pair (mean) |", "|---|---|---|"]
        lines += [f"| {m} | {result.devices.get(m, '')} | {ms[m]:.1f} |" for m in methods]
        lines.append("")
    path = result.out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
