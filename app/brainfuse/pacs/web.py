"""DICOMweb client (dicomweb-client): QIDO-RS search, WADO-RS retrieve, STOW-RS store.

Instances are asked for in the transfer syntax the server stored (``transfer-syntax=*``) so
pixel data come back as they were sent. Every request is bounded by the node's timeout
(connect and read), and HTTP retries are off, so an unreachable server fails at once or
after the timeout, never hangs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from pydicom.dataset import Dataset

from brainfuse.errors import CancelledError, PacsError
from brainfuse.pacs.files import instance_path, read_send_header
from brainfuse.pacs.logs import quiet_library_logs
from brainfuse.pacs.model import ProgressCallback, Query, SendResult, StudyInfo
from brainfuse.pacs.nodes import Node

__all__ = ["DicomWebClient"]

log = logging.getLogger(__name__)

_AS_STORED = (("application/dicom", "*"),)
_STOW_BATCH = 16  # files per STOW-RS request (bounded memory, a result for each file)
_FAILURE_REASON = {
    0xA700: "out of resources",
    0xA900: "data set does not match SOP class",
    0xC000: "cannot understand",
    0x0110: "processing failure",
    0x0122: "SOP class not supported",
    0xA770: "instance already stored differently",
}


class DicomWebClient:
    """A :class:`~brainfuse.pacs.model.PacsClient` over DICOMweb (see the module docstring).

    Parameters
    ----------
    node : Node
        A node with a ``url`` (the DICOMweb root, e.g. ``http://pacs:8042/dicom-web``).
    """

    def __init__(self, node: Node):
        import requests
        from dicomweb_client.api import DICOMwebClient

        self.node = node.validated()
        quiet_library_logs()
        self._client = DICOMwebClient(
            url=node.url.rstrip("/"), session=_session(self.node, requests), timeout=node.timeout
        )
        self._client.set_http_retry_params(retry=False)

    def _where(self) -> str:
        return f"{self.node.name} ({self.node.url})"

    @contextlib.contextmanager
    def _http(self, what: str) -> Iterator[None]:
        """Turn requests' exceptions into one clear :class:`PacsError`."""
        import requests

        try:
            yield
        except requests.exceptions.SSLError as exc:
            from brainfuse.pacs.tls import tls_failure

            raise PacsError(
                tls_failure(exc, self.node, self._where())
                or f"PACS node {self._where()}: the TLS connection failed ({_short(exc)})"
            ) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise PacsError(
                f"PACS node {self._where()} is not reachable: no answer within "
                f"{self.node.timeout:g} s"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            if not self.node.secure and _closed_early(exc):
                raise PacsError(
                    f"PACS node {self._where()} closed the connection without an HTTP answer "
                    "(does it speak HTTPS only? use an https:// URL)"
                ) from exc
            raise PacsError(
                f"PACS node {self._where()} is not reachable ({_short(exc)}; is it running? "
                "check the URL)"
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise PacsError(
                f"PACS node {self._where()} stopped answering during the {what} "
                f"(no answer within {self.node.timeout:g} s)"
            ) from exc
        except requests.exceptions.HTTPError as exc:
            code = exc.response.status_code if exc.response is not None else "?"
            refusal = _http_refusal(self.node, self._where(), exc.response)
            if refusal:
                raise PacsError(refusal) from exc
            raise PacsError(
                f"PACS node {self._where()} refused the {what} (HTTP {code}{_reason(exc.response)})"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise PacsError(
                f"PACS node {self._where()}: the {what} failed ({_short(exc)})"
            ) from exc

    def echo(self) -> float:
        """Search for one study (QIDO-RS) and return the round trip in ms."""
        start = time.perf_counter()
        with self._http("echo"):
            self._client.search_for_studies(limit=1, fields=["StudyInstanceUID"])
        return (time.perf_counter() - start) * 1000.0

    def find(self, query: Query) -> list[StudyInfo]:
        """QIDO-RS at study level, then series level for each study."""
        from brainfuse.pacs.query import (
            SERIES_KEYS,
            STUDY_KEYS,
            study_filters,
            to_series,
            to_study,
            with_series,
        )

        query = query.validated()
        with self._http("search"):
            found = self._client.search_for_studies(
                search_filters=study_filters(query), fields=list(STUDY_KEYS)
            )
            studies = [to_study(Dataset.from_json(item)) for item in found]
            log.info("QIDO-RS %s: %d studies", self.node.name, len(studies))
            out = []
            for study in studies:
                filters = {"Modality": query.modality} if query.modality else {}
                rows = self._client.search_for_series(
                    study.study_uid, search_filters=filters, fields=list(SERIES_KEYS)
                )
                series = [to_series(Dataset.from_json(r)) for r in rows]
                matched = with_series(study, series, query.modality)
                if matched is not None:
                    out.append(matched)
        return out

    def retrieve(
        self,
        study_uid: str,
        series_uids: Sequence[str],
        folder: Path,
        *,
        expected: int = 0,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """WADO-RS each series (streamed) into ``folder/<series UID>/``."""
        done = 0
        for series_uid in series_uids:
            with self._http("retrieve"):
                stream = self._client.iter_series(study_uid, series_uid, media_types=_AS_STORED)
                try:
                    for ds in stream:
                        if cancel is not None and cancel.is_set():
                            raise CancelledError("retrieve cancelled; nothing was kept")
                        path = instance_path(folder, series_uid, str(ds.SOPInstanceUID))
                        path.parent.mkdir(exist_ok=True)
                        ds.save_as(path, enforce_file_format=True)
                        done += 1
                        if progress is not None:
                            progress(done, expected)
                finally:  # close the HTTP stream when cancelled or failed halfway
                    if isinstance(stream, Generator):
                        stream.close()
        log.info("retrieved %d instances from %s", done, self.node.name)
        return done

    def send(
        self,
        files: Sequence[Path],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[SendResult]:
        """STOW-RS in batches; each file's result from the server's answer."""
        results: dict[int, SendResult] = {}
        batch: list[tuple[int, Path, str]] = []
        todo = 0
        for i, raw in enumerate(files):
            path = Path(raw)
            header = read_send_header(path)
            if isinstance(header, str):
                results[i] = SendResult(path, False, header)
            else:
                batch.append((i, path, header[2]))
        todo = len(batch)
        for start in range(0, len(batch), _STOW_BATCH):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"send cancelled after {start} files")
            chunk = batch[start : start + _STOW_BATCH]
            results.update(self._store_batch(chunk))
            if progress is not None:
                progress(min(start + _STOW_BATCH, todo), todo)
        ok = sum(r.ok for r in results.values())
        log.info("STOW-RS to %s: %d of %d files stored", self.node.name, ok, len(files))
        return [results[i] for i in range(len(files))]

    def _store_batch(self, chunk: list[tuple[int, Path, str]]) -> dict[int, SendResult]:
        import pydicom
        import requests

        datasets = [pydicom.dcmread(path) for _, path, _ in chunk]
        try:
            answer = self._client.store_instances(datasets)
        except requests.exceptions.HTTPError as exc:
            refusal = _stow_answer(exc.response)
            if refusal is None:
                with self._http("send"):
                    raise
            answer = refusal
        except requests.exceptions.RequestException:
            with self._http("send"):
                raise
        stored = {
            str(item.get("ReferencedSOPInstanceUID", ""))
            for item in answer.get("ReferencedSOPSequence", [])
        }
        failed = {
            str(item.get("ReferencedSOPInstanceUID", "")): int(item.get("FailureReason", 0xC000))
            for item in answer.get("FailedSOPSequence", [])
        }
        out = {}
        for i, path, uid in chunk:
            if uid in failed:
                code = failed[uid]
                reason = _FAILURE_REASON.get(code, "refused")
                out[i] = SendResult(
                    path, False, f"refused by the PACS (0x{code:04X} {reason})", uid
                )
            elif uid in stored or not failed:
                out[i] = SendResult(path, True, "stored", uid)
            else:
                out[i] = SendResult(path, False, "not listed as stored by the PACS", uid)
        return out


def _session(node: Node, requests):
    """Return an HTTP session that verifies the server (node's CA or the system) and logs in."""
    from brainfuse.pacs.secrets import require_secret

    session = requests.Session()
    session.trust_env = False  # no proxy or netrc from the environment changes who we talk to
    session.verify = node.ca_file or True
    if node.cert_file:
        session.cert = (node.cert_file, node.key_file)
    if node.auth == "basic":
        session.auth = (node.username, require_secret(node.name, "password"))
    elif node.auth == "bearer":
        session.headers["Authorization"] = f"Bearer {require_secret(node.name, 'token')}"
    return session


def _http_refusal(node: Node, where: str, response) -> str | None:
    """Return the sentence for a refused login or a plain request to an HTTPS port, else None."""
    if response is None:
        return None
    code = response.status_code
    if code in (401, 403):
        if node.auth == "none":
            return (
                f"PACS node {where} asks for a login (HTTP {code}): add --auth basic "
                "--username U, or --auth bearer"
            )
        return f"the PACS refused the credentials for {node.name} (HTTP {code}{_reason(response)})"
    text = response.text[:500] if response.content else ""
    if code == 400 and "HTTPS port" in text:
        return (
            f"PACS node {where} speaks HTTPS on this port: use an https:// URL "
            f"({node.url.replace('http://', 'https://', 1)})"
        )
    return None


def _closed_early(exc: Exception) -> bool:
    text = str(exc)
    return any(w in text for w in ("RemoteDisconnected", "BadStatusLine", "Connection reset"))


def _stow_answer(response) -> Dataset | None:
    """Read the STOW-RS answer dataset of a 4xx/5xx response; None when there is none."""
    if response is None or not response.content:
        return None
    try:
        return Dataset.from_json(response.json())
    except ValueError:
        return None


def _reason(response) -> str:
    if response is None:
        return ""
    text = (response.reason or "").strip()
    return f" {text}" if text else ""


def _short(exc: Exception) -> str:
    """Return the innermost reason of a requests exception, e.g. 'Connection refused'."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
