"""Banding of the decision map in reformats: the map's changes between slices against within them.

Two measures on the hard map, inside the head (the MRI above 10 % of its maximum):

* the rate of map changes per mm along z (between neighbouring axial slices, as seen in a
  sagittal or coronal reformat) against the in-plane rate (per mm along rows and columns):
  ``z rate / in-plane rate`` about 1 means no banding; the issue's bound is 1.2, over the
  whole head and over its lower third (skull base, posterior fossa);
* the largest share of the head's pixels that flip between two adjacent slices (bound 10 %).

Without arguments: the shipped demo pair, each rule (the older mean-row-difference ratio of
:func:`brainfuse.model.planes.banding` too). With ``--ct`` and ``--mri``: that pair (e.g. the
development CT series and the MNI T1, ``--register rigid --reference ct``), default rule.

Usage::

    python scripts/banding.py [--ct CT --mri MRI --register rigid --reference ct]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brainfuse.model.planes import banding
from brainfuse.pipeline import PairFusion, align, prepare

LIMIT_RATIO = 1.2
LIMIT_FLIP = 0.10


def rates(dm: np.ndarray, head: np.ndarray, spacing_xyz, z_range=None) -> dict[str, float]:
    """Map changes per mm along z and in-plane (pairs of neighbours both in the head)."""
    sx, sy, sz = (float(v) for v in spacing_xyz)
    d = dm.astype(np.int8)
    if z_range is not None:
        d, head = d[z_range], head[z_range]

    def rate(axis: int, mm: float) -> float:
        lo = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
        hi = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
        both = head[lo] & head[hi]
        return float((d[lo] != d[hi])[both].mean() / mm) if both.any() else 0.0

    z, y, x = rate(0, sz), rate(1, sy), rate(2, sx)
    plane = 0.5 * (y + x)
    both = head[1:] & head[:-1]
    flips = (d[1:] != d[:-1]) & both
    per_pair = flips.sum(axis=(1, 2)) / np.maximum(both.sum(axis=(1, 2)), 1)
    worst = int(np.argmax(per_pair))
    return {
        "z_per_mm": z,
        "plane_per_mm": plane,
        "ratio": z / plane if plane > 0 else float("inf"),
        "worst_flip": float(per_pair[worst]),
        "worst_at": worst + (0 if z_range is None else z_range.start),
    }


def report(name: str, dm: np.ndarray, mri: np.ndarray, spacing_xyz) -> bool:
    """Print the measures of one map, whole head and lower third; True when within bounds."""
    m = np.asarray(mri, float)
    head = m > 0.1 * m.max()
    zs = np.nonzero(head.any(axis=(1, 2)))[0]
    lower = slice(int(zs[0]), int(zs[0] + (zs[-1] - zs[0] + 1) // 3) + 1)
    ok = True
    for part, zr in (("whole head", None), ("lower third", lower)):
        r = rates(dm, head, spacing_xyz, zr)
        good = r["ratio"] <= LIMIT_RATIO and r["worst_flip"] <= LIMIT_FLIP
        ok &= good
        print(
            f"{name:10s} {part:12s} z {r['z_per_mm']:.4f}/mm in-plane {r['plane_per_mm']:.4f}/mm "
            f"ratio {r['ratio']:.2f} (<= {LIMIT_RATIO}); worst adjacent flip "
            f"{100 * r['worst_flip']:.1f} % at slices {r['worst_at']}-{r['worst_at'] + 1} "
            f"(<= {100 * LIMIT_FLIP:.0f} %): {'ok' if good else 'BANDING'}"
        )
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ct")
    ap.add_argument("--mri")
    ap.add_argument("--register", default="auto")
    ap.add_argument("--reference", default="auto")
    ap.add_argument("--rules", default="anatomy", help="comma-separated rules")
    args = ap.parse_args()
    from brainfuse.fusion import Fuser, FusionSettings
    from brainfuse.io import demo_pair, load

    if args.ct and args.mri:
        ct, mri = load(args.ct), load(args.mri)
    else:
        ct, mri = demo_pair()
        args.rules = "sesf,anatomy"
    t = time.perf_counter()
    aligned = align(ct, mri, register=args.register, reference=args.reference)
    prepared = prepare(aligned)
    vol = prepared.mri
    print(
        f"aligned ({aligned.mode}) on the {aligned.reference}'s grid {vol.shape} "
        f"spacing {tuple(round(float(s), 3) for s in vol.spacing)} mm: "
        f"{time.perf_counter() - t:.0f} s"
    )
    for rule in args.rules.split(","):
        t = time.perf_counter()
        fusion = PairFusion(prepared, Fuser(settings=FusionSettings(rule=rule)))
        for _ in fusion.steps():
            pass
        print(f"{rule}: fused in {time.perf_counter() - t:.0f} s")
        report(rule, fusion.decision_map, vol.array, vol.spacing)
        head = np.asarray(vol.array, float) > 0.1 * float(np.max(vol.array))
        b = banding(fusion.decision_map, head)
        print(f"{rule:10s} mean-row ratio (planes.banding, per row) {b['ratio']:.2f}")


if __name__ == "__main__":
    main()
