"""Every hostile-file family through the real CLI (issue 17, acceptance 1).

For each case of :data:`tests.hostile.factory.CASES`, ``brainfuse info`` and ``brainfuse
fuse`` (with a valid partner) either refuse it - exit 2, exactly one stderr line
``brainfuse: error: ...`` naming the problem, no output written - or, for a valid but odd
file, succeed with at most one warning line. No input file changes in either case.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pytest

from brainfuse.cli import main
from brainfuse.io import load
from tests.hostile.factory import CASES, partner, snapshot, stderr_lines

LOCAL = [c for c in CASES if c.family != "permission"]


def _make(case, tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(17)
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = case.write(inputs, rng)
    return path, partner(case.partner, inputs / "partner", rng, path)


def _check_refusal(case, status: int, out: str, err: str) -> None:
    lines = stderr_lines(err)
    assert status == 2, (case.id, out, err)
    assert len(lines) == 1 and lines[0].startswith("brainfuse: error: "), (case.id, err)
    assert case.expect in lines[0], (case.id, lines[0])
    assert "Traceback" not in err


@pytest.mark.parametrize("case", LOCAL, ids=[c.id for c in LOCAL])
def test_info(case, tmp_path, capfd):
    path, _ = _make(case, tmp_path)
    before = snapshot(tmp_path)
    status = main(["info", str(path)])
    out, err = capfd.readouterr()
    assert snapshot(tmp_path) == before, "an input changed or a file was written"
    if case.outcome == "refuse":
        assert out == ""
        _check_refusal(case, status, out, err)
        return
    assert status == 0, (case.id, err)
    assert stderr_lines(err) == [], (case.id, err)  # info reports warnings in its own field
    warning_field = [line for line in out.splitlines() if line.strip().startswith("warnings")]
    assert len(warning_field) == 1
    assert case.expect in warning_field[0], (case.id, warning_field)


@pytest.mark.parametrize("case", LOCAL, ids=[c.id for c in LOCAL])
def test_fuse(case, tmp_path, capfd):
    path, other = _make(case, tmp_path)
    before = snapshot(tmp_path / "in")
    target = tmp_path / "out" / "fused.nii.gz"
    target.parent.mkdir()
    status = main(["fuse", str(path), str(other), "-o", str(target), *case.fuse_args])
    out, err = capfd.readouterr()
    assert snapshot(tmp_path / "in") == before, "an input changed"
    if case.outcome == "refuse":
        _check_refusal(case, status, out, err)
        assert list(target.parent.iterdir()) == [], "output written on failure"
        return
    assert status == 0, (case.id, err)
    warnings = stderr_lines(err)
    assert len(warnings) <= 1 and all(w.startswith("warning: ") for w in warnings), err
    assert case.expect in (warnings[0] if warnings else ""), (case.id, err)
    fused = load(target)
    partner_volume = load(other)
    assert fused.shape == partner_volume.shape  # on the MRI's grid (the default reference)
    lo, hi = fused.value_range()
    assert np.isfinite([lo, hi]).all() and hi > lo  # a real image, not a blank or NaN


def _run_as_reader(args: list[str]) -> tuple[int, str, str]:
    """Run the CLI in a forked child as a user the permission bits apply to.

    Root ignores permission bits, so under root the child drops to ``nobody`` (65534)
    after the fork: the interpreter and BrainFuse are already loaded, so nothing needs
    to be readable by that user but the test's own files. Returns (status, out, err).
    """
    names = []
    for _ in range(2):
        fd, name = tempfile.mkstemp()
        os.close(fd)
        os.chmod(name, 0o666)
        names.append(name)
    out_name, err_name = names
    pid = os.fork()
    if pid == 0:  # child
        status = 70
        with open(out_name, "w") as out, open(err_name, "w") as err:
            try:
                sys.stdout, sys.stderr = out, err
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                status = main(args)
            except BaseException:
                traceback.print_exc(file=err)
            finally:
                out.flush()
                err.flush()
                os._exit(status)
    _, code = os.waitpid(pid, 0)
    texts = [Path(name).read_text() for name in names]
    for name in names:
        os.unlink(name)
    return os.waitstatus_to_exitcode(code), texts[0], texts[1]


PERMISSION = [c for c in CASES if c.family == "permission"]


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """Run info and fuse once in this process, so a forked child needs no further imports
    (under root it runs as ``nobody``, who cannot read the interpreter's library)."""
    folder = tmp_path_factory.mktemp("warm")
    rng = np.random.default_rng(0)
    mr = partner("nifti", folder, rng, folder)
    assert main(["info", str(mr)]) == 0
    assert main(["fuse", str(mr), str(mr), "-o", str(folder / "warm.nii.gz")]) == 0
    assert main(["info", str(folder / "missing.dcm")]) == 2


@pytest.mark.parametrize("case", PERMISSION, ids=[c.id for c in PERMISSION])
def test_permission_denied(case, warm):
    root = Path(tempfile.mkdtemp(prefix="brainfuse-perm-"))
    try:
        root.chmod(0o755)
        path, other = _make(case, root)
        out = root / "out"
        out.mkdir()
        out.chmod(0o777)
        _check_refusal(case, *_run_as_reader(["info", str(path)]))
        _check_refusal(
            case, *_run_as_reader(["fuse", str(path), str(other), "-o", str(out / "f.nii.gz")])
        )
        assert list(out.iterdir()) == []
    finally:
        for p in [root, *root.rglob("*")]:
            p.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)
