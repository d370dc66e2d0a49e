"""The numbers a viewer shows about the fused slice on screen, from :mod:`brainfuse.metrics`.

SSIM, PSNR, bone and brain kept (always) and Qabf, MI (on demand) of the fused slice against
the windowed CT and MRI, all on the 0–255 scale (:func:`brainfuse.model.intensity.to_255`)
through :func:`brainfuse.metrics.fusion_metrics`, the one place the metrics are defined.
:func:`readout_inputs` takes what is on screen (cheap, on the caller's thread);
:meth:`ReadoutInputs.metrics` computes (seconds for Qabf: run it in a worker).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainfuse.metrics import fusion_metrics
from brainfuse.model.intensity import BoneScale, bone_scale, to_255
from brainfuse.reading.workspace import Workspace

__all__ = ["EXTRA_NAMES", "READOUT_NAMES", "ReadoutInputs", "readout_inputs", "slice_metrics"]

#: Shown for every fused slice (fast).
READOUT_NAMES = ("ssim", "psnr", "bone_kept", "brain_kept", "skull_kept", "brain_clean")
#: Shown on demand (Qabf's gradients and MI's histograms take longer).
EXTRA_NAMES = ("qabf", "mi")


def slice_metrics(
    fused01: np.ndarray,
    ct01: np.ndarray,
    mri01: np.ndarray,
    *,
    extra: bool = False,
    ct_scale: BoneScale | None = None,
    ct_hu: np.ndarray | None = None,
) -> dict[str, float]:
    """SSIM and PSNR, bone and brain kept (and Qabf, MI when ``extra``) of one fused slice.

    Parameters
    ----------
    fused01, ct01, mri01 : (H, W) or (H, W, 3) ndarray of float in [0, 1]
        Fused slice and the two windowed sources on the same grid.
    extra : bool
        Also compute Qabf and mutual information (slower).
    ct_scale : {"8-bit", "hu"} or None
        Image 1 is a CT (:func:`brainfuse.model.intensity.bone_scale`): the anatomy retention is
        computed (``ct_hu``: the slice in HU for ``"hu"``); None: not a CT.

    Returns
    -------
    dict
        ``ssim``, ``psnr`` (dB), ``bone_kept``, ``brain_kept``, ``skull_kept`` and
        ``brain_clean`` (fractions; with a CT and a grey fused slice) and, with ``extra``, ``qabf``, ``mi`` (bits).
    """
    f, a, b = to_255(fused01), to_255(ct01), to_255(mri01)
    names = ["ssim", "psnr"]
    anatomy = ct_scale is not None and f.ndim == 2
    if anatomy:
        names += ["bone_kept", "brain_kept", "skull_kept", "brain_clean"]
    if extra:
        names += list(EXTRA_NAMES)
    return fusion_metrics(
        f,
        a,
        b,
        ct_scale=ct_scale if anatomy else None,
        ct_hu=ct_hu if anatomy else None,
        names=names,
    )


@dataclass(frozen=True)
class ReadoutInputs:
    """The fused slice on screen and its sources, copied so a worker may score them."""

    fused01: np.ndarray
    ct01: np.ndarray
    mri01: np.ndarray
    ct_scale: BoneScale | None
    ct_hu: np.ndarray | None

    def metrics(self, extra: bool = False) -> dict[str, float]:
        """:func:`slice_metrics` of these slices."""
        return slice_metrics(
            self.fused01,
            self.ct01,
            self.mri01,
            extra=extra,
            ct_scale=self.ct_scale,
            ct_hu=self.ct_hu,
        )


def readout_inputs(ws: Workspace) -> ReadoutInputs | None:
    """Copy what the readouts score for the slice on screen; None when nothing is fused there."""
    fused = ws.slice_image("fused")
    ct01, mri01 = ws.unit_slice("ct"), ws.unit_slice("mri")
    if fused is None or ct01 is None or mri01 is None:
        return None
    ct = ws.fusion.prepared.ct if ws.fusion is not None else None
    scale = bone_scale(ct) if ct is not None else None
    ct_hu = ct.array[ws.slice_index] if ct is not None and scale == "hu" else None
    return ReadoutInputs(fused.copy(), ct01, mri01, scale, ct_hu)
