"""DIMSE client (pynetdicom): C-ECHO, C-FIND, C-GET or C-MOVE, C-STORE.

Each operation opens one association and releases it. Every wait is bounded by the node's
timeout (TCP connect, association answer, each DIMSE answer), so an unreachable or silent
PACS gives a :class:`~brainfuse.errors.PacsError` instead of a hang. Received instances are
written exactly as they arrived (``encoded_dataset``: no decoding, no transcoding where the
PACS sends the stored transfer syntax, which we accept for every image storage class).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydicom.dataset import Dataset

from brainfuse.errors import CancelledError, PacsError
from brainfuse.pacs.dimse_errors import association_error
from brainfuse.pacs.files import instance_path, read_send_header
from brainfuse.pacs.logs import quiet_library_logs
from brainfuse.pacs.model import ProgressCallback, Query, SendResult, StudyInfo
from brainfuse.pacs.nodes import Node
from brainfuse.pacs.query import (
    series_identifier,
    study_identifier,
    to_series,
    to_study,
    with_series,
)

__all__ = ["DimseClient"]

log = logging.getLogger(__name__)

# Storage classes offered for C-GET when the PACS does not say which classes a series holds
# (an image-level C-FIND asks first). C-GET is limited to 128 presentation contexts in all,
# so this is the image classes BrainFuse reads or writes, not all ~120.
_IMAGE_STORAGE = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
    "1.2.840.10008.5.1.4.1.1.128",  # PET Image
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image
    "1.2.840.10008.5.1.4.1.1.20",  # NM Image
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
    "1.2.840.10008.5.1.4.1.1.1",  # CR Image
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray (presentation)
    "1.2.840.10008.5.1.4.1.1.6.1",  # US Image
    "1.2.840.10008.5.1.4.1.1.66",  # Raw Data
)
_MAX_CONTEXTS = 128
# Verification and Study Root Query/Retrieve SOP classes (PS3.4 A.4, C.6.2). pynetdicom's named
# constants for these are generated at import time, where a type checker cannot see them.
_VERIFICATION = "1.2.840.10008.1.1"
_STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
_STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
_STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
# Transfer syntaxes offered for each class in C-GET, one presentation context each (the PACS
# accepts one syntax per context, so offering them all in one context lets it pick the first
# and transcode; separate contexts let it send what it stored). 8 x 15 + 1 <= 128.
_GET_SYNTAXES = (
    ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2"),  # Explicit, Implicit VR Little Endian
    ("1.2.840.10008.1.2.5",),  # RLE Lossless
    ("1.2.840.10008.1.2.4.70",),  # JPEG Lossless SV1
    ("1.2.840.10008.1.2.4.57",),  # JPEG Lossless (Process 14)
    ("1.2.840.10008.1.2.4.80",),  # JPEG-LS Lossless
    ("1.2.840.10008.1.2.4.90",),  # JPEG 2000 Lossless
    ("1.2.840.10008.1.2.4.91",),  # JPEG 2000
    ("1.2.840.10008.1.2.4.50",),  # JPEG Baseline
)


def _status_text(status: Dataset, table: dict) -> str:
    code = int(status.get("Status", -1))
    _category, text = table.get(code, ("", ""))
    comment = str(status.get("ErrorComment", "") or "")
    parts = [f"0x{code:04X}" if code >= 0 else "no status"]
    if text:
        parts.append(text.rstrip("."))
    if comment:
        parts.append(comment)
    return ", ".join(parts)


class DimseClient:
    """A :class:`~brainfuse.pacs.model.PacsClient` over DIMSE (see the module docstring).

    Parameters
    ----------
    node : Node
        A DIMSE node (host, port, AE titles, retrieve method, timeout in s).
    """

    def __init__(self, node: Node):
        self.node = node.validated()
        quiet_library_logs()

    # -- association ------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.node.name} ({self.node.host}:{self.node.port})"

    def _check_reachable(self) -> None:
        n = self.node
        if n.tls:
            from brainfuse.pacs.tls import handshake

            self._check_tcp()
            handshake(n)  # certificate and protocol failures named before any DIMSE
            return
        self._check_tcp()

    def _check_tcp(self) -> None:
        n = self.node
        try:
            with socket.create_connection((n.host, n.port), timeout=n.timeout):
                pass
        except socket.gaierror as exc:
            raise PacsError(f"PACS node {n.name}: unknown host {n.host!r}") from exc
        except TimeoutError as exc:
            raise PacsError(
                f"PACS node {self._where()} is not reachable: no answer within "
                f"{n.timeout:g} s (check host, port and network)"
            ) from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise PacsError(
                f"PACS node {self._where()} is not reachable: {reason.lower()} "
                "(is the PACS running? check host and port)"
            ) from exc

    def _ae(self):
        from pynetdicom import AE

        ae = AE(ae_title=self.node.aet)
        t = self.node.timeout
        ae.connection_timeout = t
        ae.acse_timeout = t
        ae.dimse_timeout = t
        ae.network_timeout = t
        return ae

    @contextlib.contextmanager
    def _association(self, ae, handlers=(), ext_neg=None) -> Iterator:
        from pynetdicom import evt

        self._check_reachable()
        n = self.node
        tls_args = None
        if n.tls:
            from brainfuse.pacs.tls import client_context

            tls_args = (client_context(n), n.host)
        for attempt in (1, 2):
            answers: list = []
            opened: list = []
            captured = [
                (evt.EVT_ACSE_RECV, lambda event, a=answers: a.append(event.primitive)),
                (evt.EVT_CONN_OPEN, lambda event, o=opened: o.append(True)),
            ]
            start = time.monotonic()
            assoc = ae.associate(
                n.host,
                n.port,
                ae_title=n.called_aet,
                ext_neg=ext_neg,
                evt_handlers=[*captured, *handlers],
                tls_args=tls_args,
            )
            if assoc.is_established:
                break
            # A TCP connect that fails right after the reachability check (a busy PACS's
            # full backlog) is tried once more; any answer from the PACS is final.
            if opened or attempt == 2:
                raise association_error(
                    n, self._where(), assoc, answers, bool(opened), time.monotonic() - start
                )
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()

    # -- C-ECHO -----------------------------------------------------------------------

    def echo(self) -> float:
        """C-ECHO; returns the round trip in ms."""
        ae = self._ae()
        ae.add_requested_context(_VERIFICATION)
        start = time.perf_counter()
        with self._association(ae) as assoc:
            status = assoc.send_c_echo()
        if int(status.get("Status", -1)) != 0:
            raise PacsError(f"PACS node {self._where()} answered C-ECHO with {status!s}")
        return (time.perf_counter() - start) * 1000.0

    # -- C-FIND -----------------------------------------------------------------------

    def _find(self, assoc, identifier: Dataset) -> list[Dataset]:
        from pynetdicom.status import QR_FIND_SERVICE_CLASS_STATUS

        found = []
        for status, ds in assoc.send_c_find(identifier, _STUDY_ROOT_FIND):
            code = int(status.get("Status", -1))
            if code in (0xFF00, 0xFF01) and ds is not None:
                found.append(ds)
            elif code == 0:
                return found
            else:
                raise PacsError(
                    f"PACS node {self._where()}: the search failed "
                    f"({_status_text(status, QR_FIND_SERVICE_CLASS_STATUS)})"
                    if code >= 0
                    else f"PACS node {self._where()} stopped answering the search "
                    f"(no answer within {self.node.timeout:g} s)"
                )
        raise PacsError(f"PACS node {self._where()} ended the search without a final status")

    def find(self, query: Query) -> list[StudyInfo]:
        """Study-level then series-level C-FIND (study root)."""
        query = query.validated()
        ae = self._ae()
        ae.add_requested_context(_STUDY_ROOT_FIND)
        with self._association(ae) as assoc:
            studies = [to_study(ds) for ds in self._find(assoc, study_identifier(query))]
            log.info("C-FIND %s: %d studies", self.node.name, len(studies))
            out = []
            for study in studies:
                rows = self._find(assoc, series_identifier(study.study_uid, query.modality))
                matched = with_series(study, [to_series(ds) for ds in rows], query.modality)
                if matched is not None:
                    out.append(matched)
        return out

    # -- C-GET / C-MOVE ---------------------------------------------------------------

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
        """C-GET (or C-MOVE, per the node) each series into ``folder/<series UID>/``."""
        counter = _Counter(folder, expected, progress, cancel)
        method = self._move_series if self.node.retrieve == "move" else self._get_series
        for series_uid in series_uids:
            method(study_uid, series_uid, counter)
        log.info("retrieved %d instances from %s", counter.done, self.node.name)
        return counter.done

    @staticmethod
    def _identifier(study_uid: str, series_uid: str) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        return ds

    def _run_retrieve(self, responses, counter: _Counter, assoc, table: dict, what: str) -> None:
        for status, _ in responses:
            counter.report()
            if counter.cancelled():
                assoc.abort()
                raise CancelledError("retrieve cancelled; nothing was kept")
            code = int(status.get("Status", -1))
            if code in (0xFF00, 0xFF01):
                continue
            if code < 0:
                raise PacsError(
                    f"PACS node {self._where()} stopped answering during the {what} after "
                    f"{counter.done} images (no answer within {self.node.timeout:g} s); "
                    "nothing was kept"
                )
            if code == 0xA801 or (what == "C-MOVE" and counter.done == 0 and code != 0):
                known = "does not know" if code == 0xA801 else "refused the C-MOVE; it may not know"
                raise PacsError(
                    f"PACS node {self._where()} {known} '{self.node.aet}' as a C-MOVE "
                    f"destination ({_status_text(status, table)}): register AE title "
                    f"{self.node.aet} with this computer's address and port "
                    f"{self.node.move_port} on the PACS, or retrieve with C-GET "
                    "(brainfuse pacs add ... --retrieve get)"
                )
            failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
            if code != 0 or failed:
                raise PacsError(
                    f"PACS node {self._where()}: the {what} failed "
                    f"({_status_text(status, table)}; {failed} images not sent); nothing was kept"
                )
            return
        raise PacsError(
            f"PACS node {self._where()} ended the {what} without a final status; nothing was kept"
        )

    def _sop_classes(self, study_uid: str, series_uid: str) -> list[str]:
        """Storage classes of the series' instances (image-level C-FIND); [] if not told."""
        identifier = self._identifier(study_uid, series_uid)
        identifier.QueryRetrieveLevel = "IMAGE"
        identifier.SOPInstanceUID = ""
        identifier.SOPClassUID = ""
        ae = self._ae()
        ae.add_requested_context(_STUDY_ROOT_FIND)
        try:
            with self._association(ae) as assoc:
                found = self._find(assoc, identifier)
        except PacsError as exc:
            log.debug("no image-level search (%s); offering the usual image classes", exc)
            return []
        return sorted({str(ds.SOPClassUID) for ds in found if ds.get("SOPClassUID")})

    def _get_series(self, study_uid: str, series_uid: str, counter: _Counter) -> None:
        from pynetdicom import ALL_TRANSFER_SYNTAXES, build_role, evt
        from pynetdicom.status import QR_GET_SERVICE_CLASS_STATUS

        classes = self._sop_classes(study_uid, series_uid) or list(_IMAGE_STORAGE)
        if len(classes) * len(_GET_SYNTAXES) >= _MAX_CONTEXTS:  # one context each, PACS picks
            per_class: tuple[tuple[str, ...], ...] = (tuple(ALL_TRANSFER_SYNTAXES),)
            classes = classes[: _MAX_CONTEXTS - 1]
        else:
            per_class = _GET_SYNTAXES
        ae = self._ae()
        ae.add_requested_context(_STUDY_ROOT_GET)
        roles = []
        for uid in classes:
            for syntaxes in per_class:
                ae.add_requested_context(uid, list(syntaxes))
            roles.append(build_role(uid, scp_role=True))
        handler = (evt.EVT_C_STORE, counter.store_handler(series_uid))
        with self._association(ae, handlers=[handler], ext_neg=roles) as assoc:
            responses = assoc.send_c_get(self._identifier(study_uid, series_uid), _STUDY_ROOT_GET)
            self._run_retrieve(responses, counter, assoc, QR_GET_SERVICE_CLASS_STATUS, "C-GET")

    def _move_series(self, study_uid: str, series_uid: str, counter: _Counter) -> None:
        from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.status import QR_MOVE_SERVICE_CLASS_STATUS

        scp = self._ae()
        for cx in AllStoragePresentationContexts:
            scp.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        handler = (evt.EVT_C_STORE, counter.store_handler(series_uid))
        try:
            server = scp.start_server(
                ("", self.node.move_port), block=False, evt_handlers=[handler]
            )
        except OSError as exc:
            raise PacsError(
                f"cannot receive the C-MOVE on port {self.node.move_port}: "
                f"{(exc.strerror or str(exc)).lower()} (another program uses it?)"
            ) from exc
        try:
            ae = self._ae()
            ae.add_requested_context(_STUDY_ROOT_MOVE)
            with self._association(ae) as assoc:
                identifier = self._identifier(study_uid, series_uid)
                responses = assoc.send_c_move(identifier, self.node.aet, _STUDY_ROOT_MOVE)
                self._run_retrieve(
                    responses, counter, assoc, QR_MOVE_SERVICE_CLASS_STATUS, "C-MOVE"
                )
        finally:
            server.shutdown()

    # -- C-STORE ----------------------------------------------------------------------

    def send(
        self,
        files: Sequence[Path],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[SendResult]:
        """C-STORE each file as it is on disk (its own transfer syntax)."""
        from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS

        headers = [(Path(f), read_send_header(Path(f))) for f in files]
        results: dict[int, SendResult] = {}
        pairs: list[tuple[str, str]] = []
        todo: list[tuple[int, Path, tuple[str, str, str]]] = []
        for i, (path, header) in enumerate(headers):
            if isinstance(header, str):
                results[i] = SendResult(path, False, header)
                continue
            todo.append((i, path, header))
            if header[:2] not in pairs:
                pairs.append(header[:2])
        if todo:
            if len(pairs) > _MAX_CONTEXTS:
                raise PacsError(
                    f"{len(pairs)} kinds of image (storage class and encoding) in one send; "
                    f"at most {_MAX_CONTEXTS} per association: send them in smaller groups"
                )
            ae = self._ae()
            for sop_class, syntax in pairs:
                ae.add_requested_context(sop_class, [syntax])
            with self._association(ae) as assoc:
                accepted = {
                    (cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts
                }
                for done, (i, path, (sop_class, syntax, sop_uid)) in enumerate(todo, start=1):
                    if cancel is not None and cancel.is_set():
                        raise CancelledError(f"send cancelled after {done - 1} files")
                    results[i] = self._store_one(
                        assoc, path, sop_class, syntax, sop_uid, accepted,
                        STORAGE_SERVICE_CLASS_STATUS,
                    )  # fmt: skip
                    if progress is not None:
                        progress(done, len(todo))
        ok = sum(r.ok for r in results.values())
        log.info("C-STORE to %s: %d of %d files stored", self.node.name, ok, len(headers))
        return [results[i] for i in range(len(headers))]

    def _store_one(self, assoc, path, sop_class, syntax, sop_uid, accepted, table) -> SendResult:
        from pydicom.uid import UID

        if (sop_class, syntax) not in accepted:
            return SendResult(
                path,
                False,
                f"the PACS does not accept {UID(sop_class).name} encoded as {UID(syntax).name}",
                sop_uid,
            )
        if not assoc.is_established:
            return SendResult(path, False, "the PACS closed the connection", sop_uid)
        status = assoc.send_c_store(path)
        code = int(status.get("Status", -1))
        if code < 0:
            return SendResult(path, False, f"no answer within {self.node.timeout:g} s", sop_uid)
        if code == 0:
            return SendResult(path, True, "stored", sop_uid)
        text = _status_text(status, table)
        if code in (0xB000, 0xB006, 0xB007):
            return SendResult(path, True, f"stored with a warning ({text})", sop_uid)
        return SendResult(path, False, f"refused by the PACS ({text})", sop_uid)


class _Counter:
    """Writes received instances into ``folder/<series>/`` and counts them for progress."""

    def __init__(self, folder: Path, expected: int, progress, cancel):
        self.folder = folder
        self.expected = expected
        self.progress = progress
        self.cancel = cancel
        self.done = 0
        self._reported = -1
        self._lock = threading.Lock()

    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def report(self) -> None:
        if self.progress is not None and self.done != self._reported:
            self._reported = self.done
            self.progress(self.done, self.expected)

    def store_handler(self, series_uid: str):
        def handle(event) -> int:
            if self.cancelled():
                return 0xA700  # refuse further images at once
            sop_uid = str(event.request.AffectedSOPInstanceUID)
            try:
                path = instance_path(self.folder, series_uid, sop_uid)
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(event.encoded_dataset())
            except (OSError, ValueError) as exc:
                log.warning("could not write a received image: %s", exc)
                return 0xA700
            with self._lock:
                self.done += 1
            return 0x0000

        return handle
