"""``brainfuse fuse CT MRI -o OUT``: fuse a CT (or PET/SPECT) with an MRI from the shell.

2-D inputs give a PNG on the sources' 0-255 scale; volumes give a NIfTI with the grid's
affine, or a PNG of one slice (``--slice``, default the middle) when OUT ends in ``.png``.
``--demo`` fuses the built-in demo pair (two templates, not one patient).
"""

from __future__ import annotations

import argparse
import sys

from brainfuse.cli.options import add_fusion_options

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse fuse`` and its options to ``subparsers``."""
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
    add_fusion_options(p)
    p.add_argument(
        "--save-transform",
        metavar="TFM",
        help="write the registration transform (ITK .tfm) to reproduce this alignment",
    )
    p.add_argument(
        "--transform",
        metavar="TFM",
        help="align by a transform saved before (--save-transform, or the window's Save "
        "transform) instead of registering again; the result is on the MRI's grid",
    )
    p.add_argument(
        "--edits",
        metavar="EDITS",
        help="decision-map edits saved by the window (NIfTI on the result's grid: 0 automatic, "
        "1 force CT, 2 force MRI), applied before export",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="name every file written (default: one line per output, e.g. a DICOM folder)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``brainfuse fuse``; return the exit status."""
    from brainfuse._runtime.heap import one_malloc_arena
    from brainfuse._runtime.progress import JobProgress
    from brainfuse.pipeline.fuse_files import JOB_STAGES, FuseJob, fuse_files

    one_malloc_arena()  # before the fuser's threads allocate: what they free can go back
    job = JobProgress(JOB_STAGES)
    try:
        outcome = fuse_files(FuseJob.from_args(args), job)
        job.finish()
    finally:
        job.close()
    result, written, notes = outcome.result, outcome.written, outcome.notes
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
    print(f"aligned: {outcome.aligned}")
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
    for w in outcome.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if outcome.slice_index is not None:
        n = result.fused.n_slices
        k = outcome.slice_index % n
        print(f"slice: {k} (counting from 0; {k + 1} of {n} in the window)")
    if args.verbose:
        lines = [f"wrote {path}" for path in written]
    else:
        from brainfuse.model.written import summarize_written

        lines = summarize_written(written, [args.output, args.decision_map, args.save_transform])
    for line in lines:
        print(line)
    return 0
