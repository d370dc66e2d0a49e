"""CPU threads that behave on a shared machine (no torch, no Qt: imported before either).

Two facts decide how torch's threads share a busy workstation. The fusion itself does not
use torch's OpenMP threads (it runs torch single-threaded in several worker threads, one
image each, :mod:`brainfuse.fusion.parallel`), but training and any other torch work do:

* **Wait policy.** By default the OpenMP runtime behind torch (GNU libgomp) lets an idle
  thread spin at a barrier before it sleeps. When another process holds one of the cores,
  the thread that must arrive at the barrier is descheduled while its partner spins on the
  other core, so one slice takes ten times as long beside other jobs
  (``docs/decisions.md``, "OpenMP threads wait passively"). libgomp reads
  ``OMP_WAIT_POLICY`` once, when torch loads it, so :func:`prefer_passive_wait` must run
  before the first ``import torch``: the command's entry point (:func:`brainfuse.cli.main`)
  calls it first; importing :mod:`brainfuse` sets nothing. A value the user set is kept.
* **Thread count.** :func:`choose_threads` (torch's threads for training and other torch
  work) takes the cores this process may run on (``sched_getaffinity``) minus those the
  1-minute load average says are taken, plus one (a thread may share a core: under CFS more
  threads get a larger share, and with passive waits a descheduled thread costs its
  partners little), at least 1, at most 8. A fuser's encoder threads are at most every core
  (:func:`fusion_threads`), and before each batch of images :func:`workers_now` takes fewer
  when other threads are runnable at that moment (the kernel's count, not the 1-minute
  average, which lags a busy process by a minute). Beside one busy process on two cores, two
  encoder threads and the calling thread shared the cores with it and a 256 x 256 pair took
  1.35x its quiet time; the calling thread alone, on the core left free, took 1.02x its own
  (slower) quiet time and less than the two threads did (``models/MODEL_CARD.md``).
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "MAX_THREADS",
    "WAIT_ENV",
    "background_thread",
    "choose_threads",
    "describe_threads",
    "fusion_threads",
    "prefer_passive_wait",
    "runnable_elsewhere",
    "usable_cores",
    "workers_now",
]

WAIT_ENV = "OMP_WAIT_POLICY"
#: More threads than this gain nothing on 256-512 pixel slices (per-op overheads dominate).
MAX_THREADS = 8

_policy: str | None = None  # the policy torch's OpenMP runtime read, when known


def prefer_passive_wait() -> str | None:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it or torch is already loaded.

    Returns
    -------
    str or None
        The policy the OpenMP runtime will use, lower case (``"passive"``, ``"active"``), or
        None when torch was imported before this call without the variable (runtime default).
    """
    global _policy
    if "torch" not in sys.modules:
        os.environ.setdefault(WAIT_ENV, "PASSIVE")
        _policy = os.environ[WAIT_ENV].strip().lower() or None
    elif _policy is None and os.environ.get(WAIT_ENV):
        _policy = os.environ[WAIT_ENV].strip().lower()  # set by the user before torch
    return _policy


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity; ``os.cpu_count()`` elsewhere)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def _load() -> float:
    try:
        return max(os.getloadavg()[0], 0.0)
    except (AttributeError, OSError):
        return 0.0


def choose_threads(requested: int | None = None, *, load: float | None = None) -> int:
    """Threads for torch on the CPU.

    Parameters
    ----------
    requested : int or None
        A user's choice (``--threads``), returned as it is (at least 1).
    load : float or None
        Runnable processes besides this one (default: the 1-minute load average).

    Returns
    -------
    int
        ``requested``, else ``usable_cores() - int(load) + 1`` clipped to
        ``[1, min(usable_cores(), MAX_THREADS)]``.
    """
    if requested is not None:
        return max(int(requested), 1)
    cores = usable_cores()
    busy = _load() if load is None else max(float(load), 0.0)
    return max(1, min(cores - int(busy) + 1, cores, MAX_THREADS))


def fusion_threads(requested: int | None = None) -> int:
    """Return the most encoder threads of a fuser: ``requested``, else every usable core.

    At most :data:`MAX_THREADS`. Not reduced by the load when the fuser is made (a window
    opened while the machine was busy would keep one thread for good): before each batch
    :func:`workers_now` takes the cores free at that moment.
    """
    if requested is not None:
        return max(int(requested), 1)
    return max(1, min(usable_cores(), MAX_THREADS))


def _runnable_here() -> int:
    """Count this process's runnable threads (``/proc/self/task/*/stat`` state ``R``), at least 1.

    The calling thread is one of them; so are the fusion's own encoder, regions and
    deflating threads while they work, which are not "elsewhere".
    """
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as fh:
                state = fh.read().rpartition(b")")[2].split(None, 1)[0]
        except (OSError, IndexError):
            continue
        count += state == b"R"
    return max(count, 1)


def runnable_elsewhere() -> int | None:
    """Count the threads runnable on this machine right now outside this process.

    Linux: the kernel's count of runnable scheduling entities (``/proc/loadavg``, fourth
    field, the number before the slash) less this process's own runnable threads (the
    calling thread among them); None where it cannot be read (other systems).
    """
    try:
        with open("/proc/loadavg") as fh:
            running = int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(running - _runnable_here(), 0)


def workers_now(most: int, *, others: int | None = None) -> int:
    """Choose the encoder threads for the next batch: ``most``, fewer while others run.

    Parameters
    ----------
    most : int
        The fuser's worker threads (:func:`choose_threads`).
    others : int or None
        Threads runnable elsewhere; default :func:`runnable_elsewhere` (None there: unknown,
        ``most`` is used).

    Returns
    -------
    int
        ``usable_cores() - others`` clipped to ``[1, most]``; ``most`` when it is 1 or less.
    """
    if most <= 1:
        return max(most, 1)
    busy = runnable_elsewhere() if others is None else max(int(others), 0)
    if busy is None:
        return most
    return max(1, min(most, usable_cores() - busy))


def describe_threads(n: int, *, per_image: bool = True) -> str:
    """``"2 threads, one image each"``: how the fusion uses the CPU (``fusion/parallel.py``).

    ``per_image=False`` (training: torch splits each operation over its threads) gives
    ``"2 threads"``.
    """
    return f"{n} thread{'s' if n != 1 else ''}" + (
        ", one image each" if per_image and n > 1 else ""
    )


_background: dict[str, ThreadPoolExecutor] = {}
_background_lock = threading.Lock()


def background_thread(name: str) -> ThreadPoolExecutor:
    """Return the process's one worker thread called ``brainfuse-<name>`` (made on first use).

    Long-lived, so that its malloc arena is made once; never made on import. A volume's
    fusion uses ``regions`` (the next batch's anatomy regions,
    :func:`brainfuse.fusion.parallel.submit_background`) and ``deflate`` (the stored weight,
    :class:`brainfuse.pipeline.composed.CompressedWeight`).
    """
    with _background_lock:
        pool = _background.get(name)
        if pool is None:
            pool = _background[name] = ThreadPoolExecutor(1, f"brainfuse-{name}")
        return pool
