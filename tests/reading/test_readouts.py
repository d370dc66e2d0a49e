"""The readout numbers are :func:`brainfuse.metrics.fusion_metrics`' own, computed only as asked."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.metrics import fusion_metrics
from brainfuse.model.intensity import to_255
from brainfuse.reading.readouts import slice_metrics


@pytest.fixture(scope="module")
def slices():
    from brainfuse.io import demo_pair
    from brainfuse.model.intensity import to_unit

    ct, mri = demo_pair()
    k = ct.n_slices // 2
    ct01 = np.asarray(to_unit(ct, lazy=False)[0][k], np.float32)
    mri01 = np.asarray(to_unit(mri, lazy=False)[0][k], np.float32)
    fused = np.maximum(ct01, mri01)
    return fused, ct01, mri01, ct.array[k]


def test_readouts_equal_the_full_metric_set(slices):
    fused, ct01, mri01, hu = slices
    full = fusion_metrics(to_255(fused), to_255(ct01), to_255(mri01), ct_scale="hu", ct_hu=hu)
    shown = slice_metrics(fused, ct01, mri01, extra=True, ct_scale="hu", ct_hu=hu)
    assert set(shown) == {
        *("ssim", "psnr", "bone_kept", "brain_kept", "skull_kept", "brain_clean", "qabf", "mi")
    }
    np.testing.assert_equal(shown, {key: full[key] for key in shown})  # NaN equals NaN here
    quick = slice_metrics(fused, ct01, mri01)  # not a CT: no anatomy, no Qabf/MI
    assert set(quick) == {"ssim", "psnr"} and quick["ssim"] == full["ssim"]


def test_fusion_metrics_refuses_an_unknown_name(slices):
    fused, ct01, mri01, _ = slices
    with pytest.raises(ValueError, match="unknown metrics"):
        fusion_metrics(to_255(fused), to_255(ct01), to_255(mri01), names=["ssim", "sharpness"])
