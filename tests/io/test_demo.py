"""The shipped demo pair: one grid, HU, labelled as templates, small, licensed."""

from __future__ import annotations

import numpy as np

from brainfuse._runtime.resources import demo_dir
from brainfuse.io import demo_pair


def test_demo_pair_is_on_one_grid_with_hu():
    ct, mri = demo_pair()
    assert ct.shape == mri.shape
    np.testing.assert_array_equal(ct.affine, mri.affine)
    assert ct.orientation == mri.orientation == "LPS"
    assert ct.spacing == (1.5, 1.5, 1.5)
    assert (ct.modality, ct.units, ct.array.dtype) == ("CT", "HU", np.int16)
    assert (mri.modality, mri.array.dtype) == ("MR", np.uint8)
    lo, hi = ct.value_range()
    assert lo == -1024 and 300 < hi < 3071
    # Brain tissue in the middle of the head reads as brain HU (20–40), not Cormack units.
    z, y, x = (s // 2 for s in ct.shape)
    assert 0 < np.median(ct.array[z + 10, y - 5 : y + 5, x - 5 : x + 5]) < 60
    for v in (ct, mri):
        assert "templates, not one patient" in v.description


def test_demo_files_are_small_and_licensed():
    folder = demo_dir()
    total = sum(p.stat().st_size for p in folder.glob("*.nii.gz"))
    assert total < 4_000_000
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for text in (
        "templates, not one patient",
        "Copyright (c) 2021, Chris Rorden",
        "Copyright (C) 1993-2009 Louis Collins",
        "x / 11 − 124",
    ):
        assert text in readme
