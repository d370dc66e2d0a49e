"""The fusion engine (no Qt): network, activity, decision map, the :class:`Fuser`.

See ``../shared/reference/method.md`` and ``docs/architecture.md``.
"""

from brainfuse.fusion.compose import compose
from brainfuse.fusion.fuser import (
    METHODS,
    Fuser,
    FusionResult,
    SliceFusion,
    available_methods,
    check_methods,
)
from brainfuse.fusion.settings import DetailBlend, FusionSettings
from brainfuse.model.intensity import to_unit  # re-exported: the engine's input convention

__all__ = [
    "METHODS",
    "DetailBlend",
    "Fuser",
    "FusionResult",
    "FusionSettings",
    "SliceFusion",
    "available_methods",
    "check_methods",
    "compose",
    "to_unit",
]
