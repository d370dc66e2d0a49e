"""The readouts describe the picture on screen: pending while recomputed, never an old value."""

from __future__ import annotations

import numpy as np
import pytest

from brainfuse.metrics import fusion_metrics
from brainfuse.model.intensity import bone_scale, to_255


@pytest.fixture
def viewer(small_pair):
    from brainfuse.gui import Viewer

    v = Viewer(show=False)
    v.open_pair(*small_pair)
    v.wait(120)
    yield v
    v.workspace.mark_saved()
    v.close()


def _truth(viewer) -> dict[str, float]:
    """brainfuse.metrics on the fused slice on screen and the windowed sources."""
    ws = viewer.workspace
    ct = ws.fusion.prepared.ct
    scale = bone_scale(ct)
    return fusion_metrics(
        to_255(viewer.fused_slice()),
        to_255(ws.unit_slice("ct")),
        to_255(ws.unit_slice("mri")),
        ct_scale=scale,
        ct_hu=ct.array[ws.slice_index] if scale == "hu" else None,
        names=["ssim", "psnr", "bone_kept", "brain_kept"],
    )


def test_readouts_after_paint_are_those_of_the_painted_slice(viewer):
    before = viewer.readouts()
    assert before["pending"] == [] and before["fusion_ms"] > 0
    mask = np.zeros(viewer.fused_slice().shape[:2], bool)
    mask[20:110, 20:100] = True
    viewer.paint(mask, "ct")
    now = viewer.readouts()
    assert set(now["pending"]) == {"ssim", "psnr", "bone_kept", "brain_kept"}
    assert now["ssim"] is None  # pending, not the old value
    viewer.wait(60)
    after = viewer.readouts()
    truth = _truth(viewer)
    for key in ("ssim", "psnr", "bone_kept", "brain_kept"):
        assert after[key] == pytest.approx(truth[key], rel=1e-6, abs=1e-9, nan_ok=True), key
    assert after["ssim"] != pytest.approx(before["ssim"], abs=1e-4)  # the edit changed it
    assert after["fusion_ms"] == before["fusion_ms"]


def test_fusion_time_is_not_a_recomposes(viewer):
    fusion_ms = viewer.readouts()["fusion_ms"]
    viewer.workspace.set_ct_window("bone")  # a CNN fusion is recomposed, not fused again
    assert "ssim" in viewer.readouts()["pending"]
    viewer.wait(120)
    shown = viewer.readouts()
    assert shown["pending"] == [] and shown["fusion_ms"] == fusion_ms
    truth = _truth(viewer)
    assert shown["ssim"] == pytest.approx(truth["ssim"], rel=1e-6)
