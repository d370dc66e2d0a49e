"""Several images through the encoder at once: one single-threaded torch call per CPU worker.

Why not torch's own threads: one 256 x 256 image is about 40 small operations (0.1-3 ms
each), and every one of them is an OpenMP parallel region with a barrier at its end. On the
2-core development VM two OpenMP threads made a CT-MRI pair only 1.3x faster than one thread
(the barriers and, with the passive wait policy, the wake-ups cost the rest), and beside
other busy processes a barrier waits for whichever thread the scheduler has parked: a 48 ms
pair took 100-270 ms beside two other jobs. Here torch runs single-threaded
(``torch.set_num_threads(1)``, set where the device is chosen) and each worker thread encodes
whole images on its own, with no barrier between them: the same pair took 56 ms in that
minute. torch releases the GIL inside each operation, so the workers really run in parallel;
the images are handed out one at a time, so a worker that gets less CPU simply takes fewer.

The workers are long-lived (one pool per process and worker count): a fresh thread per
fusion would get a fresh glibc malloc arena each time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

import torch

from brainfuse._runtime.threads import background_thread

__all__ = ["map_images", "submit_background", "submit_images"]

T = TypeVar("T")
R = TypeVar("R")

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """Return the process's pool of ``workers`` encoder threads (created on first use)."""
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(workers, thread_name_prefix="brainfuse-encoder")
            _pools[workers] = pool
        return pool


def submit_background(func: Callable[[], R]) -> Future[R]:
    """Start ``func()`` on the process's one background thread (made on first use).

    A volume's fusion finds the next batch's ``anatomy`` regions there while the calling
    thread decides the current batch (:meth:`brainfuse.fusion.Fuser.slices`): NumPy and
    SciPy let go of the GIL in the regions' labelling and morphology (two threads find them
    1.97x as fast as one on the 512 x 512 bench volume), and beside the encoder's threads
    the calling thread was the volume's bottleneck.
    """
    return background_thread("regions").submit(func)


def _in_inference_mode(func: Callable[[T], R], item: T) -> R:
    with torch.inference_mode():  # thread-local: entered in the worker itself
        return func(item)


def submit_images(
    func: Callable[[T], R], items: Sequence[T], workers: int, *, ahead: bool = False
) -> Callable[[], list[R]]:
    """Start ``[func(item) for item in items]`` on up to ``workers`` threads; return a gatherer.

    The calling thread is free until it calls the returned function, which waits for every
    item and returns the results in the order of ``items`` (raising the first exception of
    ``func`` after all items have finished). With one worker (or one item) the items are
    computed here, at once, unless ``ahead`` (work started early, for later: then on one
    worker thread).
    """
    if not ahead and (workers <= 1 or len(items) <= 1):
        results = [_in_inference_mode(func, item) for item in items]
        return lambda: results
    pool = _pool(max(workers, 1))
    futures = [pool.submit(_in_inference_mode, func, item) for item in items]

    def gather() -> list[R]:
        wait(futures)  # all done before any error is raised: no worker left writing
        return [f.result() for f in futures]

    return gather


def map_images(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """Return ``[func(item) for item in items]``, computed by up to ``workers`` threads.

    Parameters
    ----------
    func : callable
        Runs torch operations on one item (under :func:`torch.inference_mode`).
    items : sequence
        Work items, e.g. one image each; handed out in order, one at a time.
    workers : int
        Threads to use; 1 (or a single item) runs in the calling thread.

    Returns
    -------
    list
        The results in the order of ``items``. The first exception raised by ``func`` is
        raised here, after every item has finished.
    """
    return submit_images(func, items, workers)()
