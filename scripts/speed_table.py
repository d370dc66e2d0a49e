"""Every speed figure of the "speed a radiologist feels" acceptance, this tree beside a previous head.

Run it on a quiet machine (it prints the load average at each step; figures taken beside
other work are only comparable within one run). The previous head (default ``3fedfa6``) is
checked out once as a detached ``git worktree`` (default ``<tmp>/brainfuse-prev-<rev>``) and
run with the same Python and inputs; the two trees alternate round by round so both see the
same background load.

1. ``brainfuse bench --size 256 512 --method cnn --volume-slices 0 --contention 1``: ms per
   pair quiet and beside one busy process, and the slowdown (median over ``--rounds`` bench
   runs, alternating the trees).
2. ``brainfuse fuse`` of the demo pair resampled to 300 x 512 x 512 (``bench --volume``'s
   pair, :mod:`brainfuse.bench.endtoend`), with the shipped uint8 MRI and with an int16 MRI:
   wall seconds and the child's peak RSS.
3. Time from opening a pair to its first fused slice drawn in the (hidden) window, median of
   ``--first-repeat`` (:mod:`brainfuse.cli.first_slice`, this tree's timer driving each
   tree's own window): the demo pair and the 300 x 512 x 512 series.
4. Agreement of this tree's output with the previous head's: ``brainfuse fuse --demo`` to
   NIfTI (fused image and decision map) and the 256/512 bench pairs through ``Fuser``.
5. The runtime table (``scripts/runtime_table.py``) for the model card.

Usage: ``python scripts/speed_table.py [--prev 3fedfa6] [--rounds 3] [--parts ...]
[--json OUT]``; about 25-35 minutes on the 2-core development VM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
VOLUME = (300, 512, 512)

_AGREE = r"""
import sys, numpy as np
from brainfuse.bench.timing import bench_inputs
from brainfuse.fusion import Fuser
pairs, _, _ = bench_inputs([256, 512], None)
f = Fuser("cnn", threads=2)
out = {}
for n, (a, b, bone) in pairs.items():
    r = f.fuse(a, b, bone=bone)
    out[f"fused{n}"], out[f"dm{n}"], out[f"soft{n}"] = r.fused, r.decision_map, r.soft_map
np.savez(sys.argv[1], **out)
"""

_FIRST = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("first_slice", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
pairs = json.loads(sys.argv[2])
rows = mod.time_first_slice({k: tuple(v) for k, v in pairs.items()}, repeat=int(sys.argv[3]))
print(json.dumps(rows))
"""


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree / "app")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


def _run(tree: Path, args: list[str], timeout: float = 3600) -> str:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} in {tree} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def _worktree(rev: str, folder: Path | None) -> Path:
    """Return a detached worktree of ``rev`` (made once, reused)."""
    folder = folder or Path(tempfile.gettempdir()) / f"brainfuse-prev-{rev}"
    if not (folder / "app" / "brainfuse").is_dir():
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "--detach", str(folder), rev], check=True
        )
    return folder


def _bench(trees: dict[str, Path], rounds: int, repeat: int) -> dict[str, Any]:
    """``brainfuse bench`` quiet and beside one busy process, trees alternating."""
    runs: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "bench.json"
                args = ["-m", "brainfuse", "bench", "--size", "256", "512", "--method", "cnn"]
                args += ["--volume-slices", "0", "--contention", "1", "--repeat", str(repeat)]
                _run(tree, [*args, "--json", str(out)])
                runs[name].append(json.loads(out.read_text()))
    table: dict[str, Any] = {}
    for name, reports in runs.items():
        for n in (256, 512):
            rows = [r for rep in reports for r in rep["pairs"] if r["method"] == "cnn"]
            rows = [r for r in rows if r["size"] == n]
            quiet = statistics.median(r["ms_median"] for r in rows)
            busy = statistics.median(r["contended"]["ms_median"] for r in rows)
            table[f"{name} {n}"] = {
                "quiet_ms": quiet,
                "busy_ms": busy,
                "slowdown": busy / quiet,
                "quiet_runs": [r["ms_median"] for r in rows],
                "load": [rep["environment"]["load_before"] for rep in reports],
            }
    return table


def _volume(trees: dict[str, Path], threads: int) -> dict[str, Any]:
    """``brainfuse fuse`` of the 300 x 512 x 512 pair, uint8 and int16 MRI, per tree."""
    from brainfuse.bench.endtoend import time_fuse_command, volume_pair

    table = {}
    for mri in ("uint8", "int16"):
        ct, mr = volume_pair(VOLUME, mri_dtype=mri)
        for name, tree in trees.items():
            old = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = str(tree / "app")
            try:
                row = time_fuse_command(ct, mr, threads=threads)
            finally:
                if old is None:
                    os.environ.pop("PYTHONPATH")
                else:
                    os.environ["PYTHONPATH"] = old
            row["load_after"] = _load()
            table[f"{name} {mri}"] = row
    return table


def _first_slice(trees: dict[str, Path], repeat: int) -> dict[str, Any]:
    from brainfuse._runtime.resources import demo_dir
    from brainfuse.bench.endtoend import volume_pair

    demo = demo_dir()
    pairs = {
        "demo": [str(demo / "demo_ct.nii.gz"), str(demo / "demo_mri.nii.gz")],
        "512 series": [str(p) for p in volume_pair(VOLUME)],
    }
    timer = str(HERE / "app" / "brainfuse" / "cli" / "first_slice.py")
    table = {}
    for name, tree in trees.items():
        out = _run(tree, ["-c", _FIRST, timer, json.dumps(pairs), str(repeat)])
        for row in json.loads(out.strip().splitlines()[-1]):
            table[f"{name} {row['name']}"] = row | {"load_after": _load()}
    return table


def _agreement(trees: dict[str, Path]) -> dict[str, Any]:
    import nibabel as nib
    import numpy as np

    arrays = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree in trees.items():
            fused, dm = Path(tmp) / f"{name}-fused.nii.gz", Path(tmp) / f"{name}-dm.nii.gz"
            args = ["-m", "brainfuse", "fuse", "--demo", "-o", str(fused)]
            _run(tree, [*args, "--decision-map", str(dm), "--threads", "2"])
            pairs = Path(tmp) / f"{name}.npz"
            _run(tree, ["-c", _AGREE, str(pairs)])
            arrays[name] = {
                "fused": np.asarray(nib.load(fused).dataobj, np.float32),
                "dm": np.asarray(nib.load(dm).dataobj),
                **dict(np.load(pairs)),
            }
    now, prev = (arrays[k] for k in trees)
    out = {
        "demo volume fused max |diff|": float(np.abs(now["fused"] - prev["fused"]).max()),
        "demo volume fused mean |diff|": float(np.abs(now["fused"] - prev["fused"]).mean()),
        "demo volume decision map voxels differ": float(np.mean(now["dm"] != prev["dm"])),
    }
    for n in (256, 512):
        out[f"{n} pair fused max |diff|"] = float(
            np.abs(now[f"fused{n}"] - prev[f"fused{n}"]).max()
        )
        out[f"{n} pair soft max |diff|"] = float(np.abs(now[f"soft{n}"] - prev[f"soft{n}"]).max())
        out[f"{n} pair decision pixels differ"] = float(np.mean(now[f"dm{n}"] != prev[f"dm{n}"]))
    return out


def main() -> None:
    """Run every part and print the tables (and write JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prev", default="3fedfa6", help="revision to compare with")
    ap.add_argument("--prev-tree", type=Path, default=None, help="where its worktree goes")
    ap.add_argument("--rounds", type=int, default=3, help="bench runs per tree, alternating")
    ap.add_argument("--repeat", type=int, default=7, help="--repeat of each bench run")
    ap.add_argument("--first-repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["agreement", "bench", "volume", "first_slice", "runtimes"],
        help="which parts to run (default all)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    trees = {"this tree": HERE, f"prev {args.prev}": _worktree(args.prev, args.prev_tree)}
    report: dict[str, Any] = {"load_start": _load()}
    print(f"load average at start (1/5/15 min): {report['load_start']}", flush=True)
    parts = [
        ("agreement", lambda: _agreement(trees)),
        ("bench", lambda: _bench(trees, args.rounds, args.repeat)),
        ("volume", lambda: _volume(trees, args.threads)),
        ("first_slice", lambda: _first_slice(trees, args.first_repeat)),
    ]
    for key, part in parts:
        if key not in args.parts:
            continue
        report[key] = part()
        print(f"\n## {key} (load now {_load()})", flush=True)
        for name, row in report[key].items():
            print(f"- {name}: {_short(row)}", flush=True)
    if "runtimes" in args.parts:
        print(f"\n## runtimes (load now {_load()})", flush=True)
        text = _run(HERE, [str(HERE / "scripts" / "runtime_table.py")])
        report["runtimes"] = text
        print(text, flush=True)
    report["load_end"] = _load()
    print(f"\nload average at the end: {report['load_end']}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


def _short(row: Any) -> str:
    if not isinstance(row, dict):
        return f"{row:.6g}" if isinstance(row, float) else str(row)
    keep = ("quiet_ms", "busy_ms", "slowdown", "seconds", "peak_rss_mib", "s_median", "s_runs")
    parts = []
    for k in keep:
        if k in row:
            v = row[k]
            text = [round(x, 2) for x in v] if isinstance(v, list) else f"{v:.2f}"
            parts.append(f"{k} {text}")
    if row.get("returncode"):
        parts.append(f"FAILED exit {row['returncode']}: {row.get('stderr_tail')}")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
