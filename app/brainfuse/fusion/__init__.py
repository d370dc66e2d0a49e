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
from brainfuse.intensity import to_unit  # re-exported: the engine's input convention

__all__ = [
    "Fuser",
    "FusionSettings",
    "DetailBlend",
    "FusionResult",
    "SliceFusion",
    "compose",
    "available_methods",
    "check_methods",
    "METHODS",
    "to_unit",
]
