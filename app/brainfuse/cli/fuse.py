"""``brainfuse fuse CT MRI -o OUT``: fuse a CT (or PET/SPECT) with an MRI from the shell.

2-D inputs give a PNG on the sources' 0-255 scale; volumes give a NIfTI with the grid's
affine, or a PNG of one slice (``--slice``, default the middle) when OUT ends in ``.png``.
``--demo`` fuses the built-in demo pair (two templates, not one patient).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from brainfuse.cli.options import add_threads_option
from brainfuse.errors import ExportError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse fuse`` and its options to ``subparsers``."""
    from brainfuse.export.identity import ANONYMIZE_DEFAULT
    from brainfuse.fusion import available_methods
    from brainfuse.fusion.settings import RULES

    p = subparsers.add_parser(
        "fuse",
        help="fuse a CT (or PET/SPECT) with an MRI",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ct", nargs="?", help="image 1: CT (or PET/SPECT) file or DICOM folder")
    p.add_argument("mri", nargs="?", help="image 2: MRI file or DICOM folder")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="where to write: a .nii or .nii.gz file (the whole volume); a .png or .dcm file "
        "(one slice: a 2-D result, or --slice of a volume); or a folder, for a DICOM series "
        "(--format dicom: one .dcm per slice plus the decision map's Segmentation) or "
        "numbered PNG slices (--format png)",
    )
    p.add_argument("--demo", action="store_true", help="fuse the built-in demo pair")
    p.add_argument("--decision-map", metavar="DM_OUT", help="also write the decision map")
    p.add_argument("--method", default="cnn", choices=available_methods())
    p.add_argument(
        "--rule",
        default="anatomy",
        choices=RULES,
        help="rule of the cnn method: anatomy (default; the CT's bone, the MRI's brain, "
        "elsewhere the image with clearly stronger edges, else the network's map; needs a CT, "
        "else sesf runs) or sesf (the paper's map)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    add_threads_option(p)
    p.add_argument("--ct-window", help="CENTER/WIDTH in HU or a preset: brain, subdural, bone")
    p.add_argument("--mr-window", help="CENTER/WIDTH (default robust percentiles)")
    p.add_argument(
        "--slice",
        type=int,
        default=None,
        metavar="K",
        help="write only slice K of a volume, counting from 0 in the result's slice order "
        "(the window shows it as K+1); a volume written to one .png takes the middle slice "
        "(number of slices // 2) unless given; the slice written is printed",
    )
    p.add_argument(
        "--register",
        default="auto",
        choices=("auto", "none", "geometry", "rigid"),
        help="how to put the two on one grid: geometry (file positions; default when both "
        "carry geometry), rigid (6-parameter mutual-information registration), none "
        "(same-size images taken as registered; default for plain images)",
    )
    p.add_argument(
        "--reference",
        default="mri",
        choices=("mri", "ct"),
        help="whose grid the result is on (default mri; the other one is resampled)",
    )
    p.add_argument(
        "--save-transform",
        metavar="TFM",
        help="write the registration transform (ITK .tfm) to reproduce this alignment",
    )
    p.add_argument(
        "--transform",
        metavar="TFM",
        help="align by this saved rigid transform (ITK .tfm, e.g. from --save-transform or the "
        "window's Check alignment) instead of registering again; puts the CT on the MRI's grid",
    )
    p.add_argument(
        "--edits",
        metavar="EDITS",
        help="decision-map edits saved by the window (NIfTI on the result's grid: 0 automatic, "
        "1 force CT, 2 force MRI), applied before export",
    )
    p.add_argument("--format", choices=("png", "dicom", "nifti"), default=None)
    p.add_argument("--overlay", action="store_true", help="burn the decision map into the output")
    p.add_argument(
        "--no-seg",
        dest="seg",
        action="store_false",
        help="DICOM: do not also write the decision map as a DICOM Segmentation",
    )
    p.add_argument(
        "--anonymize",
        action="store_true",
        default=ANONYMIZE_DEFAULT,
        help="de-identify DICOM output (default: the series keeps the patient and study of the "
        "DICOM source, the CT when both are DICOM)",
    )
    p.add_argument(
        "--allow-different-patients",
        action="store_true",
        help="fuse sources whose Patient ID, name, birth date or sex differ (refused otherwise); "
        "recorded in the provenance of every output",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="name every file written (default: one line per output, e.g. a DICOM folder)",
    )
    p.set_defaults(func=run)


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


def _fuse(args, volumes: list, job):
    """Align, prepare and fuse slice by slice, as ``pipeline.fuse_pair`` does.

    ``volumes`` holds the CT and the MRI as loaded; it is emptied, so that a source resampled
    onto the other's grid is not kept in memory beside its copy while the slices are fused.
    ``job`` (:class:`~brainfuse._runtime.progress.JobProgress`) shows the alignment and the slices.
    """
    ct, mri = volumes
    volumes.clear()
    from brainfuse.fusion import Fuser, FusionSettings
    from brainfuse.model.alignment import alignment_report, report_text
    from brainfuse.pipeline import PairFusion, align, prepare

    with job.stage("aligning"):
        settings = FusionSettings(rule=args.rule)
        fuser = Fuser(args.method, settings=settings, device=args.device, threads=args.threads)
        allow = args.allow_different_patients
        transform = None
        if args.transform:
            from brainfuse.pipeline.transform import load_transform

            transform = load_transform(args.transform)
        aligned = align(
            ct,
            mri,
            register=args.register,
            reference=args.reference,
            progress=job,
            allow_different_patients=allow,
            transform=transform,
        )
        del ct, mri
        # lazy: each batch of slices is windowed when fused (no float copy of the sources)
        prepared = prepare(
            aligned, args.ct_window, args.mr_window, lazy=True, allow_different_patients=allow
        )
        fusion = PairFusion(prepared, fuser)
        identity = prepared.identity
        relation = identity.relation() if identity is not None else None
        line = report_text(alignment_report(aligned, relation))
        del aligned
    with job.stage("fusing"):
        t0 = time.perf_counter()
        for step in fusion.steps(args.slice):
            rate = step.done / max(time.perf_counter() - t0, 1e-9)
            job(step.fraction, f"{step.done}/{step.total} slices, {rate:.1f} slices/s")
    return fusion.result(), line


#: Shares of a volume job's time per stage (measured on a 512 x 512 x 300 pair; the bar's ETA
#: is only as good as these until the fusion, most of the job, has started).
JOB_STAGES = {
    "loading CT": 5.0,
    "loading MRI": 4.0,
    "aligning": 3.0,
    "fusing": 80.0,
    "writing": 8.0,
}


def _job(args: argparse.Namespace, job):
    """Load, fuse and write; return the result, the files written and the inputs' warnings."""
    if args.demo:
        from brainfuse.io import demo_pair

        with job.stage("loading CT"):
            volumes = list(demo_pair())
        inputs: list[str] = [v.path for v in volumes if v.path]
    else:
        if not args.ct or not args.mri:
            raise ExportError("give two inputs (CT then MRI), or --demo")
        from brainfuse.io import load

        inputs = [args.ct, args.mri]
        with job.stage("loading CT"):
            volumes = [load(args.ct)]
        with job.stage("loading MRI"):
            volumes.append(load(args.mri))
    if args.edits:
        if not Path(args.edits).is_file():
            raise ExportError(f"edits file {args.edits} does not exist")
        inputs.append(args.edits)
    if args.transform:
        inputs.append(args.transform)
    _refuse_inputs([args.output, args.decision_map, args.save_transform], inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the fallback is printed below
        notes = [(v.name, v.warnings) for v in volumes]  # what loading found odd
        result, aligned_line = _fuse(args, volumes, job)
    if args.edits:
        from brainfuse.reading.edit_apply import apply_edits_file

        result = apply_edits_file(result, args.edits)
    slice_index = args.slice
    out = Path(args.output)
    is_png = (args.format or "").lower() == "png" or out.suffix.lower() == ".png"
    if is_png and result.fused.n_slices > 1 and slice_index is None:
        slice_index = result.fused.n_slices // 2
    from brainfuse.export import export_result

    with job.stage("writing"):
        written = export_result(
            result,
            out,
            format=args.format,
            overlay=args.overlay,
            anonymize=args.anonymize,
            overwrite=args.overwrite,
            decision_map_path=args.decision_map,
            slice_index=slice_index,
            seg=args.seg,
        )
    return result, written, notes, aligned_line, slice_index


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse fuse``; return the exit status."""
    from brainfuse._runtime.progress import JobProgress

    job = JobProgress(JOB_STAGES)
    try:
        result, written, notes, aligned_line, slice_index = _job(args, job)
        job.finish()
    finally:
        job.close()
    fusion = result.fusion
    if fusion.fallback:
        print(f"warning: {fusion.fallback}", file=sys.stderr)
    for name, found in notes:  # what loading found odd in an input: one line per input
        if found:
            print(f"warning: {name}: {'; '.join(found)}", file=sys.stderr)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    notice = result.identity.notice() if result.identity is not None else None
    if notice:  # no patient data on one side, or different patients fused on request
        print(f"warning: {notice}", file=sys.stderr)
    print(f"aligned: {aligned_line}")
    t = fusion.timings
    print(f"device: {fusion.device}")
    rule = f" (rule: {fusion.rule})" if fusion.rule else ""
    print(
        f"method: {fusion.method}{rule}; windows: CT {result.windows['ct'].describe()}, "
        f"MRI {result.windows['mri'].describe()}"
    )
    note = fusion.rule_note(args.rule if args.method == "cnn" else None)
    if note:  # which rule ran is part of the result (stdout), not a problem (stderr)
        print(f"note: {note}")
    print("timings: " + ", ".join(f"{k} {v:.1f} ms" for k, v in t.items()))
    if args.save_transform:
        if result.transform is None:
            print("warning: no transform to save (--register none)", file=sys.stderr)
        else:
            from brainfuse.grid import save_transform

            written = [*written, save_transform(args.save_transform, result.transform)]
    if slice_index is not None:
        n = result.fused.n_slices
        k = slice_index % n
        print(f"slice: {k} (counting from 0; {k + 1} of {n} in the window)")
    if args.verbose:
        lines = [f"wrote {path}" for path in written]
    else:
        from brainfuse.model.written import summarize_written

        lines = summarize_written(written, [args.output, args.decision_map, args.save_transform])
    for line in lines:
        print(line)
    return 0
