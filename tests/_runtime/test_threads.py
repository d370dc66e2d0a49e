"""Thread choice and the OpenMP wait policy (brainfuse._runtime.threads)."""

from __future__ import annotations

import os
import subprocess
import sys

from brainfuse._runtime import threads


def test_thread_count_follows_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    assert threads.choose_threads(load=0.2) == 4  # quiet: every core
    assert threads.choose_threads(load=2.5) == 3  # two cores taken: the free two plus one
    assert threads.choose_threads(load=9.0) == 1  # saturated: one thread
    assert threads.choose_threads(3, load=9.0) == 3  # --threads wins
    monkeypatch.setattr(threads, "usable_cores", lambda: 64)
    assert threads.choose_threads(load=0.0) == threads.MAX_THREADS


def _policy_in_child(env_value: str | None, torch_first: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != threads.WAIT_ENV}
    if env_value is not None:
        env[threads.WAIT_ENV] = env_value
    code = (
        ("import torch\n" if torch_first else "") + "import os\nfrom brainfuse.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "from brainfuse.fusion.device import choose_device\n"
        "print(os.environ.get('OMP_WAIT_POLICY'), '|', choose_device('cpu', 2).description)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]  # after main's --version line


def test_the_command_sets_passive_wait_before_torch_and_shows_it_with_the_device():
    assert _policy_in_child(None, False) == "PASSIVE | CPU (2 threads, one image each)"
    # the user's own value is kept
    assert _policy_in_child("ACTIVE", False) == "ACTIVE | CPU (2 threads, one image each)"
    # too late once torch is loaded: nothing is set
    assert _policy_in_child(None, True) == "None | CPU (2 threads, one image each)"


def test_workers_for_a_batch_leave_the_cores_other_threads_hold(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    assert threads.workers_now(2, others=0) == 2  # quiet: both
    assert threads.workers_now(2, others=1) == 1  # one core taken: the calling thread alone
    assert threads.workers_now(2, others=5) == 1
    assert threads.workers_now(1, others=0) == 1  # a GPU or --threads 1 stays as it is
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    assert threads.workers_now(4, others=5) == 3
    monkeypatch.setattr(threads, "runnable_elsewhere", lambda: None)  # not Linux: unknown
    assert threads.workers_now(4) == 4


def test_a_busy_process_counts_as_runnable_elsewhere():
    if not sys.platform.startswith("linux"):
        assert threads.runnable_elsewhere() is None
        return
    from brainfuse.bench.contention import busy_processes

    with busy_processes(1) as busy:  # a spin loop: runnable every moment it lives
        assert busy.pids
        assert (threads.runnable_elsewhere() or 0) >= 1


def test_this_process_own_busy_threads_are_not_counted_elsewhere():
    """The fusion's own worker threads are ours: counted here, taken off the machine's count."""
    if not sys.platform.startswith("linux"):
        return
    import hashlib
    import threading

    stop = threading.Event()
    block = bytes(1 << 22)

    def hash_until_stopped() -> None:  # hashlib lets go of the GIL: runnable, not waiting
        while not stop.is_set():
            hashlib.sha256(block).digest()

    worker = threading.Thread(target=hash_until_stopped)
    worker.start()
    try:
        here = max(threads._runnable_here() for _ in range(200))
    finally:
        stop.set()
        worker.join()
    assert here >= 2  # the caller and the hashing thread
    assert threads._runnable_here() >= 1


def test_a_fuser_may_use_every_core_whatever_the_load_when_it_is_made(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    monkeypatch.setattr(threads, "_load", lambda: 9.0)  # busy when the window opened
    assert threads.choose_threads() == 1  # torch's own threads (training) follow the load
    assert threads.fusion_threads() == 4  # the fuser's most; each batch takes what is free
    assert threads.fusion_threads(3) == 3
    monkeypatch.setattr(threads, "usable_cores", lambda: 64)
    assert threads.fusion_threads() == threads.MAX_THREADS
