"""What a session records of its fusion, so that reopening it gives the same picture.

A session's ``fusion`` record holds the method, the device, the whole
:class:`~brainfuse.fusion.FusionSettings` (rule and every parameter) and the brush; the
registration record holds the reference grid. :class:`SessionFusion` writes and reads
them: reopening restores the recorded rule and settings *whatever the preference says*,
so the same edits give the same map. Sessions saved before the settings were recorded
(``{"method": "cnn", "device": "auto"}`` only) still open: their rule is the caller's
preference, and :meth:`SessionFusion.note` says so (the window shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from brainfuse.errors import BrainFuseError, UnreadableInputError
from brainfuse.fusion.settings import AnatomyRule, DetailBlend, FusionSettings

__all__ = ["BRUSH_DEFAULT", "FusionSettings", "SessionFusion", "settings_from_record"]

#: The brush a session without one reopens with (:class:`brainfuse.reading.tools.ReaderTools`).
BRUSH_DEFAULT: dict[str, Any] = {"mode": "ct", "radius_mm": 10.0, "ball": False}
_NESTED = {"detail": DetailBlend, "anatomy": AnatomyRule}


def _known(cls: type, record: dict[str, Any]) -> dict[str, Any]:
    """Keep the entries of ``record`` that are fields of ``cls`` (a newer file's extras go)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in record.items() if k in names}


def settings_from_record(record: dict[str, Any]) -> FusionSettings:
    """Rebuild :class:`FusionSettings` from :meth:`FusionSettings.as_record`.

    Raises
    ------
    UnreadableInputError
        A value is not a valid setting (the message says which).
    """
    try:
        values = _known(FusionSettings, dict(record))
        for key, cls in _NESTED.items():
            if key in values:
                values[key] = cls(**_known(cls, dict(values[key])))
        return FusionSettings(**values)
    except (BrainFuseError, TypeError, ValueError, AttributeError) as exc:
        raise UnreadableInputError(f"The session's fusion settings are not valid: {exc}") from exc


@dataclass(frozen=True)
class SessionFusion:
    """The fusion, brush and grid a session restores.

    Attributes
    ----------
    method : str
        Fusion method (``cnn``, ``average``, ...).
    settings : FusionSettings
        Rule and parameters of the ``cnn`` method.
    device : str
        ``auto``, ``cpu`` or ``cuda`` (where it ran does not change the map).
    brush : dict
        ``mode`` (``ct``, ``mri``, ``auto``), ``radius_mm``, ``ball``.
    reference : {"mri", "ct"}
        Whose grid the fusion is on.
    recorded : bool
        False for an older session that did not record its settings: ``settings`` is then
        the preference given to :meth:`from_session`.
    """

    method: str = "cnn"
    settings: FusionSettings = field(default_factory=FusionSettings)
    device: str = "auto"
    brush: dict[str, Any] = field(default_factory=lambda: dict(BRUSH_DEFAULT))
    reference: str = "mri"
    recorded: bool = True

    def record(self) -> dict[str, Any]:
        """Write the session's ``fusion`` record (JSON-ready)."""
        return {
            "method": self.method,
            "device": self.device,
            "rule": self.settings.rule,
            "settings": self.settings.as_record(),
            "brush": dict(self.brush),
        }

    def registration(self, **more: Any) -> dict[str, Any]:
        """Write the session's ``registration`` record: the reference grid (plus ``more``)."""
        return {**more, "reference": self.reference}

    @classmethod
    def from_session(
        cls, session: Any, *, preferred: FusionSettings | None = None
    ) -> SessionFusion:
        """Read a :class:`~brainfuse.reading.session.Session`'s fusion, brush and grid.

        Parameters
        ----------
        session : Session
        preferred : FusionSettings, optional
            The user's preference: used only for an older session that recorded no settings.

        Raises
        ------
        UnreadableInputError
            The recorded settings are not valid.
        """
        fusion = dict(session.fusion or {})
        raw = fusion.get("settings")
        if isinstance(raw, dict):
            settings, recorded = settings_from_record(raw), True
        elif fusion.get("rule"):
            settings, recorded = settings_from_record({"rule": fusion["rule"]}), True
        else:
            settings, recorded = preferred or FusionSettings(), False
        brush = {**BRUSH_DEFAULT, **_known_brush(fusion.get("brush"))}
        reference = str((session.registration or {}).get("reference") or "mri")
        if reference not in ("mri", "ct"):
            raise UnreadableInputError(f"The session's reference grid '{reference}' is unknown.")
        return cls(
            method=str(fusion.get("method") or "cnn"),
            settings=settings,
            device=str(fusion.get("device") or "auto"),
            brush=brush,
            reference=reference,
            recorded=recorded,
        )

    def note(self) -> str | None:
        """For an older session: that its rule was not recorded and which one is used."""
        if self.recorded:
            return None
        return (
            "this session was saved without its fusion rule; the current preference "
            f"({self.settings.rule}) is used"
        )

    def apply_brush(self, tools: Any) -> None:
        """Set the brush of a workspace (:meth:`~brainfuse.reading.tools.ReaderTools.set_brush`)."""
        tools.set_brush(
            mode=self.brush["mode"],
            radius_mm=float(self.brush["radius_mm"]),
            ball=bool(self.brush["ball"]),
        )

    @classmethod
    def of_workspace(
        cls,
        tools: Any,
        *,
        method: str,
        settings: FusionSettings,
        device: str = "auto",
        reference: str = "mri",
    ) -> SessionFusion:
        """Describe what a workspace fused with and its brush, for :class:`Session`."""
        brush = {
            "mode": tools.brush_mode,
            "radius_mm": float(tools.brush_radius_mm),
            "ball": bool(tools.brush_ball),
        }
        return cls(method, settings, device, brush, reference)


def _known_brush(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {k: value[k] for k in BRUSH_DEFAULT if k in value}
