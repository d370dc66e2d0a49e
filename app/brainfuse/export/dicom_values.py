"""Validity of attribute values copied from a source into a derived DICOM series.

A source's header may break the standard (Patient's Sex ``0000``, a date ``20231301``, a
Long String of 100 characters); the series BrainFuse writes must not inherit that. Each
copied value is checked here for its value representation (pydicom's own validator, plus a
calendar check of dates and the component limits of person names), its value multiplicity
(the DICOM data dictionary) and, where the standard enumerates them, its allowed values.
The writer leaves an invalid value out (type 2 attributes stay, empty) and names the
attribute in the Derivation Description.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from pydicom import config
from pydicom.datadict import dictionary_description, dictionary_VM, dictionary_VR, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.valuerep import validate_value

__all__ = ["ENUMERATED", "attribute_name", "invalid_reason"]

# Enumerated values (PS3.3) of attributes a derived series copies from its source.
ENUMERATED: dict[str, frozenset[str]] = {
    "PatientSex": frozenset({"M", "F", "O"}),
    "PatientIdentityRemoved": frozenset({"YES", "NO"}),
    "Laterality": frozenset({"R", "L"}),
    "MRAcquisitionType": frozenset({"2D", "3D"}),
    "ScanningSequence": frozenset({"SE", "IR", "GR", "EP", "RM"}),
    "SequenceVariant": frozenset({"SK", "MTC", "SS", "TRSS", "SP", "MP", "OSP", "NONE"}),
    "PatientPosition": frozenset(
        {
            "HFP", "HFS", "HFDR", "HFDL", "HFV", "HFI",
            "FFDR", "FFDL", "FFP", "FFS", "FFV", "FFI",
            "LFP", "LFS", "RFP", "RFS", "AFDR", "AFDL", "PFDR", "PFDL",
        }
    ),
}  # fmt: skip


def attribute_name(keyword: str) -> str:
    """Spell the attribute's name in words (``PatientSex`` -> ``Patient's Sex``)."""
    try:
        return dictionary_description(keyword)
    except KeyError:
        return keyword


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    if isinstance(value, str) and "\\" in value:
        return value.split("\\")
    return [value]


def _vm_allows(vm: str, n: int) -> bool:
    """Whether ``n`` values fit a dictionary VM such as ``1``, ``1-3``, ``1-n``, ``2-2n``."""
    if n == 0:
        return True
    match = re.fullmatch(r"(\d+)(?:-(\d+)?(n)?)?", vm)
    if not match:
        return True  # unusual VM notation: do not second-guess it
    low, high, open_end = int(match.group(1)), match.group(2), match.group(3)
    if match.group(0) == match.group(1):
        return n == low
    if open_end:
        step = int(high) if high else 1
        return n >= low and n % step == 0
    return low <= n <= int(high)


_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM"}
_TEXT_VRS |= {"UC", "UI", "UR", "UT"}


def _check_one(vr: str, value: Any) -> str | None:
    if vr in _TEXT_VRS and not isinstance(value, str | bytes):
        value = str(value)  # DSfloat, IS, PersonName, UID: check their DICOM text
    try:
        validate_value(vr, value, config.RAISE)
    except (ValueError, TypeError) as exc:
        return " ".join(str(exc).split()).split(" Please see")[0]
    text = str(value)
    if vr == "DA" and text:
        try:
            _dt.datetime.strptime(text, "%Y%m%d")
        except ValueError:
            return f"'{text}' is not a calendar date"
    if vr == "PN" and text:
        groups = text.split("=")
        if len(groups) > 3 or any(len(g.split("^")) > 5 or len(g) > 64 for g in groups):
            return "a person name has at most 3 groups of 5 components of 64 characters"
    return None


def invalid_reason(keyword: str, value: Any) -> str | None:
    """Why ``value`` may not be written as ``keyword``, or ``None`` when it may.

    Parameters
    ----------
    keyword : str
        DICOM keyword of a data dictionary attribute.
    value : object
        As pydicom holds it (str, number, MultiValue, PersonName, ...). Empty values are
        valid (type 2 attributes may be empty).

    Returns
    -------
    str or None
        A short reason in words (no value is repeated, so it can go in a file).
    """
    tag = tag_for_keyword(keyword)
    if tag is None:
        return "not a DICOM attribute"
    vr = dictionary_VR(tag)
    values = _values(value)
    if vr == "SQ" or not values:
        return None
    if not _vm_allows(dictionary_VM(tag), len(values)):
        return f"{len(values)} values where the standard allows {dictionary_VM(tag)}"
    for item in values:
        problem = _check_one(vr.split(" or ")[0], item)
        if problem:
            return problem
    allowed = ENUMERATED.get(keyword)
    if allowed is not None and any(str(v).strip() not in allowed for v in values):
        return f"not one of the values the standard allows ({', '.join(sorted(allowed))})"
    return None
