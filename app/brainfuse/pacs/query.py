"""Query keys and answers as DICOM attributes, shared by the DIMSE and DICOMweb clients.

C-FIND identifiers and QIDO-RS JSON both come down to the same attributes: this module
builds the study- and series-level keys from a :class:`~brainfuse.pacs.model.Query` and turns
matches (pydicom datasets; QIDO JSON is converted with ``Dataset.from_json``) into
:class:`~brainfuse.pacs.model.StudyInfo` / :class:`~brainfuse.pacs.model.SeriesInfo`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset

from brainfuse.pacs.model import Query, SeriesInfo, StudyInfo

__all__ = [
    "SERIES_KEYS",
    "STUDY_KEYS",
    "series_identifier",
    "study_filters",
    "study_identifier",
    "to_series",
    "to_study",
    "with_series",
]

#: Return keys asked for at study level (empty = return it).
STUDY_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "StudyDate",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedInstances",
)
#: Return keys asked for at series level.
SERIES_KEYS = (
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)


def study_filters(query: Query) -> dict[str, str]:
    """Return the non-empty match keys of ``query`` as ``{keyword: value}``."""
    pairs = {
        "PatientID": query.patient_id,
        "PatientName": query.patient_name,
        "StudyDate": query.study_date,
        "ModalitiesInStudy": query.modality,
        "StudyInstanceUID": query.study_uid,
    }
    return {k: v for k, v in pairs.items() if v}


def study_identifier(query: Query) -> Dataset:
    """C-FIND identifier at study level: the match keys of ``query`` plus empty return keys."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    filters = study_filters(query)
    for keyword in STUDY_KEYS:
        setattr(ds, keyword, filters.get(keyword, ""))
    return ds


def series_identifier(study_uid: str, modality: str = "") -> Dataset:
    """C-FIND identifier at series level within one study."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_uid
    for keyword in SERIES_KEYS:
        setattr(ds, keyword, "")
    if modality:
        ds.Modality = modality
    return ds


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _count(ds: Dataset, keyword: str) -> int:
    try:
        return int(ds.get(keyword, -1) if ds.get(keyword) not in (None, "") else -1)
    except (TypeError, ValueError):
        return -1


def to_study(ds: Dataset) -> StudyInfo:
    """Read a study-level match as :class:`StudyInfo` (no series yet)."""
    return StudyInfo(
        study_uid=_text(ds, "StudyInstanceUID"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        date=_text(ds, "StudyDate"),
        description=_text(ds, "StudyDescription"),
        modalities=_text(ds, "ModalitiesInStudy"),
        n_instances=_count(ds, "NumberOfStudyRelatedInstances"),
    )


def to_series(ds: Dataset) -> SeriesInfo:
    """Read a series-level match as :class:`SeriesInfo`."""
    return SeriesInfo(
        series_uid=_text(ds, "SeriesInstanceUID"),
        modality=_text(ds, "Modality"),
        number=_text(ds, "SeriesNumber"),
        description=_text(ds, "SeriesDescription"),
        n_instances=_count(ds, "NumberOfSeriesRelatedInstances"),
    )


def _series_key(series: SeriesInfo) -> tuple:
    try:
        number = int(series.number)
    except ValueError:
        number = 1 << 30
    return (number, series.series_uid)


def with_series(
    study: StudyInfo, series: Sequence[SeriesInfo], modality: str = ""
) -> StudyInfo | None:
    """``study`` with its ``series`` (sorted by number; only ``modality`` when given).

    Returns None when a modality was asked for and no series has it (a PACS that ignores
    ModalitiesInStudy matching is filtered here too).
    """
    kept = [s for s in series if not modality or s.modality.upper() == modality.upper()]
    if modality and not kept:
        return None
    from dataclasses import replace

    return replace(study, series=tuple(sorted(kept, key=_series_key)))
