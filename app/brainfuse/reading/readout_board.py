"""Numbers for the picture on screen: each readout is current or pending, never stale (no Qt).

A :class:`Readouts` board holds the readouts shown beside the fused image (``ssim``,
``psnr``, ``bone_kept``, ``brain_kept``, ``fusion_ms``). Every change of what is on screen
(an edit, a window, a recompose, another slice) calls :meth:`Readouts.invalidate`, which
starts a new *picture* (a counter) and turns every readout it names pending. A value
computed later (off the GUI thread when slow) is accepted only for the picture it was
computed from (:meth:`Readouts.put`): a result that arrives after a newer change is dropped,
so an old number is never shown as the current one. :meth:`Readouts.shown` is what a view
shows and a script reads (the numbers, ``None`` while pending, and the ``pending`` list).

``fusion_ms`` is the fusion's own time (per slice, from the engine's timings), set once per
fusion: a recompose or a scroll does not change it (:meth:`Readouts.fusion_time`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["READOUTS", "Readouts"]

#: The readouts, in the order they are shown.
READOUTS = ("ssim", "psnr", "bone_kept", "brain_kept", "fusion_ms")
#: Readouts that describe the fused slice on screen (so each change of it invalidates them).
_PICTURE = ("ssim", "psnr", "bone_kept", "brain_kept")


class Readouts:
    """The readouts of the picture on screen (see the module notes).

    Attributes
    ----------
    picture : int
        The current picture; values computed for another one are dropped.
    """

    def __init__(self, names: Iterable[str] = READOUTS) -> None:
        self.names = tuple(names)
        self.picture = 0
        self._values: dict[str, float | None] = dict.fromkeys(self.names)
        self._pending: set[str] = set(self.names)

    def invalidate(self, names: Iterable[str] = _PICTURE) -> int:
        """Start a new picture (the screen changed), ``names`` pending; returns its number."""
        self.picture += 1
        for name in names:
            self._check(name)
            self._pending.add(name)
            self._values[name] = None
        return self.picture

    def put(self, picture: int, values: Mapping[str, float | None]) -> bool:
        """Accept ``values`` computed for ``picture``; False (nothing kept) if it is not current."""
        if picture != self.picture:
            return False
        for name, value in values.items():
            self._check(name)
            self._values[name] = None if value is None else float(value)
            self._pending.discard(name)
        return True

    def fusion_time(self, timings_ms: Mapping[str, float], n_slices: int) -> None:
        """Set ``fusion_ms`` from a fusion's engine timings (ms per slice), not a recompose's.

        ``timings_ms`` is :attr:`brainfuse.model.results.FusionResult.timings`; a recompose's
        timings (``{"recompose": ...}`` only) leave the fusion's time as it was.
        """
        if "fusion_ms" not in self._values or "total" not in timings_ms:
            return
        self._values["fusion_ms"] = float(timings_ms["total"]) / max(int(n_slices), 1)
        self._pending.discard("fusion_ms")

    @property
    def pending(self) -> list[str]:
        """The readouts not yet current, in display order."""
        return [n for n in self.names if n in self._pending]

    def shown(self) -> dict[str, Any]:
        """Return the numbers as a view shows them (None while pending) and ``pending``."""
        out: dict[str, Any] = {
            n: (None if n in self._pending else self._values[n]) for n in self.names
        }
        out["pending"] = self.pending
        return out

    def _check(self, name: str) -> None:
        if name not in self._values:
            raise KeyError(f"unknown readout {name!r}; known: {', '.join(self.names)}")
