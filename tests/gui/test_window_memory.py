"""Issue 17, acceptance 4: the window fuses 1000 slices in a row through its own workers
(offscreen) and its resident memory does not grow: after the 1000th slice it is within 5 % of
what it was after the first 100.

The 1000 slices are ten full fusions of a 100-slice crop of the demo pair, each started the
way a person starts one: a new CT window on screen makes the window fuse again (debounced,
slice on screen first, then the rest in the background worker), with the slice on screen
moving between rounds. Run with ``-s`` to see the two numbers.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from brainfuse.intensity import Window

from .conftest import crop

pytestmark = pytest.mark.slow


def _rss_mib() -> float:
    """Resident memory of this process, MiB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    pytest.skip("no /proc/self/status: resident memory cannot be read here")


def test_a_thousand_slices_fused_in_a_row_keep_resident_memory_flat(demo, capsys):
    from brainfuse.gui.viewer import Viewer

    ct, mri = demo
    pair = crop(ct, 10, 110), crop(mri, 10, 110)
    viewer = Viewer(show=False)
    ws = viewer.workspace
    fused_slices = []
    ws.fusion_changed.connect(lambda k: k is not None and fused_slices.append(k))
    try:
        viewer.open_pair(*pair)
        viewer.wait(timeout=600)
        assert len(fused_slices) == 100 and ws.is_fused()
        gc.collect()
        after_100 = _rss_mib()
        for round_ in range(1, 10):
            viewer.slice_index = 10 * round_  # the slice on screen is fused first
            ws.set_ct_window(Window(40.0 + round_, 80.0))  # what a window drag does
            viewer.wait(timeout=600)
            assert ws.is_fused() and ws.fusion.prepared.windows["ct"].center == 40.0 + round_
        assert len(fused_slices) == 1000
        gc.collect()
        after_1000 = _rss_mib()
    finally:
        viewer.close()
    change = (after_1000 - after_100) / after_100
    with capsys.disabled():
        print(
            f"\nresident memory: {after_100:.1f} MiB after 100 slices, "
            f"{after_1000:.1f} MiB after 1000 ({100 * change:+.2f} %)"
        )
    assert abs(change) < 0.05, (after_100, after_1000)
