"""Numbers about the fused slice: SSIM, PSNR (always), Qabf and MI (on demand), time, device.

All values come from :mod:`brainfuse.metrics` on the 0–255 scale
(:func:`brainfuse.intensity.to_255`), for the slice on screen: fused image against the windowed CT and MRI.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from brainfuse import metrics
from brainfuse.gui.words import METRIC_TIPS
from brainfuse.intensity import to_255

__all__ = ["ReadoutPanel", "slice_metrics"]


def slice_metrics(
    fused01: np.ndarray, ct01: np.ndarray, mri01: np.ndarray, *, extra: bool = False
) -> dict[str, float]:
    """SSIM and PSNR (and Qabf, MI when ``extra``) of one fused slice.

    Parameters
    ----------
    fused01, ct01, mri01 : (H, W) ndarray of float in [0, 1]
        Fused slice and the two windowed sources on the same grid.
    extra : bool
        Also compute Qabf and mutual information (slower).

    Returns
    -------
    dict
        ``ssim``, ``psnr`` (dB) and, with ``extra``, ``qabf``, ``mi`` (bits).
    """
    f, a, b = to_255(fused01), to_255(ct01), to_255(mri01)
    out = {"ssim": metrics.ssim(f, a, b), "psnr": metrics.psnr(f, a, b)}
    if extra:
        out["qabf"] = metrics.qabf(f, a, b)
        out["mi"] = metrics.mutual_information(f, a, b)
    return out


class ReadoutPanel(QtWidgets.QGroupBox):
    """Labels for SSIM, PSNR, Qabf, MI, fusion time and device, plus a Qabf/MI button."""

    FIELDS = (
        ("ssim", "SSIM"),
        ("psnr", "PSNR"),
        ("qabf", "Qabf"),
        ("mi", "MI"),
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
        fmt = {"ssim": "{:.4f}", "psnr": "{:.2f} dB", "qabf": "{:.4f}", "mi": "{:.3f} bits"}
        for key, pattern in fmt.items():
            self.labels[key].setText(pattern.format(values[key]) if key in values else "–")

    def show_run(self, milliseconds: float | None, device: str) -> None:
        """Fusion time of the last slice (ms) and the device that ran it."""
        self.labels["time"].setText("–" if milliseconds is None else f"{milliseconds:.0f} ms/slice")
        self.labels["device"].setText(device or "–")
