"""Numbers about the fused slice: quality, anatomy kept, time, device.

SSIM, PSNR, bone and brain kept (always), Qabf and MI (on demand), time, device.

The values are computed by :mod:`brainfuse.reading.readouts` (from
:func:`brainfuse.metrics.fusion_metrics`); this panel only writes them.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from brainfuse.gui.words import METRIC_TIPS

__all__ = ["ReadoutPanel"]


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
        """Write the values of :func:`brainfuse.reading.readouts.slice_metrics` (missing keys show a dash)."""
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

    def show_pending(self, names) -> None:
        """Write "…" for readouts being recomputed for the picture on screen (never an old value)."""
        for key in names:
            if key in self.labels:
                self.labels[key].setText("…")

    def show_run(self, milliseconds: float | None, device: str, rule: str | None = None) -> None:
        """Fusion time (ms per slice, the fusion's own), the device and the rule that ran it."""
        self.labels["rule"].setText(rule or "–")
        self.labels["time"].setText("–" if milliseconds is None else f"{milliseconds:.0f} ms/slice")
        self.labels["device"].setText(device or "–")
