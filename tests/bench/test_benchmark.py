"""brainfuse.bench.timing and ``brainfuse bench``: they run on tiny sizes and report every field.

No timing is asserted (speed is measured by ``brainfuse bench`` itself, not by tests).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from brainfuse.bench.timing import REFERENCE_METHOD, bench_inputs, format_table, run_benchmark
from brainfuse.cli import main


def test_bench_inputs_are_real_slices_in_unit_range():
    pairs, volume, what = bench_inputs([32, 48], (6, 40, 40))
    assert set(pairs) == {32, 48}
    for n, (a, b, bone) in pairs.items():
        assert a.shape == b.shape == bone.shape == (n, n) and a.dtype == np.float32
        assert a.min() >= 0 and a.max() <= 1 and a.std() > 0.05  # a head, not a blank
        assert bone.dtype == bool and 0 < bone.mean() < 0.5  # the CT's skull (HU >= 300)
    assert volume[0].shape == volume[1].shape == (6, 40, 40)
    assert len(volume[3]) == 3 and min(volume[3]) > 0  # its voxel spacing, mm (fused in 3-D)
    assert "demo" in what or "camera" in what


def test_run_benchmark_reports_every_method_size_and_ratio():
    lines: list[str] = []
    report = run_benchmark(
        sizes=[32],
        methods=["average", "pixel-sf"],
        device="cpu",
        threads=1,
        repeat=2,
        volume_slices=0,
        log=lines.append,
    )
    methods = [r["method"] for r in report["pairs"]]
    assert methods == ["average", "pixel-sf", REFERENCE_METHOD]  # reference added for ratios
    for r in report["pairs"]:
        assert len(r["ms_runs"]) == 2 and r["ms_median"] == np.median(r["ms_runs"])
        assert r["ms_min"] == min(r["ms_runs"]) and r["ms_max"] == max(r["ms_runs"])
        assert "contended" not in r
        assert r["traced_peak_mib"] > 0 and r["cuda_peak_mib"] is None
    ref = next(r for r in report["pairs"] if r["method"] == REFERENCE_METHOD)
    assert ref["ratio_to_laplacian"] == 1.0
    assert report["volume"] is None and report["environment"]["torch_threads"] == 1
    assert len(lines) == 3
    assert len(report["environment"]["load_before"]) == 3  # Linux
    table = format_table(report)
    assert "pixel-sf" in table and "32x32" in table and "× laplacian" in table
    assert "load average" in table and "busy" not in table


def test_contention_times_every_pair_again_beside_busy_processes():
    from brainfuse.bench.contention import busy_processes

    def states(pids):
        out = []
        for pid in pids:
            with open(f"/proc/{pid}/stat") as fh:
                out.append(fh.read().split()[2])
        return out

    with busy_processes(2, 1, settle_s=0.2) as busy:
        pids = busy.pids
        assert len(pids) == 2 and set(states(pids)) <= set("RS")  # they run
        busy.pause()
        assert states(pids) == ["T", "T"]  # stopped for the quiet runs
        busy.resume()
        assert set(states(pids)) <= set("RS")
        busy.pause()  # stopped processes are still ended at the block's end
    for pid in pids:  # and are gone afterwards
        assert not os.path.exists(f"/proc/{pid}")  # terminated and reaped
    report = run_benchmark(
        sizes=[32],
        methods=["average"],
        device="cpu",
        threads=1,
        repeat=2,
        volume_slices=0,
        contention=1,
    )
    for r in report["pairs"]:
        c = r["contended"]
        assert len(c["ms_runs"]) == 2 and r["slowdown"] == c["ms_median"] / r["ms_median"]
    assert report["settings"]["contention"] == 1 and report["environment"]["load_contended"]
    assert "beside 1 busy process" in format_table(report)


@pytest.mark.slow
def test_end_to_end_row_fuses_a_volume_in_a_child_process(tmp_path):
    from brainfuse.bench.endtoend import time_fuse_command, volume_pair

    ct, mri = volume_pair((12, 48, 48), tmp_path)
    assert volume_pair((12, 48, 48), tmp_path) == (ct, mri)  # made once, reused
    row = time_fuse_command(ct, mri, threads=1)
    assert row["returncode"] == 0, row["stderr_tail"]
    assert row["seconds"] > 0 and 50 < row["peak_rss_mib"] < 4096 and row["cpu_seconds"] > 0


def test_bench_command_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(
        [
            "bench",
            "--size",
            "32",
            "--repeat",
            "1",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--volume-slices",
            "3",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "cnn" in printed and "slices/s" in printed
    report = json.loads(out.read_text())
    assert {"environment", "settings", "pairs", "volume", "max_rss_mib"} <= set(report)
    env = report["environment"]
    assert {"torch", "device", "torch_threads", "numpy", "cpu_count"} <= set(env)
    assert {r["method"] for r in report["pairs"]} == {"cnn", "average", "laplacian", "pixel-sf"}
    assert report["volume"]["shape"] == [3, 256, 256] and report["volume"]["slices_per_s"] > 0


def test_bench_command_rejects_bad_options(capsys):
    assert main(["bench", "--size", "8"]) == 2
    assert main(["bench", "--method", "magic"]) == 2
    assert main(["bench", "--volume", "300x512"]) == 2
    with pytest.raises(SystemExit):
        main(["bench", "--threads", "0"])
    assert "magic" in capsys.readouterr().err


def test_volume_pair_with_an_int16_mri_is_the_same_head_in_12_bit_values(tmp_path):
    import nibabel as nib

    from brainfuse.bench.endtoend import volume_pair

    _, mri8 = volume_pair((12, 48, 48), tmp_path / "u8")
    ct16, mri16 = volume_pair((12, 48, 48), tmp_path / "i16", mri_dtype="int16")
    a8, a16 = (nib.load(p) for p in (mri8, mri16))
    assert a8.get_data_dtype() == np.uint8 and a16.get_data_dtype() == np.int16
    v8, v16 = (np.asarray(a.dataobj, np.float64) for a in (a8, a16))
    assert 2000 < v16.max() <= 4080 and np.abs(v16 - 16 * v8).max() <= 8  # rounding only
    assert nib.load(ct16).get_data_dtype() == np.int16
    with pytest.raises(ValueError, match="mri_dtype"):
        volume_pair((12, 48, 48), tmp_path / "x", mri_dtype="float64")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--first-slice", "10x10"], "--first-slice expects ZxYxX"),
        (["--first-slice", "8x512x512"], "--first-slice: every side must be ≥ 16"),
        (["--volume", "300x512"], "--volume expects ZxYxX"),
    ],
)
def test_bad_bench_shapes_are_one_line_and_exit_2(argv, said, capsys):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1
