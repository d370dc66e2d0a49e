"""Words the window shows: metric tooltips, the shortcut list, the user guide, errors.

Errors are rephrased for a window user (menu names instead of command-line options).

One place for the window's help texts; the core's messages stay written for the command line
(where ``--register none`` is the right advice) and :func:`for_window` translates them.
"""

from __future__ import annotations

import html
import re

__all__ = ["METRIC_TIPS", "SHORTCUTS", "for_window", "guide_html", "shortcuts_html"]

#: Tooltips of the readouts: what is compared with what, and which way is better.
METRIC_TIPS = {
    "ssim": "Structural similarity of the fused slice with the windowed CT and with the "
    "windowed MRI (mean of the two; at most 1), on the 0–255 display scale. Higher is "
    "better: the fused image keeps more of each source's structure.",
    "psnr": "Peak signal-to-noise ratio of the fused slice against the windowed CT and MRI "
    "(from the mean of the two squared errors), in dB. Higher is better (closer to the "
    "sources). Neither SSIM nor PSNR ranks decision maps well; see Qabf.",
    "qabf": "Edge transfer (Xydeas & Petrović Qabf): how much of the CT's and the MRI's edge "
    "strength and direction reaches the fused slice, 0–1. Higher is better.",
    "mi": "Mutual information of the fused slice with the CT plus that with the MRI, in bits. "
    "Higher is better: the fused image carries more of both sources.",
    "bone_kept": "Bone kept: fraction of the CT's bone (HU >= 300, or >= 200 on 8-bit slices) "
    "within 25 grey levels of the CT in the fused slice (../shared/reference/anatomy.md). "
    "Higher is better: the skull comes from the CT.",
    "brain_kept": "Brain kept: fraction of the intracranial area (inside the skull, 2 px clear "
    "of bone) within 25 grey levels of the MRI in the fused slice. Higher is better: the "
    "brain comes from the MRI.",
    "rule": "The fusion rule that actually ran (anatomy needs a CT; other pairs run sesf).",
    "time": "Wall time of the last fused slice.",
    "device": "Where the fusion ran (CPU or GPU).",
}

#: (keys, what they do) as listed by Help › Keyboard shortcuts.
SHORTCUTS = (
    ("Page Up / Up", "Next view (slice) in the plane"),
    ("Page Down / Down", "Previous view (slice)"),
    ("Mouse wheel", "Step through views; Ctrl + wheel zooms"),
    ("Left click / drag", "Move the crosshair (all panels follow, in mm)"),
    ("Double-click", "Maximise a viewer, double-click again to go back"),
    ("Middle drag", "Pan"),
    ("Right drag", "Window (↔ width) and level (↕ centre)"),
    ("1 / 2 / 3", "Axial / coronal / sagittal views"),
    ("T", "Layout: four panels in one plane, or one panel in three planes"),
    ("O", "Decision-map overlay on the fused image"),
    ("R", "Reset windows"),
    ("F", "Fit images"),
    ("Ctrl+O / Ctrl+Shift+O", "Open CT / open MRI"),
    ("Ctrl+E", "Export"),
    ("Ctrl+K", "Check the alignment (checkerboard, blend, flicker)"),
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


def shortcuts_html() -> str:
    """Write the shortcut list as an HTML table."""
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in SHORTCUTS
    )
    return f"<table cellspacing='6'>{rows}</table>"


def guide_html() -> str:
    """Write the one-page user guide (Help › User guide)."""
    steps = (
        "<b>Open</b> a CT (File › Open CT, a file or a DICOM folder) and an MRI, or drop "
        "them on the CT and MRI viewers. File › Open demo pair shows two templates.",
        "<b>Alignment.</b> Both files carry patient geometry: they are put on the MRI's grid "
        "by it. Scans from different sessions need Fusion › Alignment › Rigid registration; "
        "check it with Fusion › Check alignment (checkerboard, blend, flicker), then Accept, "
        "or Redo. Save or load the transform (.tfm) there.",
        "<b>Fusion</b> starts by itself, the slice on screen first. Cancel stops it; "
        "Fusion › Fuse again finishes the slices left.",
        "<b>Read</b>: the four panels show MRI, CT, the decision map (1 = CT chosen) and the "
        "fused image. View › Axial/Coronal/Sagittal changes the plane; View › Layout shows "
        "one layer in three planes. The crosshair is one point in mm in every view.",
        "<b>Windows</b>: CT presets and right-drag change the display; the fusion is redone "
        "with the new window after a short pause.",
        "<b>Export</b> (File › Export): PNG of the slice, DICOM or NIfTI of the volume, with "
        "the alignment and windows recorded.",
        "<b>Safety.</b> The patients of the CT and MRI are compared before fusing: two "
        "patients are refused (a confirmation naming both overrides it, and every export "
        "says so); a source without patient data, or an alignment the check doubts by more "
        "than 5 mm or 5°, stays in a red band above the viewers. Send to PACS sends the "
        "fusion on screen, after saying patient, study and instance count. Quitting or "
        "opening another pair with unsaved edits asks first; they are autosaved to the "
        "recovery folder of your user data folder (offered back after a crash).",
        "For research and education; not a medical device. Not for diagnosis.",
    )
    return "<h3>BrainFuse in brief</h3><ol>" + "".join(f"<li>{s}</li>" for s in steps) + "</ol>"
