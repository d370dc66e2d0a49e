"""Issue 17, acceptance 4: the window fuses 1000 slices in a row through its own workers
(offscreen) and its resident memory does not grow: after the 1000th slice it is within 5 % of
what it was after the first 100.

The 1000 slices are ten full fusions of a 100-slice crop of the demo pair, each started the
way a person starts one: Fusion > Rule switched between ``anatomy`` and ``sesf`` makes the
window fuse again (slice on screen first, then the rest in the background worker), with the
slice on screen moving between rounds. (A new CT window no longer re-runs the encoder: it only
recomposes the fused image.) The session runs in a fresh interpreter (``python -m
tests.gui.test_window_memory``), so that what is measured is the window's own memory, not
what earlier tests of the same pytest process left in its heap. Run with ``-s`` to see the
two numbers.

The window's worker threads share one malloc arena (:mod:`brainfuse._runtime.heap`): with an
arena per thread, one session in three to six stepped up by 35-40 MiB (the free top of a
thread's arena, which ``malloc_trim`` does not return), and this test had to allow a retry.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import crop

pytestmark = pytest.mark.slow


def _rss_mib() -> float:
    """Resident memory of this process, MiB (Linux ``/proc``), after a collection and with the
    heap's free pages given back (as the window does after each fusion), so both readings
    count live memory only."""
    from brainfuse._runtime.heap import return_free_memory

    gc.collect()
    return_free_memory()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS line in /proc/self/status")


def fuse_a_thousand_slices() -> tuple[float, float]:
    """Resident memory (MiB) after the first 100 and after 1000 slices fused in the window."""
    from brainfuse.gui.viewer import Viewer
    from brainfuse.io import demo_pair

    ct, mri = demo_pair()
    pair = crop(ct, 10, 110), crop(mri, 10, 110)
    from brainfuse.pipeline.fusers import fuser_for

    viewer = Viewer(show=False)
    ws = viewer.workspace
    # Both rules' engines are loaded before the first measurement (the window keeps one per
    # rule), so loading the second one is not counted as growth of the session.
    for rule in ("anatomy", "sesf"):
        fuser_for(viewer.window.settings.device(), rule)
    fused_slices = []
    ws.fusion_changed.connect(lambda k: k is not None and fused_slices.append(k))
    try:
        viewer.open_pair(*pair)
        viewer.wait(timeout=600)
        assert len(fused_slices) == 100 and ws.is_fused()
        after_100 = _rss_mib()
        for round_ in range(1, 10):
            viewer.slice_index = 10 * round_  # the slice on screen is fused first
            rule = "sesf" if round_ % 2 else "anatomy"
            viewer.window.controller.set_rule(rule)  # what Fusion > Rule does
            viewer.wait(timeout=600)
            assert ws.is_fused() and ws.fusion.rule == rule
        assert len(fused_slices) == 1000
        after_1000 = _rss_mib()
    finally:
        viewer.close()
    return after_100, after_1000


@pytest.mark.skipif(
    not Path("/proc/self/status").is_file(), reason="resident memory is read from Linux /proc"
)
def test_a_thousand_slices_fused_in_a_row_keep_resident_memory_flat(capsys):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.gui.test_window_memory"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    after_100, after_1000 = (float(v) for v in done.stdout.split()[-2:])
    change = (after_1000 - after_100) / after_100
    with capsys.disabled():
        print(
            f"\nresident memory: {after_100:.1f} MiB after 100 slices, "
            f"{after_1000:.1f} MiB after 1000 ({100 * change:+.2f} %)"
        )
    assert abs(change) < 0.05, (after_100, after_1000)


if __name__ == "__main__":
    print(*fuse_a_thousand_slices())
