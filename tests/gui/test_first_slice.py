"""``bench --first-slice``: open a pair in the hidden window and time its first fused slice."""

from __future__ import annotations

import pytest

from brainfuse.cli.first_slice import time_first_slice
from brainfuse.errors import BrainFuseError
from brainfuse.export.nifti import write_nifti

from .conftest import crop


def test_first_fused_slice_is_timed_in_fresh_windows(qapp, demo, tmp_path):
    ct, mri = (crop(v, 60, 66) for v in demo)
    paths = (tmp_path / "ct.nii.gz", tmp_path / "mri.nii.gz")
    for vol, path in zip((ct, mri), paths, strict=True):
        write_nifti(vol, path)
    lines: list[str] = []
    (row,) = time_first_slice({"crop": paths}, repeat=2, timeout=120, log=lines.append)
    assert row["name"] == "crop" and len(row["s_runs"]) == 2
    assert 0 < row["s_min"] <= row["s_median"] <= row["s_max"] < 120
    assert lines and "crop" in lines[0]


def test_a_pair_that_cannot_be_opened_is_an_error_not_a_time(qapp, tmp_path):
    missing = (tmp_path / "none_ct.nii.gz", tmp_path / "none_mri.nii.gz")
    with pytest.raises(BrainFuseError, match=r"failed: .*none_(ct|mri)\.nii\.gz does not exist"):
        time_first_slice({"missing": missing}, repeat=1, timeout=30)
