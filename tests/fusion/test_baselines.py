"""Classical baselines: exact behaviour on bundled images and on the development pairs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data

from brainfuse.errors import GeometryMismatchError, UnsupportedInputError
from brainfuse.fusion.baselines import average, laplacian_pyramid, pixel_sf
from brainfuse.metrics import qabf, ssim


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    """Camera (sharp) and a copy blurred on its right half: a classic multi-focus pair."""
    cam = data.camera()[::2, ::2].astype(np.float32) / 255.0
    blurred = ndi.gaussian_filter(cam, 3.0)
    b = cam.copy()
    b[:, :128] = blurred[:, :128]  # B is out of focus on the left
    a = cam.copy()
    a[:, 128:] = blurred[:, 128:]  # A is out of focus on the right
    return a, b


def test_average_is_the_pixel_mean(pair):
    a, b = pair
    fused, dm = average(a, b)
    assert dm is None and fused.dtype == np.float32
    np.testing.assert_allclose(fused, (a + b) / 2, atol=1e-7)


def test_laplacian_of_identical_images_reconstructs_them(pair):
    a, _ = pair
    fused, dm = laplacian_pyramid(a, a)
    assert dm is None
    np.testing.assert_allclose(fused, a, atol=1e-5)
    # Odd sizes survive the pyramid too.
    odd = a[:101, :77]
    np.testing.assert_allclose(laplacian_pyramid(odd, odd, levels=4)[0], odd, atol=1e-5)


def test_laplacian_keeps_the_sharper_details(pair):
    a, b = pair
    fused, _ = laplacian_pyramid(a, b)
    sharp = data.camera()[::2, ::2].astype(np.float32) / 255.0
    err_fused = np.abs(fused - sharp)[8:-8, 8:-8].mean()
    err_avg = np.abs(average(a, b)[0] - sharp)[8:-8, 8:-8].mean()
    assert err_fused < 0.5 * err_avg
    assert fused.min() >= 0.0 and fused.max() <= 1.0


def test_pixel_sf_picks_the_in_focus_tiles(pair):
    a, b = pair
    fused, dm = pixel_sf(a, b)
    assert dm.shape == a.shape and set(np.unique(dm)) <= {0.0, 1.0}
    # A is sharp on the left, B on the right: most tiles follow (flat sky tiles may not).
    assert dm[:, :120].mean() > 0.8 and dm[:, 136:].mean() < 0.2
    np.testing.assert_array_equal(fused, np.where(dm == 1, a, b))
    # The map is constant on 8×8 tiles.
    tiles = dm.reshape(32, 8, 32, 8)
    assert (tiles == tiles[:, :1, :, :1]).all()
    _cleaned, dm_cv = pixel_sf(a, b, consistency=True)
    assert np.abs(np.diff(dm_cv, axis=1)).sum() <= np.abs(np.diff(dm, axis=1)).sum()


def test_pixel_sf_handles_partial_tiles():
    rng = np.random.default_rng(0)
    a = rng.random((30, 21), dtype=np.float32)
    b = np.full_like(a, 0.5)
    fused, dm = pixel_sf(a, b, block=8)
    assert dm.shape == (30, 21) and dm.all()  # noise beats a flat image in every tile
    np.testing.assert_array_equal(fused, a)


def test_bad_input_is_reported():
    with pytest.raises(GeometryMismatchError, match="differ in size"):
        average(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(UnsupportedInputError, match="2-D"):
        laplacian_pyramid(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))


@pytest.mark.shared
def test_baselines_on_ct_mri_pairs_match_the_method_notes(shared_data):
    """method.md: 8×8 raw-pixel SF gives higher Qabf and lower SSIM than averaging."""
    from PIL import Image

    cts = sorted((shared_data / "pairs" / "ct-mri").glob("*_ct.png"))[::10]
    scores = {"average": [], "laplacian": [], "pixel_sf": []}
    for ct in cts:
        a = np.asarray(Image.open(ct))
        b = np.asarray(Image.open(ct.with_name(ct.name[:-6] + "mri.png")))
        a01, b01 = a / np.float32(255), b / np.float32(255)
        for name, func in (
            ("average", average),
            ("laplacian", laplacian_pyramid),
            ("pixel_sf", pixel_sf),
        ):
            f = np.round(255 * func(a01, b01)[0])
            scores[name].append((ssim(f, a, b), qabf(f, a, b)))
    mean = {k: np.mean(v, axis=0) for k, v in scores.items()}
    assert mean["average"][0] > mean["laplacian"][0] > mean["pixel_sf"][0]  # SSIM
    assert mean["pixel_sf"][1] > mean["laplacian"][1] > mean["average"][1]  # Qabf
