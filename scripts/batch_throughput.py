"""Throughput of ``brainfuse batch`` beside a shell loop of ``brainfuse fuse``, back to back.

Three ways to fuse the same items, one after the other in the same minutes:

* ``loop``: one ``brainfuse fuse CT MRI -o OUT`` process per item (default threads), as a
  shell ``for`` loop would;
* ``one``: ``brainfuse batch --workers 1`` (one worker with all the cores' threads);
* ``default``: ``brainfuse batch`` with the default local cluster.

Each wall time covers the whole command (cluster start and model loading included). Printed:
items per minute, the 1-minute load average before and after each, and the largest resident
memory of any process of the command (a worker's peak, sampled every 0.2 s).

Usage::

    python scripts/batch_throughput.py pairs --n 40          # 40 development 256² pairs
    python scripts/batch_throughput.py volumes --n 6         # 6 × the demo at 300×512×512
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BRAINFUSE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _items(kind: str, n: int, size: str, folder: Path) -> list[tuple[str, Path, Path, str]]:
    if kind == "pairs":
        pairs = SHARED / "pairs" / "ct-mri"
        ids = sorted(p.name[:-7] for p in pairs.glob("*_ct.png"))[:n]
        return [(f"p{i}", pairs / f"{i}_ct.png", pairs / f"{i}_mri.png", ".png") for i in ids]
    from brainfuse.bench.endtoend import volume_pair

    z, y, x = (int(v) for v in size.split("x"))
    ct, mri = volume_pair((z, y, x), folder / "volume")
    return [(f"v{k}", ct, mri, ".nii.gz") for k in range(n)]


def _peak_rss(proc: subprocess.Popen, stop: threading.Event, peak: list[float]) -> None:
    root = psutil.Process(proc.pid)
    while not stop.wait(0.2):
        try:
            for p in [root, *root.children(recursive=True)]:
                peak[0] = max(peak[0], p.memory_info().rss / 2**20)
        except psutil.Error:
            continue


def _timed(commands: list[list[str]]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "app")}
    peak = [0.0]
    t0 = time.perf_counter()
    for cmd in commands:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stop = threading.Event()
        watch = threading.Thread(target=_peak_rss, args=(proc, stop, peak), daemon=True)
        watch.start()
        _, err = proc.communicate()
        stop.set()
        watch.join()
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd[:4])}... failed: {err.decode()[-500:]}")
    return time.perf_counter() - t0, peak[0]


def main() -> None:
    """Run the three modes back to back and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("pairs", "volumes"))
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--size", default="300x512x512", help="volumes: ZxYxX")
    parser.add_argument("--modes", default="loop,one,default")
    args = parser.parse_args()
    bf = [sys.executable, "-m", "brainfuse"]
    with tempfile.TemporaryDirectory(prefix="brainfuse-batch-bench-") as tmp:
        folder = Path(tmp)
        items = _items(args.kind, args.n, args.size, Path(tempfile.gettempdir()))
        manifest = folder / "manifest.csv"
        manifest.write_text("id,ct,mri\n" + "".join(f"{i},{c},{m}\n" for i, c, m, _ in items))
        print(f"{len(items)} {args.kind}, {psutil.cpu_count()} cores", flush=True)
        for mode in args.modes.split(","):
            out = folder / mode
            if mode == "loop":
                out.mkdir()
                cmds = [
                    [*bf, "fuse", str(c), str(m), "-o", str(out / (i + s))] for i, c, m, s in items
                ]
            else:
                workers = ["--workers", "1"] if mode == "one" else []
                cmds = [[*bf, "batch", str(manifest), "--out", str(out), *workers]]
            load0 = os.getloadavg()[0]
            seconds, peak = _timed(cmds)
            print(
                f"{mode:8s} {seconds:7.1f} s  {len(items) / seconds * 60:6.1f} {args.kind}/min  "
                f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}  largest process {peak:.0f} MiB",
                flush=True,
            )


if __name__ == "__main__":
    main()
