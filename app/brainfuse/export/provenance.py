"""How an exported image was made: one record, written into every output format.

The provenance record is a plain dict (JSON-serialisable) with the keys below; exporters
turn it into a PNG ``tEXt`` chunk, the DICOM DerivationDescription and the NIfTI
``descrip`` field. No patient data ever goes into it.

Keys
----
software : str
    ``"BrainFuse <version>"``.
method : str
    Fusion method (``cnn``, ``average``, ...).
device : str
    Where the fusion ran (``"CPU (2 threads)"``).
windows : dict
    Intensity windows used to bring each source to [0, 1], e.g.
    ``{"ct": "40/80 HU", "mri": "p1-p99 12-873"}``.
model_sha256 : str or None
    SHA-256 of the network weights (``cnn`` only).
reference : str
    Which source defines the grid (``"mri"`` or ``"ct"``).
patient_from : str or None
    Which source the DICOM series takes patient and study from (``"ct"``, ``"mri"``).
patient_check : str
    The outcome of the patient check (:class:`brainfuse.model.patient.PatientCheck`).
different_patients_allowed : bool
    True when sources of different patients were fused on the user's explicit override.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from brainfuse import __version__

__all__ = ["make_provenance", "provenance_json", "provenance_text"]


def _window_text(window: Any) -> str:
    """Format a window as ``center/width`` when it has those, else its ``str``."""
    if window is None:
        return "none"
    describe = getattr(window, "describe", None)  # brainfuse.model.intensity.Window
    if callable(describe):
        return str(describe())
    center = getattr(window, "center", None)
    width = getattr(window, "width", None)
    if center is not None and width is not None:
        unit = getattr(window, "units", "") or getattr(window, "unit", "") or ""
        return f"{float(center):g}/{float(width):g}{' ' + unit if unit else ''}"
    if isinstance(window, (tuple, list)) and len(window) == 2:
        return f"{float(window[0]):g}/{float(window[1]):g}"
    return str(window)


def make_provenance(
    *,
    method: str,
    device: str = "",
    windows: Mapping[str, Any] | None = None,
    model_sha256: str | None = None,
    reference: str = "",
    rule: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build the provenance record of an export.

    Parameters
    ----------
    method : str
        Fusion method name.
    device : str
        Human-readable compute device.
    windows : mapping of str to window, optional
        Source name to the window used (an object with ``center``/``width``, a
        ``(center, width)`` pair, or text).
    model_sha256 : str, optional
        SHA-256 hex digest of the model weights.
    reference : str
        Name of the source defining the grid.
    rule : str, optional
        The fusion rule that actually ran (``anatomy`` or ``sesf``; ``cnn`` only).
    **extra
        Further JSON-serialisable parameters (e.g. ``register="auto"``).

    Returns
    -------
    dict
        The record, with ``software`` filled in.
    """
    record: dict[str, Any] = {
        "software": f"BrainFuse {__version__}",
        "method": str(method),
        "rule": rule,
        "device": str(device),
        "windows": {str(k): _window_text(v) for k, v in (windows or {}).items()},
        "model_sha256": model_sha256,
        "reference": str(reference),
    }
    for key, value in extra.items():
        record[key] = (
            value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        )
    return record


def provenance_text(record: Mapping[str, Any]) -> str:
    """One line for humans, e.g. for DICOM DerivationDescription (at most 1024 characters).

    Examples
    --------
    >>> provenance_text({"software": "BrainFuse 0.1", "method": "cnn",
    ...                  "windows": {"ct": "40/80"}, "model_sha256": "ab12"})
    'BrainFuse 0.1 image fusion F = DM*CT + (1-DM)*MRI; method cnn; windows ct 40/80; model SHA-256 ab12'
    """
    parts = [f"{record.get('software', 'BrainFuse')} image fusion F = DM*CT + (1-DM)*MRI"]
    parts.append(f"method {record.get('method', 'unknown')}")
    if record.get("rule"):
        parts.append(f"rule {record['rule']}")
    windows = record.get("windows") or {}
    if windows:
        parts.append("windows " + ", ".join(f"{k} {v}" for k, v in windows.items()))
    if record.get("reference"):
        parts.append(f"grid of {record['reference']}")
    if record.get("registration"):
        parts.append(f"aligned by {record['registration']}")
    if record.get("different_patients_allowed"):
        parts.append("DIFFERENT PATIENTS fused on explicit override")
    elif record.get("patient_check"):
        parts.append(f"patient check: {record['patient_check']}")
    if record.get("patient_from"):
        parts.append(f"patient and study of the {str(record['patient_from']).upper()}")
    if record.get("edits"):
        parts.append(str(record["edits"]))
    if record.get("model_sha256"):
        parts.append(f"model SHA-256 {record['model_sha256']}")
    if record.get("device"):
        parts.append(f"device {record['device']}")
    return "; ".join(parts)[:1024]


def provenance_json(record: Mapping[str, Any]) -> str:
    """Serialise the record as compact, key-sorted JSON (for the PNG ``tEXt`` chunk)."""
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"), default=str)
