"""Busy competing processes for ``brainfuse bench --contention`` (no Qt, no torch).

A radiologist's workstation is never idle, so the benchmark can time the fusion beside
``n`` other CPU-bound processes started here and stopped afterwards:

* ``threads == 1``: a pure-Python spin loop (one core, no memory traffic);
* ``threads > 1``: a NumPy matrix-multiplication loop with OpenBLAS/OpenMP limited to
  ``threads`` threads, the way a typical multi-threaded job (another reconstruction, an
  analysis script) competes for the cores, with its default (spinning) wait policy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

__all__ = ["BusyGroup", "busy_processes"]

_SPIN = "while True:\n    pass\n"
_MATMUL = (
    "import numpy as np\n"
    "a = np.random.default_rng(0).random((384, 384))\n"
    "while True:\n"
    "    a = np.tanh(a @ a.T / 384.0)\n"
)
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _stopped(pid: int) -> bool:
    """Tell whether ``pid`` is stopped (or gone); True where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in "TtZX"
    except (OSError, IndexError):
        return True


class BusyGroup:
    """The running busy processes: their ids, :meth:`pause` and :meth:`resume`.

    Pausing (SIGSTOP) and resuming (SIGCONT) lets quiet and contended runs alternate under
    the same background load.
    """

    def __init__(self, procs: list[subprocess.Popen]):
        self._procs = procs
        self.pids = [p.pid for p in procs]

    def _signal(self, sig: int) -> None:
        for p in self._procs:
            if p.poll() is None:
                os.kill(p.pid, sig)

    def pause(self, timeout_s: float = 1.0) -> None:
        """Stop them and wait (up to ``timeout_s``) until the kernel shows them stopped."""
        if not hasattr(signal, "SIGSTOP"):
            return
        self._signal(signal.SIGSTOP)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not all(map(_stopped, self.pids)):
            time.sleep(0.002)

    def resume(self, settle_s: float = 0.05) -> None:
        """Let them run again and wait ``settle_s`` seconds for the scheduler to place them."""
        if hasattr(signal, "SIGCONT"):
            self._signal(signal.SIGCONT)
        if self._procs:
            time.sleep(settle_s)


@contextlib.contextmanager
def busy_processes(n: int, threads: int = 1, *, settle_s: float = 1.0) -> Iterator[BusyGroup]:
    """Run ``n`` CPU-bound processes of ``threads`` threads each for the ``with`` block.

    Parameters
    ----------
    n : int
        Processes to start (0: none, the block runs as it is).
    threads : int
        Threads per process (1: a spin loop; more: a BLAS loop on that many threads).
    settle_s : float
        Seconds to wait after starting them, so they are running before timing begins.

    Yields
    ------
    BusyGroup
        Their ids, with pause / resume. They are terminated (then killed) when the block
        ends, paused or not.
    """
    procs: list[subprocess.Popen] = []
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)  # an ordinary job: the runtime's default wait
    for var in _THREAD_VARS:
        env[var] = str(max(int(threads), 1))
    code = _SPIN if threads <= 1 else _MATMUL
    try:
        for _ in range(max(int(n), 0)):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", code],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if procs:
            time.sleep(settle_s)
        yield BusyGroup(procs)
    finally:
        for p in procs:
            p.terminate()
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGCONT)  # a stopped process acts on SIGTERM once resumed
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
