"""Readouts are current or pending: a value computed for an older picture is never shown."""

from __future__ import annotations

import pytest

from brainfuse.reading.readout_board import Readouts


def test_pending_until_computed_for_the_current_picture():
    board = Readouts()
    assert board.pending == ["ssim", "psnr", "bone_kept", "brain_kept", "fusion_ms"]
    first = board.invalidate()
    assert board.put(first, {"ssim": 0.864, "psnr": 21.0, "bone_kept": 0.9, "brain_kept": 0.8})
    assert board.shown()["ssim"] == pytest.approx(0.864)
    edit = board.invalidate()  # a brush edit: the old numbers go at once
    assert board.shown()["ssim"] is None and "ssim" in board.shown()["pending"]
    assert not board.put(first, {"ssim": 0.864})  # a late result for the old picture: dropped
    assert board.shown()["ssim"] is None
    assert board.put(edit, {"ssim": 0.693})
    assert board.shown()["ssim"] == pytest.approx(0.693)
    assert "ssim" not in board.pending and "psnr" in board.pending


def test_fusion_time_is_the_fusions_not_a_recomposes():
    board = Readouts()
    board.fusion_time({"encode": 300.0, "total": 1200.0}, n_slices=4)
    assert board.shown()["fusion_ms"] == pytest.approx(300.0)
    board.fusion_time({"recompose": 2.0}, n_slices=4)  # a window change recomposed
    board.invalidate()  # scrolling: picture readouts pending, the fusion time stays
    assert board.shown()["fusion_ms"] == pytest.approx(300.0)
    assert "fusion_ms" not in board.pending


def test_unknown_names_are_refused():
    board = Readouts()
    with pytest.raises(KeyError):
        board.put(board.picture, {"sharpness": 1.0})
