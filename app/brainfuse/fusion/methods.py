"""The fusion methods a user can choose: one registry for the CLI, evaluation, bench and window."""

from __future__ import annotations

from dataclasses import dataclass

from brainfuse.errors import BrainFuseError

__all__ = ["METHODS", "Method", "available_methods", "check_methods"]


@dataclass(frozen=True)
class Method:
    """One fusion method of the registry.

    Attributes
    ----------
    name : str, as the user types it
    baseline : str or None, the function of :mod:`brainfuse.fusion.baselines` (None: ours)
    has_map : bool, whether it decides per pixel (a decision map worth showing)
    """

    name: str
    baseline: str | None
    has_map: bool


#: The methods a user can choose, ours first: the one registry (CLI choices, evaluation,
#: benchmark, window).
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("cnn", None, True),
        Method("average", "average", False),
        Method("laplacian", "laplacian_pyramid", False),
        Method("pixel-sf", "pixel_sf", True),
    )
}


def available_methods() -> list[str]:
    """Fusion methods a user can choose: ``cnn`` (ours) first, then the baselines."""
    return list(METHODS)


def check_methods(methods: list[str]) -> list[str]:
    """Return ``methods`` unchanged, or raise a BrainFuseError naming the unknown ones."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise BrainFuseError(
            f"unknown fusion method {', '.join(repr(m) for m in unknown)}: choose one of "
            f"{', '.join(METHODS)}"
        )
    return methods
