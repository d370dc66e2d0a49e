"""Properties every metric must have, on scikit-image's bundled images (no ../shared needed)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data

from brainfuse.errors import GeometryMismatchError, UnsupportedInputError
from brainfuse.metrics import (
    ANATOMY_NAMES,
    METRIC_NAMES,
    average_gradient,
    entropy,
    fusion_metrics,
    head_mask,
    mutual_information,
    mutual_information_source,
    psnr,
    psnr_source,
    qabf,
    scd,
    spatial_frequency,
    ssim,
    ssim_source,
    standard_deviation,
    vif,
    vif_source,
)


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return data.camera()[::2, ::2]  # 256×256 uint8


@pytest.fixture(scope="module")
def brain_pair() -> tuple[np.ndarray, np.ndarray]:
    """A two-"modality" head pair from scikit-image's bundled Shepp–Logan phantom (200×200).

    A is the phantom (bright skull, "CT-like"); B inverts the contrast inside the head (dark
    skull, bright soft tissue, "MR-like") and adds mild texture, so the two share the head
    outline but differ in contrast and edges. Air is 0 in both.
    """
    ph = data.shepp_logan_phantom()[::2, ::2]
    head = ndi.binary_fill_holes(ph > 0)
    texture = ndi.gaussian_filter(np.random.default_rng(1).normal(0, 1, ph.shape), 2)
    a = np.round(255 * ph).astype(np.uint8)
    b = np.where(head, np.clip(200 * (1.0 - ph) + 20 * texture, 1, 255), 0)
    return a, np.round(b).astype(np.uint8)


def test_identical_images_give_ssim_one_and_infinite_psnr(camera):
    assert ssim(camera, camera, camera) == pytest.approx(1.0)
    assert ssim_source(camera, camera) == pytest.approx(1.0)
    assert psnr(camera, camera, camera) == np.inf
    assert psnr_source(camera.astype(float), camera) == np.inf


def test_ssim_and_psnr_fall_with_noise(camera):
    rng = np.random.default_rng(0)
    noisy = np.clip(camera + rng.normal(0, 20, camera.shape), 0, 255)
    noisier = np.clip(camera + rng.normal(0, 40, camera.shape), 0, 255)
    assert ssim_source(noisier, camera) < ssim_source(noisy, camera) < 1
    assert psnr_source(noisier, camera) < psnr_source(noisy, camera)
    # PSNR of a known error: every pixel off by 5 grey levels -> 10 log10(255² / 25).
    shifted = np.clip(camera.astype(float), 5, 250) + 5
    err = float(np.mean((shifted - camera) ** 2))
    assert psnr_source(shifted, camera) == pytest.approx(10 * np.log10(255**2 / err))


def test_mutual_information_of_an_image_with_itself_is_its_entropy(camera, brain_pair):
    for img in (camera, brain_pair[0]):
        assert mutual_information_source(img, img) == pytest.approx(entropy(img))
    a, b = brain_pair
    # F = A: MI(F, A) + MI(F, B) = H(A) + MI(A, B).
    assert mutual_information(a, a, b) == pytest.approx(
        entropy(a) + mutual_information_source(a, b)
    )


def test_entropy_of_known_histograms():
    two_levels = np.zeros((16, 16), np.uint8)
    two_levels[:, 8:] = 200
    assert entropy(two_levels) == pytest.approx(1.0)
    assert entropy(np.full((16, 16), 7, np.uint8)) == 0.0
    all_levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert entropy(all_levels) == pytest.approx(8.0)


def test_qabf_of_a_source_against_itself_is_the_constant_cap(camera, brain_pair):
    # Perfect edge transfer: G = 1, A = 1 everywhere, so Q = Γg·Γα/((1+e^{κg/2})(1+e^{κα/5})).
    cap = 0.9994 / (1 + np.exp(-15 * 0.5)) * 0.9879 / (1 + np.exp(-22 * 0.2))
    assert qabf(camera, camera, camera) == pytest.approx(cap)
    a, b = brain_pair
    # Taking one source whole transfers its edges, not the other's: between the two.
    assert 0.2 < qabf(a, a, b) < cap
    assert qabf(np.full_like(a, 128), a, b) < 0.05


def test_vif_is_one_for_a_copy_and_below_one_for_a_blurred_copy(camera):
    assert vif_source(camera, camera) == pytest.approx(1.0)
    blurred = ndi.gaussian_filter(camera.astype(float), 1.0)
    more_blurred = ndi.gaussian_filter(camera.astype(float), 2.5)
    assert 0 < vif_source(more_blurred, camera) < vif_source(blurred, camera) < 1
    assert vif(camera, camera, camera) == pytest.approx(2.0)


def test_scd_rewards_complementary_information(brain_pair):
    a, b = brain_pair
    fused = (a.astype(float) + b) / 2
    # F - B = (A - B)/2 correlates with A: positive; F = A alone carries nothing of B beyond A.
    assert scd(fused, a, b) > scd(a, a, b)
    assert -2 <= scd(a, a, b) <= 2


def test_statistics_of_known_images():
    ramp = np.tile(np.arange(0, 250, 10, dtype=np.float64), (25, 1))  # steps of 10 along x
    assert spatial_frequency(ramp) == pytest.approx(10.0)
    assert average_gradient(ramp) == pytest.approx(10 / np.sqrt(2))
    assert standard_deviation(ramp) == pytest.approx(np.std(np.arange(0, 250, 10)))
    assert spatial_frequency(np.full((8, 8), 3.0)) == 0.0


def test_colour_images_are_scored_on_luminance(camera):
    rgb = np.repeat(camera[..., None], 3, axis=2)
    assert entropy(rgb) == pytest.approx(entropy(camera))
    assert ssim(rgb, camera, camera) == pytest.approx(1.0)


def test_head_mask_excludes_air_and_fills_the_head(brain_pair):
    a, b = brain_pair
    mask = head_mask(a, b)
    assert mask.dtype == bool and mask.shape == a.shape
    assert not mask[0, 0] and not mask[-1, -1]  # corners are air
    assert mask[a.shape[0] // 2, a.shape[1] // 2]  # centre is head
    assert 0.2 < mask.mean() < 0.9
    assert not ndi.binary_fill_holes(mask)[~mask].any()  # no holes left


def test_fusion_metrics_full_and_masked(brain_pair):
    a, b = brain_pair
    fused = np.maximum(a, b)
    whole = fusion_metrics(fused, a, b)
    assert tuple(whole) == METRIC_NAMES
    # without ct_scale image A is not taken for a CT: no anatomy retention
    assert all(np.isnan(whole[k]) for k in ANATOMY_NAMES)
    assert all(np.isfinite(v) for k, v in whole.items() if k not in ANATOMY_NAMES)
    as_ct = fusion_metrics(fused, a, b, ct_scale="8-bit")  # the phantom's skull is 255
    assert as_ct["bone_kept"] == 1.0 and as_ct["brain_kept"] == 1.0  # B > A inside
    ct_only = fusion_metrics(a, a, b, ct_scale="8-bit")
    assert ct_only["bone_kept"] == 1.0 and ct_only["brain_kept"] < 0.01
    assert whole["ssim"] == pytest.approx(0.5 * (whole["ssim_a"] + whole["ssim_b"]))
    assert whole["qabf"] == pytest.approx(qabf(fused, a, b))
    head = fusion_metrics(fused, a, b, mask="head")
    # The air outside the head is flat and identical in all three: scoring it inflates SSIM
    # and lowers entropy.
    assert head["ssim"] < whole["ssim"]
    assert head["en"] > whole["en"]
    explicit = fusion_metrics(fused, a, b, mask=head_mask(a, b))
    assert explicit == pytest.approx(head, nan_ok=True)


def test_bad_input_is_reported_clearly(camera):
    with pytest.raises(GeometryMismatchError, match="differ in size"):
        ssim(camera, camera, camera[:100])
    with pytest.raises(UnsupportedInputError, match="0–255"):
        entropy(camera / 255.0 * 300)
    with pytest.raises(UnsupportedInputError, match="NaN"):
        standard_deviation(np.full((4, 4), np.nan))
    with pytest.raises(UnsupportedInputError, match="no pixel"):
        entropy(camera, mask=np.zeros(camera.shape, bool))
    with pytest.raises(UnsupportedInputError, match="shape"):
        entropy(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="mask"):
        fusion_metrics(camera, camera, camera, mask="brain")
