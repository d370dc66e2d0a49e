"""The alignment report (six rigid parameters about the grid centre) and the check pictures."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK

from brainfuse.grid import AlignedPair
from brainfuse.model.alignment import (
    alignment_report,
    blend,
    checkerboard,
    grid_centre,
    report_text,
    rigid_parameters,
)
from brainfuse.model.image import ImageVolume


def test_rigid_parameters_are_the_euler_angles_and_the_centre_shift():
    centre = (10.0, -20.0, 30.0)
    move = SimpleITK.Euler3DTransform()
    move.SetCenter(centre)
    move.SetRotation(math.radians(4.0), math.radians(-3.0), math.radians(6.0))
    move.SetTranslation((8.0, -2.0, 1.0))
    shift, angles = rigid_parameters(move, centre)
    assert shift == pytest.approx([8.0, -2.0, 1.0], abs=1e-9)
    assert angles == pytest.approx([4.0, -3.0, 6.0], abs=1e-9)
    # the same motion written as a versor about another centre reports the same numbers
    versor = SimpleITK.VersorRigid3DTransform()
    versor.SetMatrix(move.GetMatrix())
    versor.SetTranslation(tuple(np.asarray(move.TransformPoint((0.0, 0.0, 0.0)))))
    shift2, angles2 = rigid_parameters(versor, centre)
    assert shift2 == pytest.approx(shift, abs=1e-6) and angles2 == pytest.approx(angles, abs=1e-6)
    assert rigid_parameters(None, centre) == ([0.0] * 3, [0.0] * 3)
    identity = SimpleITK.Transform(3, SimpleITK.sitkIdentity)
    assert rigid_parameters(identity, centre)[0] == pytest.approx([0.0] * 3)


def test_report_of_an_aligned_pair():
    mri = ImageVolume(np.zeros((4, 6, 8), np.float32), spacing=(1.0, 1.0, 2.0))
    assert grid_centre(mri) == pytest.approx([3.5, 2.5, 3.0])
    move = SimpleITK.Euler3DTransform()
    move.SetCenter(tuple(grid_centre(mri)))
    move.SetTranslation((0.0, 5.0, 0.0))
    pair = AlignedPair(mri, mri, "mri", move, -0.61, mode="rigid", coverage=0.93)
    report = alignment_report(pair)
    assert report["mode"] == "rigid" and report["metric"] == pytest.approx(-0.61)
    assert report["translation_mm"] == pytest.approx([0.0, 5.0, 0.0])
    assert report["overlap"] == pytest.approx(0.93)
    text = report_text(report)
    assert "shift 0.0 mm left, 5.0 mm posterior, 0.0 mm superior; rotation 0.0° about" in text
    assert "similarity 0.610 (mutual information, higher is better)" in text
    assert "field of view shared 93 %" in text
    assert "overlap" not in text and report["fov_shared"] == report["overlap"]


def test_checkerboard_and_blend():
    a, b = np.ones((6, 8), np.float32), np.zeros((6, 8), np.float32)
    board = checkerboard(a, b, (2.0, 4.0))
    assert board[0, 0] == 1 and board[0, 4] == 0 and board[2, 0] == 0 and board[2, 4] == 1
    assert board.mean() == pytest.approx(0.5)
    assert blend(a, b, 0.25) == pytest.approx(np.full((6, 8), 0.25))
