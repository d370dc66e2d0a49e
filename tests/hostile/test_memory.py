"""Memory guard (issue 17, acceptance 2): under a 2 GB address-space cap, images whose
headers declare more than fits end in the clean one-line refusal, not a MemoryError or a
killed process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.hostile.factory import _nifti_dims, rle_slice

resource = pytest.importorskip("resource")  # POSIX only

REPO = Path(__file__).resolve().parents[2]
CAP = 2 * 1024**3

_CAPPED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from brainfuse.cli import main
status = main(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"peak-rss-kib {{peak}}", file=sys.stdout)
sys.exit(status)
"""


def _run_capped(*args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "app"), str(REPO)]),
        "OMP_NUM_THREADS": "1",  # each OpenMP thread reserves address space of its own
    }
    env.pop("BRAINFUSE_MEMORY_BUDGET", None)
    return subprocess.run(
        [sys.executable, "-c", _CAPPED.format(cap=CAP), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def big_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    rle = rle_slice(folder / "rle_16384.dcm", 16384, 16384)  # valid, 8 MB on disk
    nifti = _nifti_dims(1, (1200, 1200, 1200), gz=True)(folder, np.random.default_rng(0))
    assert rle.stat().st_size < 10 * 1024**2 and nifti.stat().st_size < 1024
    return {"rle": rle, "nifti": nifti}


@pytest.mark.parametrize("kind", ["rle", "nifti"])
@pytest.mark.parametrize("command", ["info", "fuse"])
def test_declared_size_over_the_cap_is_refused_cleanly(big_inputs, kind, command, tmp_path):
    path = big_inputs[kind]
    args = ["info", str(path)]
    if command == "fuse":
        args = ["fuse", str(path), str(big_inputs["nifti" if kind == "rle" else "rle"])]
        args += ["-o", str(tmp_path / "out.nii.gz")]
    result = _run_capped(*args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("brainfuse: error: "), result.stderr[-3000:]
    assert path.name in lines[0] and "would need about" in lines[0] and "allowed" in lines[0]
    assert not (tmp_path / "out.nii.gz").exists()
    peak_kib = int(result.stdout.split("peak-rss-kib")[1].split()[0])
    assert peak_kib * 1024 < CAP


def test_the_budget_is_configurable(big_inputs, capsys):
    from brainfuse.cli import main

    assert main(["--memory-budget", "64M", "info", str(big_inputs["rle"])]) == 2
    err = capsys.readouterr().err
    assert "more than the 64 MB allowed" in err and err.count("\n") == 1


def test_a_series_is_checked_as_a_whole(tmp_path, capsys):
    from brainfuse.cli import main
    from tests.dicom_factory import write_series

    write_series(tmp_path / "series", np.full((5, 16, 16), 1000, np.uint16))
    # 2 kB per image passes; the five images and their stack (5 kB) do not.
    assert main(["--memory-budget", "3K", "info", str(tmp_path / "series")]) == 2
    err = capsys.readouterr().err
    assert "a series of 5 images of 16×16 pixels" in err and err.count("\n") == 1
    assert main(["--memory-budget", "6K", "info", str(tmp_path / "series")]) == 0
