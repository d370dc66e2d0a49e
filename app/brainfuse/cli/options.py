"""Command-line options shared by several subcommands (one definition each)."""

from __future__ import annotations

import argparse

__all__ = ["add_fusion_options", "add_threads_option", "positive_int"]


def positive_int(text: str) -> int:
    """Parse an integer ≥ 1 for argparse (``--threads 0`` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


#: What ``--threads`` defaults to for a fusion (``fusion_threads`` and ``workers_now``).
FUSION_THREADS = "every core, at most 8; each batch of slices uses the cores free at that moment"
#: What it defaults to for training (``choose_threads``: torch's own threads).
FREE_CORES = "the cores free now (cores - load average + 1, at most 8)"


def add_threads_option(
    parser: argparse.ArgumentParser, default: int | None = None, chosen: str = FUSION_THREADS
) -> None:
    """``--threads N``: CPU threads for the network (``chosen`` says the default in words)."""
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=default,
        metavar="N",
        help=f"CPU threads for the network (default: {default if default else chosen})",
    )


def add_fusion_options(p: argparse.ArgumentParser) -> None:
    """How to fuse: method, rule, device, threads, windows, alignment, output format.

    The options of ``brainfuse fuse`` that ``brainfuse batch`` applies to every item.
    """
    from brainfuse.export.identity import ANONYMIZE_DEFAULT
    from brainfuse.fusion import available_methods
    from brainfuse.fusion.settings import RULES

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
        "(number of slices // 2) unless given; fuse prints the slice it wrote",
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
        default="auto",
        choices=("auto", "mri", "ct"),
        help="whose grid the result is on: auto (default) the finer in-plane (the CT's on a "
        "tie), grown to keep both fields of view; mri or ct that image's grid as it is",
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
