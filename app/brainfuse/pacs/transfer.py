"""Retrieve into a folder all or nothing; send files and folders.

:func:`get` asks the PACS what the study (or series) holds, receives it into a hidden
temporary folder beside the output (:func:`brainfuse.export.atomic.folder_atomic`), checks
that every image announced arrived, arranges the files, and only then renames the folder to
its final name. A cancel, a timeout or a PACS that stops half-way leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from brainfuse.errors import CancelledError, PacsError
from brainfuse.pacs.files import collect_files
from brainfuse.pacs.model import PacsClient, ProgressCallback, Query, SendResult, SeriesInfo

__all__ = ["Retrieved", "get", "send"]


@dataclass(frozen=True)
class Retrieved:
    """What :func:`get` wrote.

    Attributes
    ----------
    folder : Path
        The output folder.
    series : dict of str to Path
        Series Instance UID to the folder holding its files (``folder`` itself for one series).
    n_files : int
        Images received.
    """

    folder: Path
    series: dict[str, Path]
    n_files: int


def _series_folder_name(series: SeriesInfo, taken: set[str]) -> str:
    words = [series.number, series.modality, series.description]
    name = re.sub(r"[^A-Za-z0-9.+-]+", "_", "_".join(w for w in words if w)).strip("._")[:60]
    name = name or "series"
    if name in taken:
        name = f"{name}_{series.series_uid[-12:]}"
    taken.add(name)
    return name


def _plan(client: PacsClient, study_uid: str, series_uid: str | None) -> list[SeriesInfo]:
    # The planning search is part of the retrieve: asked of the unaudited client, so the
    # audit log holds one line for the retrieve (written by get).
    studies = getattr(client, "inner", client).find(Query(study_uid=study_uid))
    study = next((s for s in studies if s.study_uid == study_uid), None)
    if study is None:
        raise PacsError(f"study {study_uid} is not on the PACS")
    series = list(study.series)
    if series_uid:
        series = [s for s in series if s.series_uid == series_uid]
        if not series:
            raise PacsError(f"series {series_uid} is not in study {study_uid} on the PACS")
    if not series or all(s.n_instances == 0 for s in series):
        what = f"series {series_uid}" if series_uid else f"study {study_uid}"
        raise PacsError(f"{what} has no images on the PACS")
    return series


def get(
    client: PacsClient,
    study_uid: str,
    out: str | os.PathLike[str],
    *,
    series_uid: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Retrieved:
    """Retrieve a study (one folder per series inside ``out``) or one series (files in ``out``).

    Parameters
    ----------
    client : PacsClient
        From :func:`brainfuse.pacs.connect`.
    study_uid : str
        Study Instance UID.
    out : path
        New (or empty) folder to create.
    series_uid : str, optional
        Only this series; its files land directly in ``out``.
    progress : callable, optional
        ``progress(done, total)`` after each image.
    cancel : threading.Event, optional
        Set it to stop; :class:`~brainfuse.errors.CancelledError` is raised and nothing is kept.

    Returns
    -------
    Retrieved

    Raises
    ------
    PacsError
        Study or series not found, no images, the PACS failed or stopped half-way, or fewer
        images arrived than the PACS announced.
    """
    from brainfuse.pacs.audit import record

    node_name = str(getattr(getattr(client, "node", None), "name", "") or "?")
    try:
        retrieved = _get(client, study_uid, Path(out), series_uid, progress, cancel)
    except BaseException as exc:
        outcome = "cancelled" if isinstance(exc, CancelledError) else "failed"
        record(node_name, "retrieve", study_uid, 0, outcome)
        raise
    record(node_name, "retrieve", study_uid, retrieved.n_files, "ok")
    return retrieved


def _get(
    client: PacsClient,
    study_uid: str,
    target: Path,
    series_uid: str | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Retrieved:
    series = _plan(client, study_uid, series_uid)
    expected = sum(max(s.n_instances, 0) for s in series)
    layout: dict[str, Path] = {}
    made_empty = target.is_dir() and not any(target.iterdir())
    if made_empty:
        target.rmdir()  # an empty folder the user made for it: fill it
    try:
        n = _receive(
            client, study_uid, series, series_uid, target, layout, expected, progress, cancel
        )
    except BaseException:
        if made_empty:
            target.mkdir(exist_ok=True)
        raise
    folder = target.resolve()
    return Retrieved(folder, {uid: folder / rel for uid, rel in layout.items()}, n)


def _receive(
    client: PacsClient,
    study_uid: str,
    series: list[SeriesInfo],
    series_uid: str | None,
    target: Path,
    layout: dict[str, Path],
    expected: int,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> int:
    """Receive ``series`` into a temporary folder renamed to ``target``; fills ``layout``."""
    from brainfuse.export.atomic import folder_atomic

    with folder_atomic(target) as tmp:
        n = client.retrieve(
            study_uid,
            [s.series_uid for s in series],
            tmp,
            expected=expected,
            progress=progress,
            cancel=cancel,
        )
        if n == 0:
            raise PacsError(f"the PACS sent no images for study {study_uid}")
        if expected and n < expected:
            raise PacsError(
                f"the PACS sent {n} of the {expected} images it lists for study {study_uid}; "
                "nothing was kept"
            )
        taken: set[str] = set()
        for s in series:
            received = tmp / s.series_uid
            if not received.is_dir():
                continue
            if series_uid:
                for f in received.iterdir():
                    os.replace(f, tmp / f.name)
                received.rmdir()
                layout[s.series_uid] = Path("")
            else:
                name = _series_folder_name(s, taken)
                os.replace(received, tmp / name)
                layout[s.series_uid] = Path(name)
    return n


def send(
    client: PacsClient,
    paths: list[str | os.PathLike[str]],
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[SendResult]:
    """Send files and folders (walked); one :class:`SendResult` per file, in order."""
    return client.send(collect_files(paths), progress=progress, cancel=cancel)
