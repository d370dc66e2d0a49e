"""Check that encoding a 512 x 512 slice at 256 x 256 measures the same (``encoder_size``).

The development pairs are 256 x 256. Each is enlarged to 512 x 512 (bilinear, the size of a
clinical CT slice) and fused twice with the default rule: the encoder at full resolution
(``encoder_size=0``) and at the default ``encoder_size=256`` (block-averaged by 2, activity
brought back bilinearly; the decision map at full resolution either way). Prints the means of
the paper's metrics and the anatomy numbers on both halves of the development cases (chosen
on 2, 21, 28, 32; checked on 34, 37, 41), the agreement of the two hard maps, and the encoder
time per pair of each.

Usage: ``python scripts/encoder_size.py [--limit N] [--rule anatomy|sesf]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import NAMES, TUNE_CASES, load_pairs, score

from brainfuse.fusion import Fuser, FusionSettings
from brainfuse.model.bone import bone_prior

KEYS = (*NAMES, "bone_kept", "brain_kept")


def main() -> None:
    """Fuse the enlarged pairs both ways and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--rule", default="anatomy", choices=("anatomy", "sesf"))
    args = ap.parse_args()
    variants = {"full (encoder_size 0)": 0, "half (encoder_size 256)": 256}
    fusers = {
        name: Fuser("cnn", settings=FusionSettings(rule=args.rule, encoder_size=size))
        for name, size in variants.items()
    }
    rows: dict[str, dict[str, list[dict]]] = {n: {"tune": [], "check": []} for n in fusers}
    agree: list[float] = []
    seconds = dict.fromkeys(fusers, 0.0)
    for pair_id, a, b in load_pairs(args.limit):
        half = "tune" if pair_id[:-3] in TUNE_CASES else "check"
        a2, b2 = (np.clip(ndimage.zoom(x, 2, order=1), 0, 1).astype(np.float32) for x in (a, b))
        bone = bone_prior(np.round(a2 * 255), "8-bit")
        maps = []
        for name, fuser in fusers.items():
            t = time.perf_counter()
            r = fuser.fuse(a2, b2, bone=bone)
            seconds[name] += time.perf_counter() - t
            rows[name][half].append(score(r.fused, a2, b2))
            maps.append(r.decision_map)
        agree.append(float((maps[0] == maps[1]).mean()))
    n = len(agree)
    print(f"{n} pairs enlarged to 512 x 512, rule {args.rule}")
    print("| encoder | half | " + " | ".join(KEYS) + " | s per pair |")
    print("|---" * (len(KEYS) + 3) + "|")
    for name in fusers:
        for half in ("tune", "check"):
            rs = rows[name][half]
            if not rs:
                continue
            means = [np.nanmean([r[k] for r in rs]) for k in KEYS]
            cells = " | ".join(
                f"{m:.2f}" if k in ("psnr", "sf") else f"{m:.3f}"
                for k, m in zip(KEYS, means, strict=True)
            )
            print(f"| {name} | {half} ({len(rs)}) | {cells} | {seconds[name] / n:.3f} |")
    print(
        f"hard maps agree on {100 * np.mean(agree):.2f} % of pixels (min {100 * min(agree):.2f} %)"
    )


if __name__ == "__main__":
    main()
