"""Send what is on screen to a PACS: the current result exported afresh, never an old folder.

:func:`plan_send` says, before anything leaves the machine, what will arrive: patient and
study (:func:`brainfuse.export.identity.export_identity`), series description and instance
count, and whether it arrives without a patient (the window's confirmation shows
:meth:`SendPlan.confirmation`). :func:`send_result` exports the given result (with its edits:
pass the edited result) to a temporary folder, sends those files and removes the folder;
an export that arrives without a patient is refused unless that was confirmed.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom

from brainfuse.errors import BrainFuseError
from brainfuse.export import ANONYMIZE_DEFAULT, ExportIdentity, export_identity, export_result
from brainfuse.export.dicom_modules import default_series_description
from brainfuse.model.results import PairResult

__all__ = ["ANONYMIZE_DEFAULT", "SendPlan", "plan_send", "send_result"]


@dataclass(frozen=True)
class SendPlan:
    """What a send of one result will deliver.

    Attributes
    ----------
    identity : ExportIdentity
    series_description : str
    images : int
        One per slice.
    segmentation : bool
        The decision map goes along as a DICOM Segmentation of the series.
    """

    identity: ExportIdentity
    series_description: str
    images: int
    segmentation: bool = False

    @property
    def instances(self) -> int:
        """Return the number of DICOM instances sent: the images and the segmentation."""
        return self.images + int(self.segmentation)

    def confirmation(self) -> str:
        """Write the confirmation: patient, study, series description and instance count."""
        seg = " and its decision map as a segmentation" if self.segmentation else ""
        head = (
            f"Send '{self.series_description}', {self.images} image(s){seg}, "
            f"{self.identity.describe()}."
        )
        if self.identity.without_patient:
            head += " The PACS cannot attach it to any patient."
        return head


def plan_send(
    result: PairResult, *, anonymize: bool = ANONYMIZE_DEFAULT, overlay: bool = False
) -> SendPlan:
    """Describe what :func:`send_result` would deliver for ``result``."""
    record = {"method": result.fusion.method, "rule": result.fusion.rule}
    rgb = bool(result.fused.is_rgb) or overlay
    return SendPlan(
        identity=export_identity(result, anonymize=anonymize),
        series_description=default_series_description(record, rgb, overlay),
        images=result.fused.n_slices,
        segmentation=result.fused.has_geometry,  # as export_result writes it
    )


def send_result(
    result: PairResult,
    client: Any,
    *,
    anonymize: bool = ANONYMIZE_DEFAULT,
    overlay: bool = False,
    confirmed_without_patient: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Export ``result`` to a temporary folder and send it with ``client``.

    Parameters
    ----------
    result : PairResult
        What is on screen, edits applied.
    client : brainfuse.pacs.model.PacsClient
        The node to send to (:func:`brainfuse.pacs.connect`).
    anonymize, overlay : bool
        As for :func:`brainfuse.export.export_result`.
    confirmed_without_patient : bool
        The user confirmed that an export without a patient may be sent.
    progress : callable, optional
        ``progress(done, total)`` after each file sent (as the client's).

    Returns
    -------
    dict
        ``study`` (Study Instance UID), ``series`` (Series Instance UID), ``instances``
        (files the PACS accepted), ``failed`` (one line per file refused).

    Raises
    ------
    BrainFuseError
        The export arrives without a patient and that was not confirmed.
    PacsError, ExportError
    """
    plan = plan_send(result, anonymize=anonymize, overlay=overlay)
    if plan.identity.without_patient and not confirmed_without_patient:
        raise BrainFuseError(f"Not sent: {plan.identity.describe()}; confirm to send it anyway.")
    with tempfile.TemporaryDirectory(prefix="brainfuse-send-") as tmp:
        files = export_result(
            result, Path(tmp) / "series", format="dicom", overlay=overlay, anonymize=anonymize
        )
        first = pydicom.dcmread(files[0], stop_before_pixels=True)
        sent = client.send(files, progress=progress, cancel=cancel)
    return {
        "study": str(first.StudyInstanceUID),
        "series": str(first.SeriesInstanceUID),
        "instances": sum(1 for r in sent if r.ok),
        "failed": [f"{r.path.name}: {r.message}" for r in sent if not r.ok],
    }
