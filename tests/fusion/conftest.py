"""Small synthetic images for the fusion tests (made here, nothing downloaded)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage


def textured(shape=(96, 96), seed=0) -> np.ndarray:
    """A textured image in [0, 1] (smoothed noise with sharp detail)."""
    rng = np.random.default_rng(seed)
    t = ndimage.gaussian_filter(rng.random(shape), 1.0)
    t = (t - t.min()) / (t.max() - t.min())
    return t.astype(np.float32)


@pytest.fixture
def sharp_left_right():
    """(A, B): A sharp on the left half and blurred on the right, B the opposite."""
    t = textured()
    blur = ndimage.gaussian_filter(t, 2.5).astype(np.float32)
    half = t.shape[1] // 2
    a = np.concatenate([t[:, :half], blur[:, half:]], axis=1)
    b = np.concatenate([blur[:, :half], t[:, half:]], axis=1)
    return a, b
