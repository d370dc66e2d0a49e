"""register_rigid: recovers a known 8 mm / 6° move across an intensity remapping; progress,
cancellation and refusals."""

from __future__ import annotations

import itertools
import math
import threading

import numpy as np
import pytest
import SimpleITK

from brainfuse.errors import CancelledError, RegistrationError
from brainfuse.grid import register_rigid, resample_to, rigid_difference
from brainfuse.model.image import ImageVolume

from .conftest import isotropic_grid, known_move, load_volume, other_modality


def _centre(volume: ImageVolume) -> tuple[float, float, float]:
    z, y, x = volume.shape
    return tuple((volume.affine @ np.array([(x - 1) / 2, (y - 1) / 2, (z - 1) / 2, 1.0]))[:3])


def _moved_copy(fixed: ImageVolume) -> tuple[ImageVolume, SimpleITK.Transform]:
    """``fixed`` moved by 8 mm / 6° and remapped non-monotonically; returns the true
    fixed→moving transform that registration should find."""
    move = known_move(fixed, translation_mm=8.0, rotation_deg=6.0)
    # resample_to(..., transform=T) gives moved(p) = fixed(T(p)), so registration of fixed to
    # moved must find T⁻¹ (fixed points → moved points).
    moved = resample_to(fixed, fixed, transform=move)
    return moved.with_array(other_modality(moved.array)), move.GetInverse()


def _assert_recovered(result, truth, fixed, max_mm=1.0, max_deg=1.0):
    angle, shift = rigid_difference(result.transform, truth, _centre(fixed))
    assert angle <= max_deg and shift <= max_mm, (angle, shift, result.stop_condition)
    # and the start was really off by what the acceptance asks
    start_angle, start_shift = rigid_difference(SimpleITK.Euler3DTransform(), truth, _centre(fixed))
    assert start_angle == pytest.approx(6.0, abs=0.01) and start_shift == pytest.approx(8, abs=0.01)


def test_recovers_known_move_on_shipped_mri(mri_3mm):
    """Acceptance 2 with data that ships: the demo MRI (3 mm, ~60×73×61)."""
    moving, truth = _moved_copy(mri_3mm)
    result = register_rigid(mri_3mm, moving)
    _assert_recovered(result, truth, mri_3mm)
    assert isinstance(result.transform, SimpleITK.Euler3DTransform)
    assert result.metric_value < 0 and result.iterations > 0 and result.stop_condition
    # Resampling the moved copy with the found transform puts it back.
    back = resample_to(moving, mri_3mm, transform=result.transform)
    inside = mri_3mm.array > 0.2 * mri_3mm.array.max()
    truth_back = resample_to(moving, mri_3mm, transform=truth)
    r = np.corrcoef(back.array[inside], truth_back.array[inside])[0, 1]
    assert r > 0.99


@pytest.mark.shared
@pytest.mark.slow
def test_recovers_known_move_on_mni_template(shared_data):
    """Acceptance 2 on the MNI152 template (2 mm grid, ~99×117×95)."""
    mni = load_volume(shared_data / "nifti" / "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz")
    fixed = resample_to(mni, isotropic_grid(mni, 2.0))
    moving, truth = _moved_copy(fixed)
    result = register_rigid(fixed, moving)
    _assert_recovered(result, truth, fixed)


def test_two_single_slices_register_in_plane(mri_3mm):
    k = mri_3mm.shape[0] // 2
    fixed = mri_3mm.with_array(mri_3mm.array[k : k + 1])
    move = SimpleITK.Euler2DTransform()
    fixed_2d_centre = np.asarray(mri_3mm.origin[:2]) + 3.0 * (np.array(fixed.shape[:0:-1]) - 1) / 2
    move.SetCenter(tuple(fixed_2d_centre))
    move.SetAngle(math.radians(5.0))
    move.SetTranslation((4.0, -3.0))
    moved = resample_to(fixed, fixed, transform=move)
    moving = moved.with_array(other_modality(moved.array))
    result = register_rigid(fixed, moving)
    assert isinstance(result.transform, SimpleITK.Euler2DTransform)
    angle, shift = rigid_difference(result.transform, move.GetInverse(), fixed_2d_centre)
    assert angle <= 1.0 and shift <= 1.0, (angle, shift)


def test_progress_reaches_one_and_increases(mri_3mm):
    moving, _ = _moved_copy(mri_3mm)
    seen: list[float] = []
    register_rigid(
        mri_3mm, moving, progress=seen.append, shrink_factors=(4, 2), smoothing_sigmas=(2, 1)
    )
    assert len(seen) > 3
    assert seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert all(b >= a for a, b in itertools.pairwise(seen))


class _CountingEvent(threading.Event):
    """An Event that counts how often it is consulted once set (one look per iteration)."""

    looks_after_set = 0

    def is_set(self) -> bool:
        state = super().is_set()
        if state:
            self.looks_after_set += 1
        return state


def test_cancel_from_progress_stops_promptly(mri_3mm):
    moving, _ = _moved_copy(mri_3mm)
    cancel = _CountingEvent()
    calls: list[float] = []

    def progress(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 3:
            cancel.set()

    with pytest.raises(CancelledError):
        register_rigid(mri_3mm, moving, progress=progress, cancel=cancel)
    assert len(calls) == 3
    # StopRegistration() ends the run: at most one more iteration per pyramid level (3) and
    # the final check, instead of the ~100 iterations a full run takes.
    assert 1 <= cancel.looks_after_set <= 4


def test_cancel_before_start(mri_3mm):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        register_rigid(mri_3mm, mri_3mm, cancel=cancel)


def test_slice_against_volume_is_refused(mri_3mm):
    one = mri_3mm.with_array(mri_3mm.array[:1])
    with pytest.raises(RegistrationError, match="single slice"):
        register_rigid(mri_3mm, one)


def test_uniform_image_is_refused(mri_3mm):
    blank = mri_3mm.with_array(np.zeros(mri_3mm.shape, dtype=np.float32), description="blank")
    with pytest.raises(RegistrationError, match="blank"):
        register_rigid(mri_3mm, blank)
