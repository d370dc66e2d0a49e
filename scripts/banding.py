"""Banding of the decision map in reformats: the map's changes between slices against within them.

Two measures on the hard map, inside the head: the patient's head as the CT shows it (above
-500 HU, its largest piece in each slice with its holes filled) together with the MRI's
(above 10 % of its maximum), and, for comparison with earlier figures, inside the MRI's mask
alone (for the skull-stripped MNI T1 that is its brain, not a head):

* the rate of map changes per mm along z (between neighbouring axial slices, as seen in a
  sagittal or coronal reformat) against the in-plane rate (per mm along rows and columns):
  ``z rate / in-plane rate`` about 1 means no banding; the issue's bound is 1.2, over the
  whole head and over its lower third (skull base, posterior fossa);
* the largest share of the head's pixels that flip between two adjacent slices (bound 10 %).

Without arguments: the shipped demo pair, each rule (the older mean-row-difference ratio of
:func:`brainfuse.model.planes.banding` too). With ``--ct`` and ``--mri``: that pair (e.g. the
development CT series and the MNI T1, ``--register rigid --reference ct``), default rule.

Each part is also split, so that the map's own banding is told from the anatomy's: the
changes between neighbours whose CT bone prior is the same (the rule's regions and the deep
map: the banding the 3-D intracranial area is for), and the floor the CT's bone sets (its
bone prior alone taken as the map: any map that takes every bone pixel from the CT changes
at least where it does). Where the MRI's "head" is another subject's brain (the MNI T1 is
skull-stripped), that brain overlaps this skull at the vertex and the skull base and the
floor alone can pass the bounds.

``--flips`` prints every adjacent pair's share; ``--shots DIR`` writes the mid-sagittal and
mid-coronal reformats (CT, MRI, fused, map; superior up, z resampled to the in-plane pixel)
as PNG.

Usage::

    python scripts/banding.py [--ct CT --mri MRI --register rigid --reference ct]
                              [--flips] [--shots DIR --tag NAME]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brainfuse.model.planes import banding
from brainfuse.pipeline import PairFusion, align, prepare

LIMIT_RATIO = 1.2
LIMIT_FLIP = 0.10


def rates(dm, head, spacing_xyz, z_range=None, same=None) -> dict[str, float]:
    """Map changes per mm along z and in-plane (pairs of neighbours both in the head).

    ``same``: count only the changes between neighbours that are equal in this mask too
    (the CT's bone prior: the changes it does not explain).
    """
    sx, sy, sz = (float(v) for v in spacing_xyz)
    d = dm.astype(np.int8)
    if z_range is not None:
        d, head = d[z_range], head[z_range]
        same = None if same is None else same[z_range]

    def changes(axis: int) -> tuple[np.ndarray, np.ndarray]:
        lo = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
        hi = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
        change = d[lo] != d[hi]
        if same is not None:
            change &= same[lo] == same[hi]
        return change, head[lo] & head[hi]

    def rate(axis: int, mm: float) -> float:
        change, both = changes(axis)
        return float(change[both].mean() / mm) if both.any() else 0.0

    z, y, x = rate(0, sz), rate(1, sy), rate(2, sx)
    plane = 0.5 * (y + x)
    change, both = changes(0)
    per_pair = (change & both).sum(axis=(1, 2)) / np.maximum(both.sum(axis=(1, 2)), 1)
    worst = int(np.argmax(per_pair))
    return {
        "z_per_mm": z,
        "plane_per_mm": plane,
        "ratio": z / plane if plane > 0 else float("inf"),
        "worst_flip": float(per_pair[worst]),
        "worst_at": worst + (0 if z_range is None else z_range.start),
        "per_pair": per_pair,
    }


def mri_mask(mri) -> np.ndarray:
    """Mask the MRI above 10 % of its maximum (its head, or its brain when skull-stripped)."""
    m = np.asarray(mri, float)
    return m > 0.1 * m.max()


def ct_head(ct_hu) -> np.ndarray | None:
    """Mask the head in a CT in HU: above -500 HU, the largest piece of each slice, holes filled.

    None for a CT without HU (8-bit pictures). The largest piece leaves out a head holder
    or a table that does not touch the head.
    """
    from scipy import ndimage

    a = np.asarray(ct_hu)
    if a.min() > -500:  # no air in HU: not a CT in HU
        return None
    out = np.zeros(a.shape, bool)
    for k in range(a.shape[0]):
        labels, n = ndimage.label(a[k] > -500)
        if n:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            out[k] = ndimage.binary_fill_holes(labels == int(np.argmax(sizes)))
    return out


def report(name: str, dm, head, spacing_xyz, bone=None, flips: bool = False) -> bool:
    """Print the measures of one map, whole head and lower third; True when within bounds.

    ``head`` (bool, like ``dm``) is where the measures count. With ``bone`` (the CT's bone
    prior) each part is followed by the rule's own changes (neighbours whose bone is the
    same) and the floor of the bone alone taken as the map.
    """
    zs = np.nonzero(head.any(axis=(1, 2)))[0]
    lower = slice(int(zs[0]), int(zs[0] + (zs[-1] - zs[0] + 1) // 3) + 1)
    ok = True
    for part, zr in (("whole head", None), ("lower third", lower)):
        rows = [("map", dm, None)]
        if bone is not None:
            rows += [("  rule's own", dm, bone), ("  bone alone", bone, None)]
        for what, mp, same in rows:
            r = rates(mp, head, spacing_xyz, zr, same)
            good = r["ratio"] <= LIMIT_RATIO and r["worst_flip"] <= LIMIT_FLIP
            if what == "map":
                ok &= good
            print(
                f"{name:10s} {part:12s} {what:13s} z {r['z_per_mm']:.4f}/mm in-plane "
                f"{r['plane_per_mm']:.4f}/mm ratio {r['ratio']:.2f} (<= {LIMIT_RATIO}); worst "
                f"adjacent flip {100 * r['worst_flip']:.1f} % at slices {r['worst_at']}-"
                f"{r['worst_at'] + 1} (<= {100 * LIMIT_FLIP:.0f} %): "
                f"{'ok' if good else 'BANDING'}"
            )
    if flips:
        full = rates(dm, head, spacing_xyz)["per_pair"]
        own = None if bone is None else rates(dm, head, spacing_xyz, None, bone)["per_pair"]
        floor = None if bone is None else rates(bone, head, spacing_xyz)["per_pair"]
        for k, v in enumerate(full):
            extra = (
                ""
                if own is None
                else f"  rule's own {100 * own[k]:5.1f} %  bone alone {100 * floor[k]:5.1f} %"
            )
            print(
                f"  slices {k}-{k + 1}: {100 * v:5.1f} % of {int((head[k] & head[k + 1]).sum())} px{extra}"
            )
    print(
        f"{name}: acceptance (ratio <= {LIMIT_RATIO} whole and lower third, no flip > "
        f"{100 * LIMIT_FLIP:.0f} %): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def shots(out: str, tag: str, vol, fused, dm, ct01, mri01, at=(None, None)) -> None:
    """Write a sagittal and a coronal reformat (CT | MRI | fused | map) as PNG.

    ``at``: the sagittal's column and the coronal's row (voxels; None: the middle).
    """
    from pathlib import Path

    from skimage import io, transform

    sx, sy, sz = (float(v) for v in vol.spacing)
    z, y, x = dm.shape
    rows = max(round(z * sz / (0.5 * (sx + sy))), 1)
    Path(out).mkdir(parents=True, exist_ok=True)
    cx = x // 2 if at[0] is None else at[0]
    cy = y // 2 if at[1] is None else at[1]
    for plane, cut in (("sagittal", np.s_[:, :, cx]), ("coronal", np.s_[:, cy, :])):
        panels = []
        for v, order in ((ct01, 1), (mri01, 1), (fused, 1), (dm, 0)):
            a = np.asarray(v[cut], np.float32)[::-1]  # superior up
            panels.append(transform.resize(a, (rows, a.shape[1]), order=order))
        img = np.clip(np.concatenate(panels, axis=1), 0, 1)
        name = f"{out}/{tag}-{plane}-{cx if plane == 'sagittal' else cy}.png"
        io.imsave(name, (img * 255).astype(np.uint8), check_contrast=False)
        print(f"wrote {name}")


def main() -> None:
    """Fuse the pair (or the demo), print the measures, optionally the reformats."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ct")
    ap.add_argument("--mri")
    ap.add_argument("--register", default="auto")
    ap.add_argument("--reference", default="auto")
    ap.add_argument("--rules", default="anatomy", help="comma-separated rules")
    ap.add_argument("--allow-different-patients", action="store_true")
    ap.add_argument("--flips", action="store_true", help="every adjacent pair's share")
    ap.add_argument("--shots", help="folder for the mid-sagittal and mid-coronal PNGs")
    ap.add_argument("--tag", default="banding", help="file name prefix of the PNGs")
    ap.add_argument(
        "--at", type=int, nargs=2, metavar=("X", "Y"), help="sagittal column, coronal row"
    )
    args = ap.parse_args()
    from brainfuse.fusion import Fuser, FusionSettings
    from brainfuse.io import demo_pair, load

    if args.ct and args.mri:
        ct, mri = load(args.ct), load(args.mri)
    else:
        ct, mri = demo_pair()
        args.rules = "sesf,anatomy"
    t = time.perf_counter()
    aligned = align(
        ct,
        mri,
        register=args.register,
        reference=args.reference,
        allow_different_patients=args.allow_different_patients,
    )
    prepared = prepare(aligned, allow_different_patients=args.allow_different_patients)
    vol = prepared.mri
    print(
        f"aligned ({aligned.mode}) on the {aligned.reference}'s grid {vol.shape} "
        f"spacing {tuple(round(float(s), 3) for s in vol.spacing)} mm: "
        f"{time.perf_counter() - t:.0f} s"
    )
    bone = None if prepared.bone is None else np.asarray(prepared.bone, bool)
    for rule in args.rules.split(","):
        t = time.perf_counter()
        fusion = PairFusion(prepared, Fuser(settings=FusionSettings(rule=rule)))
        for _ in fusion.steps():
            pass
        print(f"{rule}: fused in {time.perf_counter() - t:.0f} s")
        inside_mri = mri_mask(vol.array)
        ct_outline = ct_head(prepared.ct.array)
        heads = [("MRI mask", inside_mri)]
        if ct_outline is not None:
            heads.insert(0, ("CT+MRI head", ct_outline | inside_mri))
        for label, head in heads:
            print(f"-- inside the {label} ({int(head.sum())} voxels)")
            report(rule, fusion.decision_map, head, vol.spacing, bone, args.flips)
        head = heads[0][1]
        b = banding(fusion.decision_map, head)
        print(f"{rule:10s} mean-row ratio (planes.banding, per row) {b['ratio']:.2f}")
        if args.shots:
            n = vol.shape[0]
            ct01 = np.stack([np.asarray(prepared.ct01[k]) for k in range(n)])
            mri01 = np.stack([np.asarray(prepared.mri01[k]) for k in range(n)])
            if ct01.ndim == 4:
                ct01 = ct01.mean(axis=-1)
            fused = fusion.fused if fusion.fused.ndim == 3 else fusion.fused.mean(axis=-1)
            tag = args.tag if len(args.rules.split(",")) == 1 else f"{args.tag}-{rule}"
            at = (None, None) if args.at is None else tuple(args.at)
            shots(args.shots, tag, vol, fused, fusion.decision_map, ct01, mri01, at)


if __name__ == "__main__":
    main()
