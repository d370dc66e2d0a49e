"""Numbers about the fused slice: quality, anatomy kept, time, device.

SSIM, PSNR, bone and brain kept (always), Qabf and MI (on demand), time, device.

All values come from :mod:`brainfuse.metrics` on the 0–255 scale
(:func:`brainfuse.model.intensity.to_255`), for the slice on screen: fused image against the windowed CT and MRI.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from brainfuse import metrics
from brainfuse.gui.words import METRIC_TIPS
from brainfuse.model.intensity import BoneScale, to_255

__all__ = ["ReadoutPanel", "slice_metrics"]


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
    fused01, ct01, mri01 : (H, W) ndarray of float in [0, 1]
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
        ``brain_clean`` (fractions; with a CT)
        and, with ``extra``, ``qabf``, ``mi`` (bits).
    """
    f, a, b = to_255(fused01), to_255(ct01), to_255(mri01)
    out = {"ssim": metrics.ssim(f, a, b), "psnr": metrics.psnr(f, a, b)}
    if ct_scale is not None and f.ndim == 2:
        out["bone_kept"] = metrics.bone_kept(f, a, ct_scale=ct_scale, ct_hu=ct_hu)
        out["brain_kept"] = metrics.brain_kept(f, a, b, ct_scale=ct_scale, ct_hu=ct_hu)
        out["skull_kept"] = metrics.skull_kept(f, a, ct_scale=ct_scale, ct_hu=ct_hu)
        out["brain_clean"] = metrics.brain_clean(f, a, b, ct_scale=ct_scale, ct_hu=ct_hu)
    if extra:
        out["qabf"] = metrics.qabf(f, a, b)
        out["mi"] = metrics.mutual_information(f, a, b)
    return out


class ReadoutPanel(QtWidgets.QGroupBox):
    """Labels for SSIM, PSNR, Qabf, MI, fusion time and device, plus a Qabf/MI button."""

    FIELDS = (
        ("ssim", "SSIM"),
        ("psnr", "PSNR"),
        ("bone_kept", "Bone kept"),
        ("brain_kept", "Brain kept"),
        ("skull_kept", "Skull kept"),
        ("brain_clean", "Brain clean"),
        ("qabf", "Qabf"),
        ("mi", "MI"),
        ("rule", "Rule"),
        ("time", "Fusion time"),
        ("device", "Device"),
    )

    def __init__(self, parent=None) -> None:
        super().__init__("Fused slice", parent)
        self.labels: dict[str, QtWidgets.QLabel] = {}
        form = QtWidgets.QFormLayout(self)
        for key, title in self.FIELDS:
            label = QtWidgets.QLabel("–")
            label.setObjectName(f"readout_{key}")
            label.setWordWrap(True)
            self.labels[key] = label
            form.addRow(title, label)
        self.extra_button = QtWidgets.QPushButton("Compute Qabf and MI")
        self.extra_button.setToolTip("Edge transfer (Qabf) and mutual information of this slice")
        form.addRow(self.extra_button)
        for key, tip in METRIC_TIPS.items():
            self.labels[key].setToolTip(tip)
            form.labelForField(self.labels[key]).setToolTip(tip)

    def clear(self) -> None:
        """Dashes everywhere: no fused slice on screen (nothing from an earlier pair or run)."""
        for label in self.labels.values():
            label.setText("–")

    def show_metrics(self, values: dict[str, float]) -> None:
        """Write the values of :func:`slice_metrics` (missing keys show a dash)."""
        fmt = {
            "ssim": "{:.4f}",
            "psnr": "{:.2f} dB",
            "bone_kept": "{:.3f}",
            "brain_kept": "{:.3f}",
            "skull_kept": "{:.3f}",
            "brain_clean": "{:.3f}",
            "qabf": "{:.4f}",
            "mi": "{:.3f} bits",
        }
        for key, pattern in fmt.items():
            v = values.get(key)
            ok = v is not None and not np.isnan(v)
            self.labels[key].setText(pattern.format(v) if ok else "–")

    def show_run(self, milliseconds: float | None, device: str, rule: str | None = None) -> None:
        """Fusion time of the last slice (ms), the device and the rule that ran it."""
        self.labels["rule"].setText(rule or "–")
        self.labels["time"].setText("–" if milliseconds is None else f"{milliseconds:.0f} ms/slice")
        self.labels["device"].setText(device or "–")
