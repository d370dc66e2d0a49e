"""``brainfuse batch`` end to end on real Dask clusters (worker processes, loopback only).

The 40-item run and its rerun are shared by the tests of this module (one cluster start
each); the fault test starts its own ``LocalCluster`` and kills one of its workers by pid.
"""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, SHARED_DATA

pytestmark = [pytest.mark.slow, pytest.mark.shared]
DEMO = REPO_ROOT / "resources" / "demo"


def _pairs(n: int) -> list[str]:
    folder = SHARED_DATA / "pairs" / "ct-mri"
    if not folder.is_dir():
        pytest.skip(f"development pairs not found at {folder} (set BRAINFUSE_SHARED_DATA)")
    ids = sorted(p.name[: -len("_ct.png")] for p in folder.glob("*_ct.png"))
    return ids[:n]


def _pair_row(pid: str, item: str | None = None) -> str:
    folder = SHARED_DATA / "pairs" / "ct-mri"
    return f"{item or 'p' + pid},{folder / (pid + '_ct.png')},{folder / (pid + '_mri.png')}"


def _demo_row(item: str) -> str:
    return f"{item},{DEMO / 'demo_ct.nii.gz'},{DEMO / 'demo_mri.nii.gz'}"


def _brainfuse(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run(
        [sys.executable, "-m", "brainfuse", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO_ROOT,
    )


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "batch.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_partial_output(out: Path) -> None:
    """Only whole item folders: no temporary or set-aside folder left anywhere."""
    hidden = sorted(p.name for p in out.rglob(".*") if p.name != ".batch.lock")
    assert hidden == []


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """40 items (37 pairs, the demo volume, 2 broken), run once, then run again."""
    tmp = tmp_path_factory.mktemp("cohort")
    truncated = tmp / "truncated_ct.png"
    good = SHARED_DATA / "pairs" / "ct-mri"
    pairs = _pairs(37)
    truncated.write_bytes((good / f"{pairs[0]}_ct.png").read_bytes()[:300])
    rows = ["id,ct,mri", *(_pair_row(p) for p in pairs), _demo_row("demo")]
    rows.append(f"missing,{tmp / 'no_such_ct.png'},{good / (pairs[0] + '_mri.png')}")
    rows.append(f"truncated,{truncated},{good / (pairs[0] + '_mri.png')}")
    manifest = tmp / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    out = tmp / "out"
    options = ["--out", str(out), "--workers", "2", "--threads", "1"]
    first = _brainfuse("batch", str(manifest), *options)
    after_first = _rows(out)
    stamps = {i: (out / i / "item.json").stat().st_mtime_ns for i in ("demo", "p" + pairs[0])}
    second = _brainfuse("batch", str(manifest), *options)
    return {
        "pairs": pairs,
        "out": out,
        "manifest": manifest,
        "first": first,
        "after_first": after_first,
        "second": second,
        "stamps": stamps,
    }


def test_forty_items_end_38_done_2_failed_with_reasons(cohort):
    first, rows = cohort["first"], cohort["after_first"]
    assert first.returncode == 2, first.stderr
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40
    status = {r["id"]: r["status"] for r in rows}
    assert sorted(i for i, s in status.items() if s == "failed") == ["missing", "truncated"]
    assert sum(s == "done" for s in status.values()) == 38
    errors = {r["id"]: r["error"] for r in rows}
    assert "does not exist" in errors["missing"]
    assert errors["truncated"] and "\n" not in errors["truncated"]
    assert all(errors[r["id"]] == "" for r in rows if r["status"] == "done")
    assert "38 done, 2 failed" in first.stdout
    failed_lines = [ln for ln in first.stderr.splitlines() if ln.startswith("failed: ")]
    assert len(failed_lines) == 2
    assert "dashboard: http://127.0.0.1:" in first.stdout
    assert "Traceback" not in first.stderr


def test_each_row_records_outputs_settings_and_model(cohort):
    out = cohort["out"]
    for row in cohort["after_first"]:
        if row["status"] != "done":
            assert not (out / row["id"]).exists()  # a failed item leaves nothing
            continue
        outputs = dict(part.rsplit("=", 1) for part in row["outputs"].split(";"))
        name = "fused.nii.gz" if row["id"] == "demo" else "fused.png"
        assert list(outputs) == [name]
        assert _sha(out / row["id"] / name) == outputs[name]
        assert sorted(p.name for p in (out / row["id"]).iterdir()) == sorted([name, "item.json"])
        assert '"rule":"anatomy"' in row["settings"] and len(row["model_sha256"]) == 64
        assert float(row["seconds"]) > 0
    _no_partial_output(out)


def test_second_run_skips_the_38_and_retries_the_2(cohort):
    second, out = cohort["second"], cohort["out"]
    assert second.returncode == 2, second.stderr
    assert "40 items: 2 to fuse, 38 done before" in second.stdout
    assert "0 done, 2 failed, 38 skipped" in second.stdout
    rows = _rows(out)
    assert len(rows) == 40
    before = {r["id"]: r for r in cohort["after_first"]}
    for row in rows:
        if row["id"] in ("missing", "truncated"):
            assert row["finished_utc"] >= before[row["id"]]["finished_utc"]
        else:  # untouched: same row, same files
            assert row == before[row["id"]]
    for item, stamp in cohort["stamps"].items():
        assert (out / item / "item.json").stat().st_mtime_ns == stamp


def test_dry_run_lists_without_doing(cohort):
    done = _brainfuse("batch", str(cohort["manifest"]), "--out", str(cohort["out"]), "--dry-run")
    assert done.returncode == 0
    assert "skip demo: done before" in done.stdout
    assert "fuse missing: failed before" in done.stdout
    assert "would fuse 2 of 40 items (38 done before)" in done.stdout


def test_items_equal_brainfuse_fuse_byte_for_byte(cohort, tmp_path):
    import nibabel as nib

    out, pid = cohort["out"], cohort["pairs"][1]
    folder = SHARED_DATA / "pairs" / "ct-mri"
    png = tmp_path / "fused.png"
    ran = _brainfuse(
        "fuse", str(folder / f"{pid}_ct.png"), str(folder / f"{pid}_mri.png"), "-o", str(png),
        "--threads", "1",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert png.read_bytes() == (out / f"p{pid}" / "fused.png").read_bytes()
    nii = tmp_path / "fused.nii.gz"
    ran = _brainfuse("fuse", "--demo", "-o", str(nii), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    ours, theirs = nib.load(out / "demo" / "fused.nii.gz"), nib.load(nii)
    assert np.asanyarray(ours.dataobj).tobytes() == np.asanyarray(theirs.dataobj).tobytes()
    assert np.array_equal(ours.affine, theirs.affine)
    assert ours.header["descrip"] == theirs.header["descrip"]


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path):
    from distributed import Client, LocalCluster

    pairs = _pairs(6)
    rows = ["id,ct,mri"]
    for k, pid in enumerate(pairs):
        rows.append(_pair_row(pid))
        if k % 2 == 0:
            rows.append(_demo_row(f"vol{k}"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    ids = [r.split(",")[0] for r in rows[1:]]
    out = tmp_path / "out"
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        pids = client.run(os.getpid)
        command = ["batch", str(manifest), "--out", str(out), "--threads", "1"]
        command += ["--scheduler", cluster.scheduler_address]
        result: dict = {}
        batch = threading.Thread(target=lambda: result.update(run=_brainfuse(*command)))
        batch.start()
        killed = None
        deadline = time.monotonic() + 600
        while killed is None and batch.is_alive() and time.monotonic() < deadline:
            started = (out / "batch.csv").is_file()  # one item has ended: mid-batch
            for worker, keys in client.processing().items():
                running = [str(k) for k in keys if str(k).startswith("fuse-vol")]
                if started and running:
                    killed, victim = pids[worker], running[0].split("-")[1]
                    os.kill(killed, signal.SIGKILL)
                    break
            time.sleep(0.05)
        batch.join(timeout=600)
    run = result["run"]
    assert killed is not None, "no volume item was running after the first item ended"
    assert run.returncode == 0, run.stderr
    table = _rows(out)
    assert sorted(r["id"] for r in table) == sorted(ids)  # each item once
    assert all(r["status"] == "done" for r in table), [r["error"] for r in table]
    # the item the killed worker was fusing was fused again by another worker process
    assert next(r for r in table if r["id"] == victim)["worker"].split(":")[1] != str(killed)
    for row in table:
        outputs = dict(part.rsplit("=", 1) for part in row["outputs"].split(";"))
        assert sorted(p.name for p in (out / row["id"]).iterdir()) == sorted(
            [*outputs, "item.json"]
        )
        for name, sha in outputs.items():
            assert _sha(out / row["id"] / name) == sha
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        [*ids, "batch.csv"]
    )
    _no_partial_output(out)
    # the volumes are the same pair: a rerun item's output equals the others'
    assert len({_sha(out / i / "fused.nii.gz") for i in ids if i.startswith("vol")}) == 1
