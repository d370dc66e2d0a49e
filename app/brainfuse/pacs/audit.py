"""A local audit log of PACS work: one JSON line per query, retrieve and send.

Each line holds the time (UTC, ISO 8601), the node's name, the action (``query``,
``retrieve``, ``send``), the Study Instance UID(s) concerned, the number of instances (or of
studies found, for a query) and the outcome (``ok``, ``partial``, ``failed``, ``cancelled``).
No patient names, IDs, search keys, file paths or error texts are written: UIDs and counts
are what an auditor needs to find the transfer again on the PACS side.

The log is ``pacs-audit.jsonl`` in the user's state folder (``$BRAINFUSE_STATE_DIR``, else
``platformdirs.user_state_dir("brainfuse")``); the folder is made 0700 and the file 0600.
:class:`AuditedClient` wraps any :class:`~brainfuse.pacs.model.PacsClient`
(:func:`brainfuse.pacs.connect` returns one), so the CLI and the window log the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brainfuse.errors import CancelledError
from brainfuse.pacs.model import PacsClient, Query, SendResult, StudyInfo

__all__ = ["AUDIT_FILE", "STATE_ENV", "AuditedClient", "audit_path", "record"]

log = logging.getLogger(__name__)

#: Environment variable that overrides the state folder (the tests use a temporary one).
STATE_ENV = "BRAINFUSE_STATE_DIR"
AUDIT_FILE = "pacs-audit.jsonl"
_lock = threading.Lock()


def audit_path() -> Path:
    """Return the audit log's path (its folder is created 0700 when first written)."""
    override = os.environ.get(STATE_ENV)
    if override:
        return Path(override).expanduser() / AUDIT_FILE
    from platformdirs import user_state_dir

    return Path(user_state_dir("brainfuse", appauthor=False)) / AUDIT_FILE


def record(node: str, action: str, study: str | list[str], count: int, outcome: str) -> None:
    """Append one line; a log that cannot be written is reported at WARNING, never raised."""
    line = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "node": node,
        "action": action,
        "study": study,
        "count": count,
        "outcome": outcome,
    }
    path = audit_path()
    try:
        with _lock:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
    except OSError as exc:
        log.warning("could not write the PACS audit log %s: %s", path, exc)


def _outcome(exc: BaseException) -> str:
    return "cancelled" if isinstance(exc, CancelledError) else "failed"


def _studies_of(files: Sequence[Path]) -> list[str]:
    import pydicom

    found: list[str] = []
    for path in files:
        try:
            uid = str(pydicom.dcmread(path, stop_before_pixels=True).get("StudyInstanceUID", ""))
        except Exception:  # not DICOM: the client reports it; the log has no study for it
            continue
        if uid and uid not in found:
            found.append(uid)
    return found


class AuditedClient:
    """A :class:`PacsClient` that logs each query, retrieve and send of ``inner``.

    Parameters
    ----------
    inner : PacsClient
        The protocol client doing the work.
    node_name : str
        Written in each line.
    """

    def __init__(self, inner: PacsClient, node_name: str):
        self.inner = inner
        self.node_name = node_name

    def __getattr__(self, name: str) -> Any:
        """Everything not audited (``echo``, ``retrieve``, ``node``) is the inner client's.

        A retrieve is logged by :func:`brainfuse.pacs.get`, which knows its whole outcome;
        an echo moves no patient data.
        """
        return getattr(self.inner, name)

    def find(self, query: Query) -> list[StudyInfo]:
        """Search, and log the study count found."""
        try:
            found = self.inner.find(query)
        except BaseException as exc:
            record(self.node_name, "query", query.study_uid, 0, _outcome(exc))
            raise
        record(self.node_name, "query", query.study_uid, len(found), "ok")
        return found

    def send(self, files: Sequence[Path], **options: Any) -> list[SendResult]:
        """Send, and log the studies sent and the instance count stored."""
        studies = _studies_of([Path(f) for f in files])
        study: str | list[str] = studies[0] if len(studies) == 1 else studies
        try:
            results = self.inner.send(files, **options)
        except BaseException as exc:
            record(self.node_name, "send", study, 0, _outcome(exc))
            raise
        ok = sum(r.ok for r in results)
        outcome = "ok" if ok == len(results) else ("partial" if ok else "failed")
        record(self.node_name, "send", study, ok, outcome)
        return results
