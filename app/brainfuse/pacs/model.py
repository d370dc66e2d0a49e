"""What a PACS query returns and what a client can do: the one interface both protocols share.

:class:`PacsClient` is implemented by :class:`~brainfuse.pacs.dimse.DimseClient`
(pynetdicom) and :class:`~brainfuse.pacs.web.DicomWebClient` (dicomweb-client); callers
(CLI, window) use only this interface and :func:`brainfuse.pacs.connect`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from brainfuse.errors import PacsError

__all__ = [
    "PacsClient",
    "ProgressCallback",
    "Query",
    "SendResult",
    "SeriesInfo",
    "StudyInfo",
]

#: ``progress(done, total)`` after each file received or sent (total 0 when unknown).
ProgressCallback = Callable[[int, int], None]

_DATE = re.compile(r"^\d{8}(-\d{8})?$|^\d{8}-$|^-\d{8}$")


@dataclass(frozen=True)
class Query:
    """Study-level search keys; empty fields match anything.

    Attributes
    ----------
    patient_id, patient_name : str
        Exact ID; name with DICOM wildcards (``*``, ``?``), e.g. ``DOE^J*``.
    study_date : str
        ``YYYYMMDD`` or a range ``YYYYMMDD-YYYYMMDD`` (either end may be open).
    modality : str
        Studies holding a series of this modality (``CT``, ``MR``, ...); series are filtered too.
    study_uid : str
        One study.
    """

    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    modality: str = ""
    study_uid: str = ""

    def validated(self) -> Query:
        """Return ``self`` after checking the date format; raise :class:`PacsError` otherwise."""
        if self.study_date and not _DATE.match(self.study_date):
            raise PacsError(
                f"invalid study date {self.study_date!r}: use YYYYMMDD or YYYYMMDD-YYYYMMDD"
            )
        return self


@dataclass(frozen=True)
class SeriesInfo:
    """One series found on the PACS (``n_instances`` is -1 where the PACS did not say)."""

    series_uid: str
    modality: str = ""
    number: str = ""
    description: str = ""
    n_instances: int = -1


@dataclass(frozen=True)
class StudyInfo:
    """One study found on the PACS, with its series (filled by ``find``)."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    date: str = ""
    description: str = ""
    modalities: str = ""
    n_instances: int = -1
    series: tuple[SeriesInfo, ...] = field(default=())


@dataclass(frozen=True)
class SendResult:
    """The PACS's answer for one file sent (``ok`` False with the reason when refused)."""

    path: Path
    ok: bool
    message: str = ""
    sop_instance_uid: str = ""


class PacsClient(Protocol):
    """Operations on one PACS node (DIMSE or DICOMweb)."""

    def echo(self) -> float:
        """Check the node answers; returns the round trip in ms. Raises PacsError."""
        ...

    def find(self, query: Query) -> list[StudyInfo]:
        """Studies matching ``query``, each with its series (filtered by modality)."""
        ...

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
        """Write the instances of the series (all of the study if empty) into ``folder``.

        Files are named ``<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` as received (no
        decoding or re-encoding where the protocol allows). Returns the number received;
        raises :class:`~brainfuse.errors.CancelledError` when ``cancel`` is set and
        :class:`PacsError` when the transfer fails part-way.
        """
        ...

    def send(
        self,
        files: Sequence[Path],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[SendResult]:
        """Store DICOM files on the node; one result per file, in order."""
        ...
