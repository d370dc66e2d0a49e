"""Words the window shows: metric tooltips, the mouse's gestures, the guide's end, errors.

Errors are rephrased for a window user (menu names instead of command-line options).

One place for the window's help texts; the core's messages stay written for the command line
(where ``--register none`` is the right advice) and :func:`for_window` translates them.
"""

from __future__ import annotations

import re

__all__ = ["GUIDE_END", "METRIC_TIPS", "MOUSE", "for_window"]

#: Tooltips of the readouts: what is compared with what, and which way is better.
METRIC_TIPS = {
    "ssim": "Structural similarity of the fused slice with the CT and with the MRI (mean of "
    "the two; at most 1). Computed on the images as displayed: each source in its display "
    "window, mapped to 0–255, so the value changes when a window changes. Higher is better: "
    "the fused image keeps more of each source's structure.",
    "psnr": "Peak signal-to-noise ratio of the fused slice against the CT and the MRI (from "
    "the mean of the two squared errors), in dB, on the images as displayed (0–255 in their "
    "windows), so it changes with the windows. Higher is better (closer to the sources). "
    "Neither SSIM nor PSNR ranks decision maps well; see Qabf.",
    "qabf": "Edge transfer (Xydeas & Petrović Qabf): how much of the CT's and the MRI's edge "
    "strength and direction reaches the fused slice, 0–1. Higher is better.",
    "mi": "Mutual information of the fused slice with the CT plus that with the MRI, in bits. "
    "Higher is better: the fused image carries more of both sources.",
    "bone_kept": "Bone kept: fraction of the CT's bone (HU >= 300, or >= 200 on 8-bit slices) "
    "within 25 grey levels of the CT in the fused slice. "
    "Higher is better: the skull comes from the CT.",
    "brain_kept": "Brain kept: fraction of the intracranial area (inside the skull, 2 px clear "
    "of bone) within 25 grey levels of the MRI in the fused slice. Higher is better: the "
    "brain comes from the MRI. A dash: the CT's bone does not enclose 50 pixels on this slice "
    "(an open ring at the skull base or the vertex, a skull outside the slice), or image 1 "
    "is not a CT.",
    "skull_kept": "Skull kept: fraction of the CT's skull (bone-level pixels connected to "
    "saturated or cortical bone: >= 200 reaching 250 on 8-bit slices, >= 300 HU reaching "
    "700 HU) within 25 grey levels of the CT in the fused slice.",
    "brain_clean": "Brain clean: fraction of that skull's cavity (2 px clear of it) within 25 "
    "grey levels of the MRI: no CT speckle in the brain. A dash: too little skull or cavity "
    "on this slice (fewer than 50 pixels) to measure.",
    "rule": "The fusion rule that actually ran (anatomy needs a CT; other pairs run sesf).",
    "time": "Wall time of the last fused slice.",
    "device": "Where the fusion ran (CPU or GPU).",
}

#: The mouse's gestures, listed after the keys of the window's actions (Help › Keyboard
#: shortcuts; the keys themselves come from the actions, :mod:`brainfuse.gui.help_index`).
MOUSE = (
    ("Mouse wheel", "Step through views; Ctrl + wheel zooms"),
    ("Left click / drag", "Move the crosshair (all panels follow, in mm)"),
    ("Double-click", "Maximise a viewer, double-click again to go back"),
    ("Middle drag", "Pan"),
    ("Right drag", "Window (↔ width) and level (↕ centre)"),
)

#: Last line of the user guide.
GUIDE_END = (
    "For research and education; not a medical device. Not for diagnosis. The README and "
    "<code>brainfuse --help</code> cover the command line."
)

_CLI_TO_MENU = (
    (r"--register none", "Fusion › Alignment › None"),
    (r"--register geometry", "Fusion › Alignment › File geometry"),
    (r"--register rigid", "Fusion › Alignment › Rigid registration"),
    (r"--register", "Fusion › Alignment"),
    (r"\(--overwrite\)", "(tick “Overwrite” in the Export dialog)"),
    (r"or give the format \(--format png\|dicom\|nifti\)", "or choose the format in the dialog"),
)


def for_window(text: str) -> str:
    """Replace a core message's command-line options by the window's menu names.

    >>> for_window("use --register none (same size).")
    'use Fusion › Alignment › None (same size).'
    """
    for pattern, words in _CLI_TO_MENU:
        text = re.sub(pattern, words, text)
    return text
