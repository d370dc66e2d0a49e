"""The order of a slice-first fusion and its progress steps.

The slice on screen is fused first, then the others by distance from it
(:func:`slice_order`); each slice done is one :class:`FusionStep`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FusionStep", "slice_order"]


@dataclass(frozen=True)
class FusionStep:
    """One slice done: its index, how many are done of how many."""

    index: int
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Fraction of the slices fused so far."""
        return self.done / self.total


def slice_order(n: int, first: int | None = None) -> list[int]:
    """Slices ``0..n-1`` with ``first`` first, then by distance from it (the middle default)."""
    if first is None:
        first = n // 2
    first = int(np.clip(first + n if first < 0 else first, 0, n - 1))
    return sorted(range(n), key=lambda k: (abs(k - first), k))
