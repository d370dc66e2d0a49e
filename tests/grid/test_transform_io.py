"""save_transform / load_transform: ITK .tfm round trip reproduces the resampling."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK

from brainfuse.errors import ExportError, UnreadableInputError
from brainfuse.grid import load_transform, resample_to, save_transform

from .conftest import known_move


def test_round_trip_reproduces_resampling(mri_3mm, tmp_path):
    move = known_move(mri_3mm)
    path = save_transform(tmp_path / "ct_to_mri.tfm", move)
    assert path.read_text().startswith("#Insight Transform File")
    loaded = load_transform(path)
    assert isinstance(loaded, SimpleITK.Euler3DTransform)
    np.testing.assert_allclose(loaded.GetParameters(), move.GetParameters(), atol=1e-12)
    np.testing.assert_allclose(loaded.GetFixedParameters(), move.GetFixedParameters())
    a = resample_to(mri_3mm, mri_3mm, transform=move)
    b = resample_to(mri_3mm, mri_3mm, transform=loaded)
    np.testing.assert_array_equal(a.array, b.array)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_2d_transform_round_trip(tmp_path):
    move = SimpleITK.Euler2DTransform((10.0, -4.0), 0.1, (2.0, 3.0))
    loaded = load_transform(save_transform(tmp_path / "slice.tfm", move))
    assert isinstance(loaded, SimpleITK.Euler2DTransform)
    np.testing.assert_allclose(loaded.GetParameters(), move.GetParameters())


def test_wrong_suffix_and_missing_folder_are_refused(tmp_path):
    move = SimpleITK.Euler3DTransform()
    with pytest.raises(ExportError, match=r"\.tfm"):
        save_transform(tmp_path / "t.png", move)
    with pytest.raises(ExportError, match="does not exist"):
        save_transform(tmp_path / "nowhere" / "t.tfm", move)


def test_missing_or_garbage_file_is_unreadable(tmp_path):
    with pytest.raises(UnreadableInputError, match="does not exist"):
        load_transform(tmp_path / "absent.tfm")
    junk = tmp_path / "junk.tfm"
    junk.write_text("this is not a transform\n")
    with pytest.raises(UnreadableInputError, match=r"junk\.tfm"):
        load_transform(junk)
