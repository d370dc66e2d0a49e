"""The window's worker bodies: thin wrappers over the core, with typed payloads.

Each runs in a :class:`~brainfuse.gui.workers.TaskRunner` worker, never on the GUI thread.
The fusion task wraps :meth:`brainfuse.pipeline.PairFusion.steps` and nothing else, so the
window fuses exactly as ``brainfuse fuse`` does (same windows, same slice-first order).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from brainfuse.model.image import ImageVolume
from brainfuse.model.intensity import Window, WindowSpec, default_window
from brainfuse.model.overlay import OverlayStyle
from brainfuse.model.results import PairResult
from brainfuse.pipeline import FusionStep, PairFusion, align, prepare

if TYPE_CHECKING:  # only types here
    import SimpleITK

    from brainfuse.pipeline.fusers import Fuser
    from brainfuse.pipeline.transform import AlignedPair

__all__ = [
    "Aligned",
    "ExportRequest",
    "FusionRequest",
    "SliceDone",
    "align_task",
    "demo_task",
    "export_task",
    "fusion_task",
    "load_task",
    "recompose_task",
    "resume_task",
    "transform_task",
]


def load_task(path: str, series: int | None = None, *, cancel: threading.Event) -> ImageVolume:
    """Load one scan (a series index for a folder holding several)."""
    from brainfuse.pipeline.files import open_scan

    return open_scan(path, series)


def demo_task(*, cancel: threading.Event) -> tuple[ImageVolume, ImageVolume]:
    """Load the built-in demo pair."""
    from brainfuse.pipeline.files import demo_pair

    return demo_pair()


@dataclass(frozen=True)
class Aligned:
    """The pair on one grid and the MRI's default window (computed in the worker)."""

    pair: AlignedPair
    mr_default: Window


def align_task(
    ct: ImageVolume,
    mri: ImageVolume,
    register: str,
    reference: str = "auto",
    allow_different_patients: bool = False,
    *,
    cancel: threading.Event,
) -> Aligned:
    """Put the pair on one grid as ``brainfuse fuse --register R --reference G`` does.

    ``allow_different_patients``: the user confirmed fusing two patients (else refused).
    """
    pair = align(
        ct,
        mri,
        register=register,
        reference=reference,
        cancel=cancel,
        allow_different_patients=allow_different_patients,
    )
    return Aligned(pair, default_window(pair.mri))


@dataclass(frozen=True)
class FusionRequest:
    """What to fuse: the aligned pair, the windows (None: the source's default), slice first.

    ``allow_different_patients``: the user confirmed fusing two patients' images;
    ``mr_default``: the MRI's default window, computed when the pair was aligned.
    """

    pair: AlignedPair
    ct_window: WindowSpec
    mr_window: WindowSpec
    first: int
    allow_different_patients: bool = False
    mr_default: Window | None = None


@dataclass(frozen=True)
class SliceDone:
    """A fusion payload: ``fusion`` is new (``step`` None) or ``step.index`` is done."""

    fusion: PairFusion
    step: FusionStep | None = None
    ms: float | None = None


def fusion_task(
    request: FusionRequest, get_fuser: Callable[[], Fuser], *, cancel: threading.Event
) -> Generator[tuple[float, SliceDone], None, PairFusion]:
    """Window the pair and fuse it, shown slice first: one yield per slice."""
    prepared = prepare(
        request.pair,
        request.ct_window,
        request.mr_window,
        allow_different_patients=request.allow_different_patients,
        mr_default=request.mr_default,
    )
    fusion = PairFusion(prepared, get_fuser())
    yield 0.0, SliceDone(fusion)
    start = time.perf_counter()
    for step in fusion.steps(request.first, cancel=cancel):
        now = time.perf_counter()
        yield step.fraction, SliceDone(fusion, step, 1000.0 * (now - start))
        start = now
    return fusion


@dataclass(frozen=True)
class ExportRequest:
    """An export of the window's result (``slice_index`` None: the whole volume)."""

    result: PairResult
    path: Path
    format: str
    overlay: bool
    anonymize: bool
    overwrite: bool
    style: OverlayStyle
    slice_index: int | None = None


def export_task(request: ExportRequest, *, cancel: threading.Event) -> list[Path]:
    """Write the export; returns the files written."""
    from brainfuse.pipeline.files import export_result

    return export_result(
        request.result,
        request.path,
        format=request.format,
        overlay=request.overlay,
        style=request.style,
        anonymize=request.anonymize,
        overwrite=request.overwrite,
        slice_index=request.slice_index,
    )


def transform_task(
    ct: ImageVolume,
    mri: ImageVolume,
    transform: SimpleITK.Transform,
    allow_different_patients: bool = False,
    *,
    cancel: threading.Event,
) -> Aligned:
    """Put the CT on the MRI's grid through a given rigid transform (a loaded ``.tfm``)."""
    pair = align(
        ct,
        mri,
        transform=transform,
        cancel=cancel,
        allow_different_patients=allow_different_patients,
    )
    return Aligned(pair, default_window(pair.mri))


def resume_task(
    fusion: PairFusion, first: int, *, cancel: threading.Event
) -> Generator[tuple[float, SliceDone], None, PairFusion]:
    """Fuse the slices a cancelled fusion left (same windows, same engine)."""
    start = time.perf_counter()
    for step in fusion.steps(first, cancel=cancel):
        now = time.perf_counter()
        yield step.fraction, SliceDone(fusion, step, 1000.0 * (now - start))
        start = now
    return fusion


def recompose_task(
    fusion: PairFusion,
    pair: AlignedPair,
    ct_window: WindowSpec,
    mr_window: WindowSpec,
    allow_different_patients: bool = False,
    *,
    cancel: threading.Event,
) -> PairFusion:
    """Recompose a finished CNN fusion under other windows (no encoder run)."""
    prepared = prepare(
        pair, ct_window, mr_window, allow_different_patients=allow_different_patients
    )
    return fusion.recomposed(prepared)
