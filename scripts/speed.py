"""Time the fusion end to end (decision map and clean-up included) per pair.

Reports the median wall time of ``Fuser.fuse`` on 256 x 256 and 512 x 512 pairs for our
``cnn`` method and the Laplacian-pyramid baseline, on ``--threads`` CPU threads (and on
CUDA with ``--cuda``), plus the ratio cnn / Laplacian. Images are synthetic textures made
here (timing does not depend on content).

Usage::

    taskset -c 0,1 python scripts/speed.py --threads 2 [--repeat 20] [--cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from scipy import ndimage

from brainfuse.fusion import Fuser


def pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    a = ndimage.gaussian_filter(rng.random((n, n)), 1.5).astype(np.float32)
    b = ndimage.gaussian_filter(rng.random((n, n)), 3.0).astype(np.float32)
    return (a - a.min()) / np.ptp(a), (b - b.min()) / np.ptp(b)


def median_ms(fuser: Fuser, a, b, repeat: int) -> tuple[float, dict]:
    for _ in range(3):
        fuser.fuse(a, b)
    times, last = [], {}
    for _ in range(repeat):
        t = time.perf_counter()
        last = fuser.fuse(a, b).timings
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--cuda", action="store_true")
    args = ap.parse_args()
    out = {}
    devices = ["cpu"] + (["cuda"] if args.cuda else [])
    for dev in devices:
        cnn = Fuser("cnn", device=dev, threads=args.threads)
        lap = Fuser("laplacian", device="cpu", threads=args.threads)
        for n in (256, 512):
            a, b = pair(n)
            t_cnn, parts = median_ms(cnn, a, b, args.repeat)
            t_lap, _ = median_ms(lap, a, b, args.repeat)
            out[f"{dev} {n}"] = {
                "device": cnn.device,
                "cnn_ms": round(t_cnn, 1),
                "laplacian_ms": round(t_lap, 1),
                "ratio": round(t_cnn / t_lap, 2),
                "cnn_parts_ms": {k: round(v, 1) for k, v in parts.items()},
            }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
