"""The reports of a batch evaluation: ``metrics.csv`` read back, ``summary.md``, ``grid.png``.

:func:`write_summary` tabulates mean ± sd per method and metric (best in bold) from the rows
:func:`brainfuse.bench.evaluation.evaluate` wrote; :func:`write_grid` draws a few pairs, their
decision maps and each method's fused image (matplotlib, Agg).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from brainfuse.errors import ExportError
from brainfuse.metrics import ANATOMY_NAMES

if TYPE_CHECKING:  # the evaluation's records, only as types (it imports this module)
    from brainfuse.bench.evaluation import EvaluationResult, GridPanel, Row

__all__ = ["read_metrics_csv", "write_grid", "write_summary"]


def read_metrics_csv(path: str | Path) -> list[Row]:
    """Read a ``metrics.csv`` written by :func:`evaluate` (numbers as floats)."""
    rows: list[Row] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            row: Row = {}
            for k, v in raw.items():
                try:
                    row[k] = (
                        float(v)
                        if k not in ("pair", "method", "rule", "modality1", "modality2")
                        else v
                    )
                except (TypeError, ValueError):
                    row[k] = v
            rows.append(row)
    return rows


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
}


_DECIMALS = dict(
    ssim=4, psnr=3, en=3, sd=3, sf=3, ag=3, mi=3, qabf=4, vif=4, scd=4, bone_kept=3, brain_kept=3
)


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
        "where the fused image is within 25 grey levels of the CT / the MRI "
        "(../shared/reference/anatomy.md; CT pairs only).",
        "",
    ]
    if methods:
        ms = {m: np.mean([float(r["fuse_ms"]) for r in rows if r["method"] == m]) for m in methods}
        lines += ["## Whole slice", "", *_table(rows, methods, ""), ""]
        lines += ["## Head only (background excluded)", "", *_table(rows, methods, "head_"), ""]
        lines += ["## Fusion time", "", "| method | device | ms / pair (mean) |", "|---|---|---|"]
        lines += [f"| {m} | {result.devices.get(m, '')} | {ms[m]:.1f} |" for m in methods]
        lines.append("")
    path = result.out / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _fused_of(panel: GridPanel, method: str) -> np.ndarray | None:
    return panel.fused.get(method)


def write_grid(path: Path, panels: list[GridPanel], methods: Sequence[str]) -> Path:
    """Write a labelled figure of the pairs, their decision maps and fused images.

    One column per pair; rows image 1, image 2, decision map, and the fused image of each
    method (matplotlib, Agg backend, 100 dpi, 1.6 inch panels).

    One :class:`GridPanel` per pair.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    dm_method = next((p.dm[0] for p in panels if p.dm is not None), None)
    first = panels[0].pair
    rows: list[tuple[str, Callable[[GridPanel], np.ndarray | None]]] = [
        (f"image 1 ({first.modality1})", lambda p: p.im1),
        (f"image 2 ({first.modality2})", lambda p: p.im2),
    ]
    if dm_method is not None:
        rows.append(
            (f"decision map\n({dm_method}, white = 1)", lambda p: None if p.dm is None else p.dm[1])
        )
    for m in methods:
        rows.append((f"fused: {m}", functools.partial(_fused_of, method=m)))
    size = 1.6
    fig = Figure(figsize=(size * len(panels) + 1.2, size * len(rows) + 0.3), dpi=100)
    axes = fig.subplots(len(rows), len(panels), squeeze=False)
    for c, panel in enumerate(panels):
        for r, (label, get) in enumerate(rows):
            ax = axes[r][c]
            img = get(panel)
            if img is not None:
                ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(panel.pair.id), fontsize=9)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.97, bottom=0.01, wspace=0.03, hspace=0.05)
    tmp = path.with_name(path.name + ".part")
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write '{path}': {exc}") from exc
    return path
