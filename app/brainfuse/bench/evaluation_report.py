"""The reports of a batch evaluation: ``metrics.csv`` read back and ``grid.png``.

:func:`write_grid` draws a few pairs, their decision maps and each method's fused image
(matplotlib, Agg); ``summary.md`` is :func:`brainfuse.bench.summary.write_summary`.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from brainfuse.errors import ExportError

if TYPE_CHECKING:  # the evaluation's records, only as types (it imports this module)
    from brainfuse.bench.evaluation import GridPanel, Row

__all__ = ["read_metrics_csv", "write_grid"]


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
