"""The geometry alignment is checked against a coarse registration: 37 mm apart warns."""

from __future__ import annotations

import pytest

from brainfuse.grid import align_pair, resample_to
from brainfuse.grid.agreement import MAX_SHIFT_MM, check_agreement
from brainfuse.model.alignment import alignment_report, report_text

from .conftest import isotropic_grid


@pytest.fixture(scope="module")
def pair_3mm(demo_volumes):
    ct, mri = demo_volumes
    grid = isotropic_grid(mri, 3.0)
    return resample_to(ct, grid), resample_to(mri, grid)


def test_a_pair_in_place_agrees(pair_3mm):
    ct, mri = pair_3mm
    pair = align_pair(ct, mri)
    assert pair.agreement is not None and not pair.agreement.disagrees
    assert pair.agreement.offset_mm < MAX_SHIFT_MM and pair.warnings == []
    text = report_text(alignment_report(pair))
    assert "heads agree within" in text and "field of view shared" in text


def test_a_pair_37_mm_apart_by_file_geometry_warns(pair_3mm):
    ct, mri = pair_3mm
    # The CT's file says it lies 37 mm further left than it does: same field of view
    # mostly shared, the heads 37 mm apart once placed by geometry.
    moved = ct.with_array(ct.array, origin=(ct.origin[0] + 37.0, ct.origin[1], ct.origin[2]))
    pair = align_pair(moved, mri)
    assert pair.mode == "geometry" and pair.coverage > 0.5
    a = pair.agreement
    assert a is not None and a.disagrees
    assert a.offset_mm == pytest.approx(37.0, abs=4.0)
    assert abs(a.shift_mm[0]) == pytest.approx(37.0, abs=4.0)  # along L, as moved
    (warning,) = pair.warnings
    assert "do not agree by file geometry" in warning and "--register rigid" in warning
    assert f"{a.offset_mm:.1f} mm" in warning
    assert "apart" in report_text(alignment_report(pair))


def test_no_claim_for_single_slices(pair_3mm):
    ct, mri = pair_3mm
    one = ct.with_array(ct.array[10:11])
    assert check_agreement(one, mri) is None
