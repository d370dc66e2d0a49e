"""Banding of the decision map in reformats (issue 14): the demo volume fused with each rule.

Prints, per rule, the mean absolute difference between neighbouring sagittal rows (neighbouring
axial slices) and between neighbouring axial rows of the hard and soft maps
(:func:`brainfuse.model.planes.banding`), and their ratio (about 1: no banding). The head is the MRI
above 10 % of its maximum. The volume is decided in 3-D (:mod:`brainfuse.fusion.volume`); the
first line gives its z windows on this grid.

Usage: ``python scripts/banding.py``
"""

import numpy as np

from brainfuse.io import demo_pair
from brainfuse.model.planes import banding
from brainfuse.pipeline import fuse_pair

ct, mri = demo_pair()
try:  # absent before volumes were decided in 3-D: then this prints the slice-by-slice numbers
    from brainfuse.fusion import FusionSettings
    from brainfuse.fusion.volume import ZWindows

    w = ZWindows.for_grid(mri.spacing, mri.shape[1:3], FusionSettings())
    print(
        f"spacing {mri.spacing} mm: activity window ±{w.activity} slices, vote ±{w.majority}, "
        f"blend means ±{w.blend.size // 2} slices"
    )
except ImportError:
    print("slice by slice (no 3-D decision in this version)")
m = np.asarray(mri.array, float)
head = m > 0.1 * m.max()
for rule in ("sesf", "anatomy"):
    r = fuse_pair(ct, mri, rule=rule)
    for name, vol, mask in (
        ("hard, whole", r.decision_map, None),
        ("hard, head", r.decision_map, head),
        ("soft, head", r.soft_map, head),
    ):
        b = banding(vol, mask)
        print(
            f"{rule:8s} {name:12s} sagittal {b['sagittal_rows']:.4f} "
            f"axial {b['axial_rows']:.4f} ratio {b['ratio']:.2f}"
        )
