"""The slow robustness run: a few hundred seeded hostile files through ``brainfuse info``
(and a sample through ``brainfuse fuse``). Whatever the file, the CLI ends in exit 0 or 2:
2 with exactly one ``brainfuse: error:`` line, 0 with nothing on stderr (info) or only
warning lines, at most one per input (fuse); never a traceback, a hang or a changed input."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from brainfuse.cli import main
from tests.hostile.corpus import generate
from tests.hostile.factory import partner, snapshot, stderr_lines

pytestmark = pytest.mark.slow
_LIMIT_S = 60  # per run: a hang is a failure


def _alarm(signum, frame):
    raise KeyboardInterrupt  # the CLI answers 130 "interrupted": never mistaken for a pass


def _run(args: list[str], capfd) -> tuple[int, str, str]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(_LIMIT_S)
    try:
        status = main(args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capfd.readouterr()
    return status, out, err


def test_corpus(tmp_path, capfd):
    corpus = list(generate(tmp_path / "corpus", seed=17, per_base=6))
    assert len(corpus) > 250
    mr = partner("nifti", tmp_path / "partner", np.random.default_rng(1), tmp_path)
    before = snapshot(tmp_path / "corpus")
    outcomes = {0: 0, 2: 0}
    failures = []
    for k, (case_id, path) in enumerate(corpus):
        status, _, err = _run(["info", str(path)], capfd)
        lines = stderr_lines(err)
        ok = (status == 2 and len(lines) == 1 and lines[0].startswith("brainfuse: error: ")) or (
            status == 0 and not lines
        )
        if not ok:
            failures.append((case_id, "info", status, err[-500:]))
        outcomes[status] = outcomes.get(status, 0) + 1
        if k % 5:
            continue
        out = tmp_path / "out" / f"{k}.nii.gz"
        out.parent.mkdir(exist_ok=True)
        status, _, err = _run(["fuse", str(path), str(mr), "-o", str(out)], capfd)
        lines = stderr_lines(err)
        if status == 2:
            ok = len(lines) == 1 and lines[0].startswith("brainfuse: error: ") and not out.exists()
        else:
            about_input = [line for line in lines if line.startswith(f"warning: {path.name}")]
            ok = status == 0 and all(line.startswith("warning: ") for line in lines)
            ok = ok and len(about_input) <= 1 and out.exists()
        if not ok:
            failures.append((case_id, "fuse", status, err[-500:]))
    assert snapshot(tmp_path / "corpus") == before, "an input changed"
    assert not failures, failures[:10]
    assert outcomes[2] > 100 and outcomes[0] > 10, outcomes  # the corpus is hostile and varied
