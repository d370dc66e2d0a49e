"""Batch evaluation of fusion methods on a folder of registered slice pairs (no Qt).

Core of ``brainfuse evaluate``: find the pairs, fuse each with every method (one
:class:`~brainfuse.fusion.Fuser` per method, created once), score them with
:func:`brainfuse.metrics.fusion_metrics`, and write, under the output folder::

    <method>/<id>.png       fused slice, 0–255 (RGB kept for colour sources)
    <method>/<id>_dm.png    decision map (255 where image 1 is taken), methods with a map
    metrics.csv             one row per pair and method, flushed as it goes
    summary.md              mean ± sd per method, best in bold
    grid.png                sources, decision map and fused images of a few pairs

Pair folders follow ``../shared/data/pairs/*/``: ``<id>_<mod1>.png`` + ``<id>_<mod2>.png``
with (mod1, mod2) one of :data:`PAIR_KINDS`; image 1 is the CT / functional image.
"""

from __future__ import annotations

import csv
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from brainfuse.bench.evaluation_report import write_grid
from brainfuse.bench.summary import write_summary
from brainfuse.errors import BrainFuseError, CancelledError, ExportError, UnreadableInputError
from brainfuse.fusion import METHODS
from brainfuse.metrics import ANATOMY_NAMES, METRIC_NAMES, fusion_metrics, head_mask
from brainfuse.model.bone import bone_prior
from brainfuse.model.intensity import from_uint8, to_uint8
from brainfuse.model.results import FusionResult

__all__ = [
    "DEFAULT_METHODS",
    "PAIR_KINDS",
    "EvaluationResult",
    "GridPanel",
    "ImagePair",
    "PairFuser",
    "discover_pairs",
    "evaluate",
    "load_pair",
]

#: (image 1, image 2) modality suffixes of a pair; image 1 is the CT or functional image.
PAIR_KINDS: tuple[tuple[str, str], ...] = (
    ("ct", "mri"),
    ("pet", "mri"),
    ("spect", "mri"),
    ("mr1", "mr2"),
)
#: Methods run when none is asked for: ours, then the three classical baselines.
DEFAULT_METHODS = tuple(METHODS)
#: Methods whose decision map means something (the others blend, their map is empty).
MAP_METHODS = frozenset(m.name for m in METHODS.values() if m.has_map)
#: Metric columns: whole slice (with the anatomy metrics, which have their own masks), then
#: head only (``head_`` prefix).
WHOLE_COLUMNS = METRIC_NAMES
HEAD_NAMES = tuple(name for name in METRIC_NAMES if name not in ANATOMY_NAMES)
HEAD_COLUMNS = tuple(f"head_{name}" for name in HEAD_NAMES)
CSV_COLUMNS = (
    "pair",
    "method",
    "rule",
    "modality1",
    "modality2",
    "fuse_ms",
    *WHOLE_COLUMNS,
    *HEAD_COLUMNS,
)


@dataclass(frozen=True)
class ImagePair:
    """One registered slice pair of a pair folder."""

    id: str
    path1: Path
    path2: Path
    modality1: str
    modality2: str


@dataclass
class GridPanel:
    """One pair's column of the evaluation grid: 8-bit images (0–255)."""

    pair: ImagePair
    im1: np.ndarray
    im2: np.ndarray
    fused: dict[str, np.ndarray] = field(default_factory=dict)  # method -> fused image
    dm: tuple[str, np.ndarray] | None = None  # (method, 0/255 map) of the first map method


class PairFuser(Protocol):
    """What :func:`evaluate` needs of a fuser (the engine's :class:`~brainfuse.fusion.Fuser`)."""

    device: str

    def fuse(
        self, image1: np.ndarray, image2: np.ndarray, *, bone: np.ndarray | None = None
    ) -> FusionResult:
        """Fuse one pair of float [0, 1] images; ``bone`` is image 1's bone prior."""
        ...


#: One row of ``metrics.csv``: names and modalities as text, times and scores as numbers.
Row = dict[str, float | str]


@dataclass
class EvaluationResult:
    """What :func:`evaluate` did: rows written and the files it produced."""

    out: Path
    rows: list[Row] = field(default_factory=list)
    methods: tuple[str, ...] = ()
    pairs_done: int = 0
    pairs_total: int = 0
    cancelled: bool = False
    devices: dict[str, str] = field(default_factory=dict)


def discover_pairs(folder: str | Path) -> list[ImagePair]:
    """Find every ``<id>_<mod1>.png`` + ``<id>_<mod2>.png`` pair in ``folder`` (not recursive).

    Returns
    -------
    list of ImagePair
        Sorted by id (numerically where ids are numbers). Images without a partner are ignored.

    Raises
    ------
    UnreadableInputError
        If ``folder`` is not a folder or holds no pair.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UnreadableInputError(f"'{folder}' is not a folder of image pairs.")
    files = {p.name.lower(): p for p in folder.iterdir() if p.suffix.lower() == ".png"}
    pairs: list[ImagePair] = []
    for name, path in files.items():
        for mod1, mod2 in PAIR_KINDS:
            suffix = f"_{mod1}.png"
            if name.endswith(suffix):
                pid = path.name[: -len(suffix)]
                partner = files.get(f"{pid.lower()}_{mod2}.png")
                if partner is not None:
                    pairs.append(ImagePair(pid, path, partner, mod1, mod2))
    if not pairs:
        kinds = ", ".join(f"<id>_{a}.png + <id>_{b}.png" for a, b in PAIR_KINDS)
        raise UnreadableInputError(f"no image pairs found in '{folder}' (expected {kinds}).")

    def key(p: ImagePair) -> tuple[int, int | str]:
        return (0, int(p.id)) if p.id.isdigit() else (1, p.id)

    return sorted(pairs, key=key)


def _read_png(path: Path) -> np.ndarray:
    """8-bit grey (H, W) or RGB (H, W, 3) uint8 array of a PNG."""
    try:
        with Image.open(path) as im:
            if im.mode in ("I;16", "I;16B", "I", "F"):
                raise UnreadableInputError(
                    f"'{path}' is a {im.mode} (16-bit/float) image; evaluate expects 8-bit PNGs."
                )
            if im.mode in ("L", "RGB"):
                return np.asarray(im).copy()
            if im.mode in ("LA", "1"):
                return np.asarray(im.convert("L"))
            return np.asarray(im.convert("RGB"))
    except UnreadableInputError:
        raise
    except (OSError, ValueError) as exc:
        raise UnreadableInputError(f"cannot read '{path}' as an image: {exc}") from exc


def load_pair(pair: ImagePair) -> tuple[np.ndarray, np.ndarray]:
    """Read a pair as uint8 arrays: image 1 grey or RGB, image 2 grey (RGB → luminance).

    Raises
    ------
    UnreadableInputError
        Unreadable file.
    GeometryMismatchError
        The two images differ in size.
    """
    from brainfuse.errors import GeometryMismatchError

    im1, im2 = _read_png(pair.path1), _read_png(pair.path2)
    if im2.ndim == 3:
        im2 = np.asarray(Image.fromarray(im2).convert("L"))
    if im1.shape[:2] != im2.shape:
        raise GeometryMismatchError(
            f"pair '{pair.id}': {pair.path1.name} is {im1.shape[1]}×{im1.shape[0]} but "
            f"{pair.path2.name} is {im2.shape[1]}×{im2.shape[0]}; the two must be registered "
            "slices of one size."
        )
    return im1, im2


def _save_png(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as a PNG through a temporary file and a rename."""
    tmp = path.with_name(path.name + ".part")
    try:
        Image.fromarray(array).save(tmp, format="PNG")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write '{path}': {exc}") from exc


def _format(value: object) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:.6g}"
    return str(value)


def evaluate(
    pairs_dir: str | Path,
    out: str | Path,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    limit: int | None = None,
    grid: int = 6,
    device: str = "auto",
    rules: Sequence[str] | None = None,
    threads: int | None = None,
    make_fuser: Callable[[str], PairFuser] | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> EvaluationResult:
    """Fuse and score every pair of ``pairs_dir`` with each method; write results to ``out``.

    Parameters
    ----------
    pairs_dir : path
        Folder of ``<id>_<mod1>.png`` + ``<id>_<mod2>.png`` pairs (see :func:`discover_pairs`).
    out : path
        Output folder (created; an existing ``metrics.csv`` there is replaced). Must not be
        ``pairs_dir``.
    methods : sequence of str
        Fusion methods (:func:`brainfuse.fusion.available_methods`).
    limit : int or None
        Use only the first ``limit`` pairs.
    grid : int
        Number of pairs shown in ``grid.png`` (0: no grid).
    device : str
        Device for the fusers (``auto``, ``cpu``, ``cuda``).
    threads : int or None
        CPU threads for the fusers (default: :func:`brainfuse._runtime.threads.choose_threads`).
    make_fuser : callable(method) -> PairFuser, optional
        Factory of fusers (default :class:`brainfuse.fusion.Fuser`); one fuser per method.
    progress : callable(fraction), optional
        Called after each pair.
    cancel : threading.Event, optional
        Checked between fusions; when set, the rows finished so far stay in ``metrics.csv``,
        ``summary.md`` is written for them and :class:`CancelledError` is raised.

    Returns
    -------
    EvaluationResult
    """
    pairs_dir, out = Path(pairs_dir), Path(out)
    pairs = discover_pairs(pairs_dir)
    if limit is not None:
        pairs = pairs[: max(int(limit), 0)]
    methods = tuple(dict.fromkeys(methods))
    if not methods:
        raise BrainFuseError("no fusion method given.")
    if out.resolve() == pairs_dir.resolve():
        raise ExportError(f"the output folder '{out}' is the pairs folder; choose another one.")
    fusers = _make_fusers(methods, device, make_fuser, rules, threads)
    methods = tuple(fusers)
    try:
        for m in methods:
            (out / m).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the output folder '{out}': {exc}") from exc

    result = EvaluationResult(out=out, methods=methods, pairs_total=len(pairs))
    result.devices = {m: str(getattr(f, "device", "")) for m, f in fusers.items()}
    shown = set(
        np.unique(np.linspace(0, len(pairs) - 1, min(grid, len(pairs))).round().astype(int))
    )
    panels: list[GridPanel] = []
    try:
        with open(out / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            fh.flush()
            for index, pair in enumerate(pairs):
                panel, rows = _evaluate_pair(pair, fusers, out, cancel)
                for row in rows:
                    writer.writerow({k: _format(v) for k, v in row.items()})
                    result.rows.append(row)
                fh.flush()
                result.pairs_done = index + 1
                if index in shown:
                    panels.append(panel)
                if progress is not None:
                    progress((index + 1) / max(len(pairs), 1))
    except (CancelledError, KeyboardInterrupt):
        result.cancelled = True
        write_summary(result)
        raise
    except OSError as exc:
        raise ExportError(f"cannot write the results to '{out}': {exc}") from exc
    write_summary(result)
    if grid > 0 and panels:
        write_grid(out / "grid.png", panels, methods)
    return result


def _make_fusers(
    methods: Sequence[str],
    device: str,
    make_fuser: Callable[[str], PairFuser] | None,
    rules: Sequence[str] | None = None,
    threads: int | None = None,
) -> dict[str, PairFuser]:
    """One fuser per method (the engine's by default), keyed by its label.

    With several ``rules``, ``cnn`` gives one fuser per rule, labelled ``cnn-<rule>``.
    """
    rules = list(dict.fromkeys(rules or []))
    if make_fuser is not None:
        return {m: make_fuser(m) for m in methods}
    from brainfuse.fusion import Fuser, FusionSettings

    fusers: dict[str, PairFuser] = {}
    for m in methods:
        if m != "cnn" or not rules:
            fusers[m] = Fuser(m, device=device, threads=threads)
        elif len(rules) == 1:
            settings = FusionSettings(rule=rules[0])
            fusers[m] = Fuser(m, settings=settings, device=device, threads=threads)
        else:
            for rule in rules:
                settings = FusionSettings(rule=rule)
                fusers[f"{m}-{rule}"] = Fuser(m, settings=settings, device=device, threads=threads)
    return fusers


def _evaluate_pair(
    pair: ImagePair,
    fusers: dict[str, PairFuser],
    out: Path,
    cancel: threading.Event | None,
) -> tuple[GridPanel, list[Row]]:
    """Fuse one pair with every method, write the PNGs, score them.

    Returns the pair's grid panel and its CSV rows. A method's fused image is rounded to
    0-255 by :func:`brainfuse.model.intensity.to_uint8` (so ``average`` is the integer average).
    """
    im1, im2 = load_pair(pair)
    one, two = from_uint8(im1), from_uint8(im2)
    is_ct = pair.modality1 == "ct"
    bone = bone_prior(im1, "8-bit") if is_ct else None
    head = head_mask(im1, im2)
    panel = GridPanel(pair, im1, im2)
    rows: list[Row] = []
    for method, fuser in fusers.items():
        if cancel is not None and cancel.is_set():
            raise CancelledError("evaluation cancelled")
        t0 = time.perf_counter()
        res = fuser.fuse(one, two, bone=bone)
        ms = (time.perf_counter() - t0) * 1000.0
        fused = to_uint8(res.fused)
        _save_png(out / method / f"{pair.id}.png", fused)
        if getattr(fuser, "method", method) in MAP_METHODS:
            dm = (np.asarray(res.decision_map) > 0).astype(np.uint8) * 255
            _save_png(out / method / f"{pair.id}_dm.png", dm)
            if panel.dm is None:
                panel.dm = (method, dm)
        row: Row = {
            "pair": pair.id,
            "method": method,
            "rule": getattr(res, "rule", None) or "",
            "modality1": pair.modality1,
            "modality2": pair.modality2,
            "fuse_ms": ms,
        }
        row.update(fusion_metrics(fused, im1, im2, ct_scale="8-bit" if is_ct else None))
        if head.any():
            scores = fusion_metrics(fused, im1, im2, mask=head)
        else:  # a blank pair: no head to score
            scores = dict.fromkeys(METRIC_NAMES, float("nan"))
        row.update({f"head_{k}": scores[k] for k in HEAD_NAMES})
        rows.append(row)
        panel.fused[method] = fused
    return panel, rows
