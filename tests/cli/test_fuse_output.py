"""What ``brainfuse fuse`` prints: one line per output, the alignment, readable windows, help."""

from __future__ import annotations

import re

import pytest

from brainfuse.cli import build_parser, main


def _wrote(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("wrote ")]


def test_a_dicom_series_is_one_line_and_the_alignment_is_printed(tmp_path, capsys):
    series = tmp_path / "series"
    args = ["fuse", "--demo", "--format", "dicom", "-o", str(series), "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    files = sorted(series.glob("*.dcm"))
    assert len(files) > 100  # one per slice, and the Segmentation
    assert _wrote(out) == [f"wrote {len(files)} DICOM files to {series}"]
    assert any(line.startswith("aligned: geometry") for line in out.splitlines())
    windows = next(line for line in out.splitlines() if "windows:" in line)
    mri = windows.split("MRI ")[1]
    # rounded to what a reader can see (no "C405.586/W804.441")
    assert mri.startswith("percentile C") and "/W" in mri
    assert all(len(decimals) <= 2 for decimals in re.findall(r"\d+\.(\d+)", mri))


def test_verbose_names_every_file_and_a_png_of_a_volume_says_its_slice(tmp_path, capsys):
    series = tmp_path / "series"
    args = ["fuse", "--demo", "--format", "dicom", "-o", str(series), "--device", "cpu"]
    assert main([*args, "--slice", "3", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert _wrote(out) == [f"wrote {p}" for p in sorted(series.glob("*.dcm"))]
    assert "slice: 3 (counting from 0; 4 of " in out


def _help(option: str) -> str:
    sub = build_parser()._subparsers._group_actions[0].choices["fuse"]  # type: ignore[union-attr]
    return next(a.help for a in sub._actions if option in a.option_strings)


@pytest.mark.parametrize(
    ("option", "text"),
    [
        (
            "-o",
            "where to write: a .nii or .nii.gz file (the whole volume); a .png or .dcm file "
            "(one slice: a 2-D result, or --slice of a volume); or a folder, for a DICOM series "
            "(--format dicom: one .dcm per slice plus the decision map's Segmentation) or "
            "numbered PNG slices (--format png)",
        ),
        (
            "--slice",
            "write only slice K of a volume, counting from 0 in the result's slice order "
            "(the window shows it as K+1); a volume written to one .png takes the middle slice "
            "(number of slices // 2) unless given; fuse prints the slice it wrote",
        ),
    ],
)
def test_help_texts_are_exact(option, text):
    assert _help(option) == text
