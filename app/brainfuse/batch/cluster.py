"""Where a batch runs: a Dask ``LocalCluster`` sized to this machine, or an existing scheduler.

Each worker is a process with one task thread, so it fuses one item at a time and its memory
is bounded by one item's (:data:`WORKER_MEMORY`); the fusion's own CPU threads (``--threads``,
:class:`~brainfuse.fusion.Fuser`) run inside it. :func:`local_size` picks workers × threads
so that together they use the cores once (no oversubscription) and the workers fit in the
available memory. The cluster listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from brainfuse._runtime.threads import usable_cores
from brainfuse.errors import BrainFuseError

__all__ = ["WORKER_MEMORY", "LocalSize", "connect", "local_size", "quiet_dask"]

#: Memory limit of one local worker (bytes). A 512 x 512 x 300 item peaks at about 1.6 GiB in
#: a worker (the volume path's bound, ``models/MODEL_CARD.md``, plus the worker itself);
#: Dask restarts a worker that passes 95 % of it and the item is tried again elsewhere.
WORKER_MEMORY = 3 << 30


@dataclass(frozen=True)
class LocalSize:
    """A local cluster's shape: ``workers`` processes, each fusing with ``threads`` threads."""

    workers: int
    threads: int
    memory: int

    def describe(self) -> str:
        """``2 workers × 1 thread, 3.0 GiB each``."""
        w, t = self.workers, self.threads
        return (
            f"{w} worker{'s' if w != 1 else ''} × {t} thread{'s' if t != 1 else ''}, "
            f"{self.memory / 2**30:.1f} GiB each"
        )


def _available_memory() -> int:
    import psutil  # type: ignore[import-untyped]  # a dependency of distributed; no stubs

    return int(psutil.virtual_memory().available)


def local_size(
    workers: int | None = None,
    threads: int | None = None,
    *,
    cores: int | None = None,
    available: int | None = None,
    memory: int = WORKER_MEMORY,
) -> LocalSize:
    """Workers and threads for this machine.

    Parameters
    ----------
    workers, threads : int or None
        The user's choice (``--workers``, ``--threads``), kept as given.
    cores : int or None
        Cores this process may use (default :func:`~brainfuse._runtime.threads.usable_cores`).
    available : int or None
        Bytes of memory available (default: what the system reports now).
    memory : int
        Memory limit per worker, bytes.

    Returns
    -------
    LocalSize
        By default one worker per core, fewer when the memory does not hold that many
        limits, each with ``cores // workers`` threads (at least 1).
    """
    cores = usable_cores() if cores is None else max(int(cores), 1)
    if workers is None:
        fit = (_available_memory() if available is None else available) // max(memory, 1)
        workers = max(1, min(cores, int(fit)))
    if threads is None:
        threads = max(1, cores // workers)
    return LocalSize(workers, threads, memory)


def quiet_dask(debug: bool) -> None:
    """Keep Dask's log lines (worker restarts, memory notes) off a normal run's terminal.

    Set in the environment, so that the local workers, started as new processes, read it
    too. Must run before :mod:`distributed` is imported.
    """
    if not debug:
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
        os.environ.setdefault("DASK_DISTRIBUTED__LOGGING__DISTRIBUTED", "critical")


@contextlib.contextmanager
def connect(scheduler: str | None, size: LocalSize) -> Iterator[tuple[Any, str]]:
    """Open a Dask client on ``scheduler``, or on a new local cluster of ``size`` (closed after).

    Yields
    ------
    (distributed.Client, str)
        The client and where it runs, in words.

    Raises
    ------
    BrainFuseError
        The scheduler cannot be reached, or the local cluster cannot start.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise BrainFuseError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
        with client:
            n = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            yield client, f"Dask scheduler {scheduler} ({n} workers now)"
        return
    try:
        cluster = LocalCluster(
            n_workers=size.workers,
            threads_per_worker=1,  # one item at a time per worker: its memory is one item's
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:8787",
            memory_limit=size.memory,
        )
    except (OSError, TimeoutError, RuntimeError) as exc:
        raise BrainFuseError(f"cannot start the local Dask cluster: {exc}") from exc
    with cluster, Client(cluster) as client:
        yield client, f"local Dask cluster, {size.describe()}"
