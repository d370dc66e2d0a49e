"""Check that two revisions fuse and export bit for bit the same (a refactoring changes nothing).

Usage::

    python scripts/check_identical.py BASE_REV [--head REV] [--pairs DIR] [--rule RULE]

``BASE_REV`` is checked out with ``git worktree add`` into a temporary folder; the head is
this checkout's working tree (``app/``), or ``--head REV`` checked out the same way. Each
side runs in its own interpreter with ``PYTHONPATH`` pointing at its ``app/`` and fuses, on
the CPU with one thread (so the sums are done in one order):

* every CT-MRI pair of ``--pairs`` (default ``../shared/data/pairs/ct-mri``, the 131
  development pairs): the fused image, the decision map and the soft map;
* the demo volume (``brainfuse.io.demo_pair``): the same three volumes;
* one DICOM export of the demo fusion (``export_result(format="dicom")``).

Then every array is compared bit for bit (dtype, shape and bytes), and every DICOM file by
its pixel data and every attribute except UIDs, dates and times (new for each export). The
script prints one line per kind and exits 0 when everything is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: Runs inside each revision: fuses and writes ``<out>/<name>.npz`` and ``<out>/dicom/``.
_DUMP = r"""
import sys, json
from pathlib import Path
import numpy as np
from brainfuse.fusion import Fuser
from brainfuse.io import demo_pair, load
from brainfuse.pipeline import fuse_pair
from brainfuse.export import export_result

out, pairs, rule = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] or None
from brainfuse.fusion import FusionSettings
settings = FusionSettings(rule=rule) if rule else None
fuser = Fuser("cnn", settings=settings, device="cpu", threads=1)

def keep(name, result):
    np.savez(out / f"{name}.npz", fused=result.fused.array,
             decision_map=result.decision_map.array, soft_map=np.asarray(result.soft_map))

names = sorted(p.name[: -len("_ct.png")] for p in pairs.glob("*_ct.png"))
for name in names:
    keep(name, fuse_pair(load(pairs / f"{name}_ct.png"), load(pairs / f"{name}_mri.png"),
                         fuser=fuser, register="none"))
ct, mri = demo_pair()
demo = fuse_pair(ct, mri, fuser=fuser)
keep("demo", demo)
export_result(demo, out / "dicom", format="dicom")
print(json.dumps({"pairs": len(names)}))
"""

#: Attributes that differ between two exports of the same image by design.
_VOLATILE_VR = {"UI", "DA", "DT", "TM"}


def checkout(rev: str, where: Path) -> Path:
    """Check ``rev`` out (detached) into ``where`` with ``git worktree add``."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(where), rev],
        check=True,
        capture_output=True,
    )
    return where


def dump(tree: Path, out: Path, pairs: Path, rule: str) -> dict[str, int]:
    """Fuse and export with the code of ``tree`` into ``out``."""
    out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "app"), "BRAINFUSE_STATE_DIR": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", _DUMP, str(out), str(pairs), rule],
        env=env,
        capture_output=True,
        text=True,
        cwd=tree,
    )
    if done.returncode != 0:
        raise SystemExit(f"fusing with {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_arrays(a: Path, b: Path) -> list[str]:
    """Names of the arrays of two ``.npz`` files that differ in dtype, shape or any byte."""
    with np.load(a) as x, np.load(b) as y:
        if set(x.files) != set(y.files):
            return ["(array names)"]
        return [
            k
            for k in x.files
            if x[k].dtype != y[k].dtype
            or x[k].shape != y[k].shape
            or x[k].tobytes() != y[k].tobytes()
        ]


def _elements(ds, prefix: str = "") -> dict[str, object]:
    """Every attribute of ``ds`` (sequences walked) except UIDs, dates and times."""
    found: dict[str, object] = {}
    for elem in ds:
        if elem.VR in _VOLATILE_VR or elem.tag == 0x7FE00010:
            continue
        key = f"{prefix}{elem.tag}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                found.update(_elements(item, f"{key}[{i}]."))
        else:
            found[key] = elem.value
    return found


def dicom_differences(a: Path, b: Path) -> list[str]:
    """List what differs between two DICOM export folders (files matched by InstanceNumber)."""
    import pydicom

    def series(folder: Path) -> dict[int, pydicom.Dataset]:
        sets = [pydicom.dcmread(p) for p in sorted(folder.rglob("*")) if p.is_file()]
        return {int(ds.InstanceNumber): ds for ds in sets}

    x, y = series(a), series(b)
    if sorted(x) != sorted(y):
        return [f"instances {sorted(x)[:5]}... vs {sorted(y)[:5]}..."]
    problems = []
    for k in sorted(x):
        if x[k].pixel_array.tobytes() != y[k].pixel_array.tobytes():
            problems.append(f"instance {k}: pixel data")
        ex, ey = _elements(x[k]), _elements(y[k])
        for tag in sorted(ex.keys() | ey.keys()):
            if ex.get(tag) != ey.get(tag):
                problems.append(f"instance {k}: {tag} {ex.get(tag)!r} != {ey.get(tag)!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; return 0 when every output is identical."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the revision before (e.g. 18a2748)")
    parser.add_argument("--head", help="the revision after (default: this working tree)")
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared/data/pairs/ct-mri")
    parser.add_argument("--rule", default="", help="the cnn rule (default: the default rule)")
    args = parser.parse_args(argv)
    if not args.pairs.is_dir():
        raise SystemExit(f"no pairs at {args.pairs}")
    with tempfile.TemporaryDirectory(prefix="check-identical-") as tmp:
        work = Path(tmp)
        trees = {"base": checkout(args.base, work / "base-tree")}
        trees["head"] = checkout(args.head, work / "head-tree") if args.head else REPO
        try:
            counts = {}
            for side, tree in trees.items():
                counts[side] = dump(tree, work / side, args.pairs, args.rule)
                print(f"{side}: {tree} fused {counts[side]['pairs']} pairs and the demo volume")
            names = sorted(p.stem for p in (work / "base").glob("*.npz"))
            differing = {
                n: d
                for n in names
                if (d := same_arrays(work / "base" / f"{n}.npz", work / "head" / f"{n}.npz"))
            }
            pairs = [n for n in names if n != "demo"]
            print(
                f"pairs: {len(pairs) - len(set(differing) - {'demo'})}/{len(pairs)} identical "
                "(fused, decision map, soft map)"
            )
            print(f"demo volume: {differing.get('demo', 'identical')}")
            dicom = dicom_differences(work / "base" / "dicom", work / "head" / "dicom")
            n_files = sum(1 for p in (work / "base" / "dicom").rglob("*") if p.is_file())
            print(
                f"DICOM export: {n_files} files, "
                + (
                    "identical pixel data and attributes (UIDs, dates, times aside)"
                    if not dicom
                    else f"{len(dicom)} differences, first: {dicom[:5]}"
                )
            )
            for name, arrays in sorted(differing.items()):
                print(f"  differs: {name}: {', '.join(arrays)}")
            return 0 if not differing and not dicom else 1
        finally:
            for side in ("base", "head"):
                tree = work / f"{side}-tree"
                if tree.exists():
                    subprocess.run(
                        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                        capture_output=True,
                    )


if __name__ == "__main__":
    sys.exit(main())
