"""The DICOM identity of a loaded series: UIDs, patient/study/equipment modules.

It is kept apart from the pixels so that a derived export can reference the source or leave
it out.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from brainfuse.model.image import (
    EQUIPMENT_KEYWORDS,
    PATIENT_KEYWORDS,
    STUDY_KEYWORDS,
    SourceIdentity,
)

__all__ = ["source_identity"]


def _plain(value: Any) -> Any:
    """DICOM element value as plain Python (str / float / int / list)."""
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, MultiValue | list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("latin-1", errors="replace")
    for kind in (str, int, float):  # DSfloat, IS, UID, ... → their plain base type
        if isinstance(value, kind):
            return kind(value)
    return str(value)


def _module(ds: Dataset, keywords: tuple[str, ...]) -> dict[str, Any]:
    return {kw: _plain(ds[kw].value) for kw in keywords if kw in ds and ds[kw].value is not None}


def source_identity(ds: Dataset, sop_instance_uids: list[str], files: list[str]) -> SourceIdentity:
    """Build a :class:`SourceIdentity` from a representative dataset of the series.

    Parameters
    ----------
    ds : Dataset
        First image of the series (in slice order).
    sop_instance_uids : list of str
        SOP Instance UIDs in the volume's slice order (one for a multi-frame file).
    files : list of str
        Source files in slice order.
    """
    number = ds.get("SeriesNumber")
    try:
        series_number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        series_number = None

    def uid(keyword: str) -> str | None:
        value = ds.get(keyword)
        return str(value) if value else None

    return SourceIdentity(
        study_instance_uid=uid("StudyInstanceUID"),
        series_instance_uid=uid("SeriesInstanceUID"),
        sop_class_uid=uid("SOPClassUID"),
        sop_instance_uids=tuple(str(u) for u in sop_instance_uids),
        frame_of_reference_uid=uid("FrameOfReferenceUID"),
        series_description=str(ds.get("SeriesDescription", "")) or None,
        series_number=series_number,
        patient=_module(ds, PATIENT_KEYWORDS),
        study=_module(ds, STUDY_KEYWORDS),
        equipment=_module(ds, EQUIPMENT_KEYWORDS),
        files=tuple(files),
    )
