"""From input files to written outputs: the one path of ``brainfuse fuse`` and ``brainfuse batch``.

:func:`fuse_files` loads the two inputs, aligns, windows and fuses them slice by slice
(:class:`~brainfuse.pipeline.PairFusion`), applies saved decision-map edits and writes the
outputs (:func:`brainfuse.export.export_result`, atomic). ``brainfuse fuse`` calls it once;
each task of ``brainfuse batch`` calls it with the :class:`~brainfuse.fusion.Fuser` its worker
keeps loaded, so an item's outputs are those ``brainfuse fuse`` writes for it, byte for byte.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brainfuse.errors import ExportError
from brainfuse.export.identity import ANONYMIZE_DEFAULT

if TYPE_CHECKING:  # torch is loaded only when a fusion runs
    from brainfuse.fusion import Fuser
    from brainfuse.model.results import PairResult

__all__ = ["JOB_STAGES", "FuseJob", "FuseOutcome", "fuse_files", "make_fuser"]

#: Shares of a volume job's time per stage (measured on a 512 x 512 x 300 pair; the bar's ETA
#: is only as good as these until the fusion, most of the job, has started).
JOB_STAGES = {
    "loading CT": 5.0,
    "loading MRI": 4.0,
    "aligning": 3.0,
    "fusing": 80.0,
    "writing": 8.0,
}


@dataclass(frozen=True)
class FuseJob:
    """What to fuse and how: the options of ``brainfuse fuse`` (same names, same defaults).

    Attributes
    ----------
    ct, mri : str or None, image 1 (CT, PET/SPECT) and image 2 (MRI): file or DICOM folder
    output : str, the fused output (``.png``, ``.nii[.gz]``, a DICOM folder)
    demo : bool, fuse the built-in demo pair instead
    decision_map : str or None, also write the decision map there
    method, rule, device, threads : the fuser's (:class:`~brainfuse.fusion.Fuser`)
    ct_window, mr_window : str or None, ``CENTER/WIDTH`` or a preset
    slice : int or None, the slice of a volume written as one PNG (default the middle)
    register : {"auto", "none", "geometry", "rigid"}; reference : {"auto", "mri", "ct"}
    save_transform : str or None, write the registration transform (ITK ``.tfm``) there
    transform : str or None, align by this saved transform (``.tfm``) instead of registering
    edits : str or None, decision-map edits saved by the window, applied before export
    format : {"png", "dicom", "nifti"} or None (from the output's suffix)
    overlay, anonymize, overwrite : bool, as :func:`brainfuse.export.export_result` takes them
    seg : bool, a DICOM output also carries the decision map as a DICOM Segmentation
    allow_different_patients : bool, fuse sources of different patients (else refused;
        recorded in every output's provenance)
    """

    ct: str | None = None
    mri: str | None = None
    output: str = ""
    demo: bool = False
    decision_map: str | None = None
    method: str = "cnn"
    rule: str = "anatomy"
    device: str = "auto"
    threads: int | None = None
    ct_window: str | None = None
    mr_window: str | None = None
    slice: int | None = None
    register: str = "auto"
    reference: str = "auto"
    save_transform: str | None = None
    transform: str | None = None
    edits: str | None = None
    format: str | None = None
    overlay: bool = False
    anonymize: bool = ANONYMIZE_DEFAULT
    overwrite: bool = False
    seg: bool = True
    allow_different_patients: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> FuseJob:
        """Return the job an argparse namespace holding (some of) these options describes."""
        given = vars(args)
        return cls(**{f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given})


@dataclass
class FuseOutcome:
    """What :func:`fuse_files` did.

    Attributes
    ----------
    result : PairResult, the fusion (edits applied)
    written : list of Path, every file written (the transform last when saved)
    notes : list of (input name, its loading warnings)
    warnings : list of str, about the job itself (e.g. no transform to save)
    aligned : str, how the pair was put on one grid (the ``aligned:`` line)
    slice_index : int or None, the one slice of a volume written (counted from 0), if any
    """

    result: PairResult
    written: list[Path]
    notes: list[tuple[str, list[str]]]
    warnings: list[str]
    aligned: str = ""
    slice_index: int | None = None


class _Quiet:
    """A progress sink that shows nothing (a batch item reports to its scheduler instead)."""

    def __call__(self, within: float, detail: str = "") -> None:
        """Ignore the progress of the current stage."""

    def stage(self, name: str) -> Any:
        """Enter stage ``name`` (nothing to show)."""
        import contextlib

        return contextlib.nullcontext(self)


def make_fuser(job: FuseJob) -> Fuser:
    """Load the :class:`~brainfuse.fusion.Fuser` that ``job`` asks for."""
    from brainfuse.fusion import Fuser, FusionSettings

    settings = FusionSettings(rule=job.rule)
    return Fuser(job.method, settings=settings, device=job.device, threads=job.threads)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _refuse_inputs(outputs: list[str | None], inputs: list[str]) -> None:
    for out in filter(None, outputs):
        o = Path(out).resolve()
        for src in inputs:
            s = Path(src).resolve()
            if o == s or _same_file(o, s) or (s.is_dir() and s in o.parents):
                raise ExportError(f"refusing to write {out}: it is (or is inside) the input {src}")


def _fuse(job: FuseJob, volumes: list, progress, fuser: Fuser | None) -> tuple[PairResult, str]:
    """Align, prepare and fuse slice by slice, as ``pipeline.fuse_pair`` does.

    ``volumes`` holds the CT and the MRI as loaded; it is emptied, so that a source resampled
    onto the other's grid is not kept in memory beside its copy while the slices are fused.
    Returns the result and the ``aligned:`` line (how the pair was put on one grid).
    """
    ct, mri = volumes
    volumes.clear()
    from brainfuse.model.alignment import alignment_report, report_text
    from brainfuse.pipeline import PairFusion, align, prepare

    with progress.stage("aligning"):
        if fuser is None:
            fuser = make_fuser(job)
        transform = None
        if job.transform:
            from brainfuse.pipeline.transform import load_transform

            transform = load_transform(job.transform)
        allow = job.allow_different_patients
        aligned = align(
            ct,
            mri,
            register=job.register,
            reference=job.reference,
            progress=progress,
            allow_different_patients=allow,
            transform=transform,
        )
        del ct, mri
        # lazy: each batch of slices is windowed when fused (no float copy of the sources)
        prepared = prepare(
            aligned, job.ct_window, job.mr_window, lazy=True, allow_different_patients=allow
        )
        # the fused volume composed from the stored weight when written (4 B a voxel less)
        fusion = PairFusion(prepared, fuser, store_fused=False)
        identity = prepared.identity
        relation = identity.relation() if identity is not None else None
        line = report_text(alignment_report(aligned, relation))
        del aligned
    from brainfuse._runtime.heap import return_free_memory

    return_free_memory()  # what loading and aligning freed, before the fusion allocates
    with progress.stage("fusing"):
        t0 = time.perf_counter()
        for step in fusion.steps(job.slice):
            rate = step.done / max(time.perf_counter() - t0, 1e-9)
            progress(step.fraction, f"{step.done}/{step.total} slices, {rate:.1f} slices/s")
    return_free_memory()  # the encoder's working memory, before the writer's is taken
    return fusion.result(), line


def fuse_files(job: FuseJob, progress=None, *, fuser: Fuser | None = None) -> FuseOutcome:
    """Load, fuse and write one pair as ``brainfuse fuse`` does.

    Parameters
    ----------
    job : FuseJob
    progress : JobProgress or None
        Shows the stages (:data:`JOB_STAGES`); None shows nothing.
    fuser : Fuser or None
        A fuser already loaded for ``job``'s method, rule and device (a batch worker's);
        None makes one.

    Returns
    -------
    FuseOutcome

    Raises
    ------
    BrainFuseError
        Unreadable input, pair that cannot be aligned or fused, output that exists or is an
        input: nothing is written then.
    """
    progress = progress if progress is not None else _Quiet()
    if job.demo:
        from brainfuse.io import demo_pair

        with progress.stage("loading CT"):
            volumes = list(demo_pair())
        inputs: list[str] = [v.path for v in volumes if v.path]
    else:
        if not job.ct or not job.mri:
            raise ExportError("give two inputs (CT then MRI), or --demo")
        from brainfuse.io import load

        inputs = [job.ct, job.mri]
        with progress.stage("loading CT"):
            volumes = [load(job.ct)]
        with progress.stage("loading MRI"):
            volumes.append(load(job.mri))
    if job.transform:
        inputs.append(job.transform)
    if job.edits:
        if not Path(job.edits).is_file():
            raise ExportError(f"edits file {job.edits} does not exist")
        inputs.append(job.edits)
    _refuse_inputs([job.output, job.decision_map, job.save_transform], inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fallback is reported by the caller
        notes = [(v.name, v.warnings) for v in volumes]  # what loading found odd
        result, aligned_line = _fuse(job, volumes, progress, fuser)
    if job.edits:
        from brainfuse.reading.edit_apply import apply_edits_file

        result = apply_edits_file(result, job.edits)
    slice_index = job.slice
    out = Path(job.output)
    is_png = (job.format or "").lower() == "png" or out.suffix.lower() == ".png"
    if is_png and result.fused.n_slices > 1 and slice_index is None:
        slice_index = result.fused.n_slices // 2
    from brainfuse.export import export_result

    with progress.stage("writing"):
        written = export_result(
            result,
            out,
            format=job.format,
            overlay=job.overlay,
            anonymize=job.anonymize,
            overwrite=job.overwrite,
            decision_map_path=job.decision_map,
            slice_index=slice_index,
            seg=job.seg,
        )
    said: list[str] = []
    if job.save_transform:
        if result.transform is None:
            said.append("no transform to save (--register none)")
        else:
            from brainfuse.pipeline.transform import save_transform

            written = [*written, save_transform(job.save_transform, result.transform)]
    return FuseOutcome(result, written, notes, said, aligned_line, slice_index)
