"""Encoding on several CPU threads at once (brainfuse.fusion.parallel)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from brainfuse.fusion import Fuser, FusionSettings
from brainfuse.fusion.parallel import map_images
from tests.fusion.conftest import textured


def test_results_come_back_in_order_from_several_threads():
    seen: set[str] = set()
    barrier = threading.Barrier(2, timeout=10)

    def work(i: int) -> int:
        seen.add(threading.current_thread().name)
        if i < 2:
            barrier.wait()  # the first two items are only done if two threads run at once
        assert torch.is_inference_mode_enabled()
        return i * i

    assert map_images(work, list(range(6)), workers=2) == [0, 1, 4, 9, 16, 25]
    assert len(seen) == 2 and all(n.startswith("brainfuse-encoder") for n in seen)


def test_one_worker_runs_in_the_calling_thread():
    names = map_images(lambda _: threading.current_thread().name, [0, 1], workers=1)
    assert names == [threading.current_thread().name] * 2


def test_an_error_in_one_item_is_raised_after_all_items_finished():
    finished = []

    def work(i: int) -> int:
        if i == 0:
            raise ValueError("bad slice")
        finished.append(i)
        return i

    with pytest.raises(ValueError, match="bad slice"):
        map_images(work, [0, 1, 2, 3], workers=2)
    assert sorted(finished) == [1, 2, 3]


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_activity_is_the_same_on_one_or_two_threads(precision):
    # each image is encoded on its own whatever the thread count, so the numbers (and the
    # files a fusion writes) do not depend on the machine's load (bfloat16 kernels would
    # round a batched convolution differently)
    a = np.stack([textured(seed=s) for s in (1, 2, 3)])
    b = np.stack([textured(seed=s) for s in (4, 5, 6)])
    settings = FusionSettings(precision=precision)
    one = Fuser("cnn", threads=1, settings=settings)
    two = Fuser("cnn", threads=2, settings=settings)
    assert (one.workers, two.workers) == (1, 2) and torch.get_num_threads() == 1
    for x, y in zip(one.activity(a, b), two.activity(a, b), strict=True):
        np.testing.assert_array_equal(x, y)


def test_encoder_factor_brings_large_slices_to_the_training_size():
    from brainfuse.errors import BrainFuseError
    from brainfuse.fusion.settings import encoder_factor

    assert encoder_factor((256, 256), 256) == 1
    assert encoder_factor((300, 512, 512), 256) == 2
    assert encoder_factor((1024, 800), 256) == 3
    assert encoder_factor((512, 512), 0) == 1  # 0: every slice at its own size
    with pytest.raises(BrainFuseError, match="encoder size"):
        FusionSettings(encoder_size=16)


def test_a_512_slice_gets_the_map_of_its_256_original():
    a, b = textured((128, 128), seed=7), textured((128, 128), seed=8)
    a[:, :64] = np.clip(a[:, :64] * 0.2 + 0.4, 0, 1)  # image 1 flat on the left half
    b[:, 64:] = np.clip(b[:, 64:] * 0.2 + 0.4, 0, 1)  # image 2 flat on the right half
    small = Fuser("cnn", settings=FusionSettings(rule="sesf", encoder_size=128)).fuse(a, b)
    big_a, big_b = (np.kron(x, np.ones((2, 2), np.float32)) for x in (a, b))
    settings = FusionSettings(rule="sesf", encoder_size=128)
    big = Fuser("cnn", settings=settings).fuse(big_a, big_b)
    expected = np.kron(small.decision_map, np.ones((2, 2), np.uint8))
    assert small.decision_map[:, 80:].mean() > 0.9 and small.decision_map[:, :48].mean() < 0.1
    assert (big.decision_map == expected).mean() > 0.97


def test_bfloat16_convolutions_keep_the_activity_and_the_map():
    from brainfuse.fusion.inference import bfloat16_supported

    a = np.stack([textured(seed=s) for s in (1, 2)])
    b = np.stack([textured(seed=s) for s in (4, 5)])
    exact = Fuser("cnn", threads=1, settings=FusionSettings(precision="float32"))
    fast = Fuser("cnn", threads=1, settings=FusionSettings(precision="bfloat16"))
    assert "bfloat16" in fast.device and "bfloat16" not in exact.device
    auto = Fuser("cnn", threads=1)
    assert ("bfloat16" in auto.device) == bfloat16_supported(torch.device("cpu"))
    for x, y in zip(exact.activity(a, b), fast.activity(a, b), strict=True):
        rel = np.abs(y - x) / (np.abs(x) + 1e-6)
        assert np.median(rel[x > 1e-3 * x.max()]) < 0.02
    maps = [f.fuse(a, b).decision_map for f in (exact, fast)]
    assert (maps[0] == maps[1]).mean() > 0.99


def test_the_caller_works_while_the_images_are_encoded():
    from brainfuse.fusion.parallel import submit_images

    started = threading.Event()

    def work(i: int) -> int:
        started.set()
        return i + 1

    gather = submit_images(work, [1, 2, 3], workers=2)
    assert started.wait(10)  # the workers run before anyone waits for them
    assert gather() == [2, 3, 4]


def test_regions_found_during_encoding_give_the_same_maps():
    from brainfuse.fusion.anatomy import anatomy_regions, slice_maps

    ct, mr = textured((96, 96), seed=11), textured((96, 96), seed=12)
    yy, xx = np.mgrid[:96, :96]
    ring = np.abs(np.hypot(yy - 48, xx - 48) - 36) < 4  # a skull ring
    ct[ring] = 1.0
    fuser = Fuser("cnn", threads=2)
    s = fuser.settings
    a1, a2 = fuser.activity(ct[None], mr[None], stages=s.encoder_stages("anatomy"))
    regions = anatomy_regions(ring, ct, mr, s)
    assert regions.brain[48, 48] and not regions.brain[ring].any()
    assert regions.from_ct[ring].all() and regions.edges1 is not None
    before = slice_maps(a1[0], a2[0], ct, mr, ring, s)
    during = slice_maps(a1[0], a2[0], ct, mr, ring, s, regions=regions)
    for x, y in zip(before, during, strict=True):
        np.testing.assert_array_equal(x, y)
    fused = fuser.fuse(ct, mr, bone=ring)  # the fuser finds the regions while encoding
    np.testing.assert_array_equal(fused.decision_map, before[0])


def test_a_batch_beside_busy_threads_is_encoded_by_the_calling_thread(monkeypatch):
    from brainfuse._runtime import threads
    from brainfuse.fusion import fuser as fuser_module

    ct, mr = textured((64, 64), seed=3), textured((64, 64), seed=4)
    fuser = Fuser("cnn", threads=2)
    seen = []
    real = fuser_module.submit_images

    def spy(func, items, workers, **kw):
        seen.append((len(items), workers))
        return real(func, items, workers, **kw)

    monkeypatch.setattr(fuser_module, "submit_images", spy)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "runnable_elsewhere", lambda: 0)
    quiet = fuser.fuse(ct, mr)
    monkeypatch.setattr(threads, "runnable_elsewhere", lambda: 1)
    busy = fuser.fuse(ct, mr)
    assert seen == [(2, 2), (2, 1)]  # one image per worker; then both here, one by one
    np.testing.assert_array_equal(busy.decision_map, quiet.decision_map)
    np.testing.assert_array_equal(busy.fused, quiet.fused)  # the same numbers, bit for bit
