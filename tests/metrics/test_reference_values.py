"""Acceptance: means over the 131 CT–MRI development pairs match independently measured values.

The reference means (issue 5) were measured with a metric implementation validated against two
public fusion benchmarks' evaluators, not with this code; each must agree within 0.1 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brainfuse import metrics

pytestmark = pytest.mark.shared

KEYS = ("ssim", "psnr", "en", "sd", "sf", "mi", "qabf")
REFERENCE = {
    "average": dict(zip(KEYS, (0.7499, 15.643, 3.887, 61.858, 18.637, 3.561, 0.3744), strict=True)),
    "maximum": dict(zip(KEYS, (0.7538, 12.633, 3.100, 91.951, 30.870, 3.703, 0.5780), strict=True)),
}


def _average(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.round((a.astype(np.float64) + b) / 2).astype(np.uint8)


FUSE = {"average": _average, "maximum": np.maximum}


@pytest.fixture(scope="module")
def ct_mri_pairs(shared_data):
    folder = shared_data / "pairs" / "ct-mri"
    cts = sorted(folder.glob("*_ct.png"))
    assert len(cts) == 131
    return [
        (np.asarray(Image.open(ct)), np.asarray(Image.open(ct.with_name(ct.name[:-6] + "mri.png"))))
        for ct in cts
    ]


@pytest.mark.slow
@pytest.mark.parametrize("rule", sorted(REFERENCE))
def test_means_match_reference(ct_mri_pairs, rule):
    rows = []
    for a, b in ct_mri_pairs:
        f = FUSE[rule](a, b)
        rows.append(
            {
                "ssim": metrics.ssim(f, a, b),
                "psnr": metrics.psnr(f, a, b),
                "en": metrics.entropy(f),
                "sd": metrics.standard_deviation(f),
                "sf": metrics.spatial_frequency(f),
                "mi": metrics.mutual_information(f, a, b),
                "qabf": metrics.qabf(f, a, b),
            }
        )
    for key, expected in REFERENCE[rule].items():
        mean = float(np.mean([r[key] for r in rows]))
        assert mean == pytest.approx(expected, rel=1e-3), f"{rule} {key}: {mean:.5f} vs {expected}"
