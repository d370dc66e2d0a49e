"""A volume's fusion decided in 3-D: z windows from the slice spacing, and a bounded cache.

A decision map made slice by slice jumps between neighbouring slices where the anatomy does
not, which shows as banding in sagittal and coronal reformats (issue 14,
:func:`brainfuse.model.planes.banding`). In a volume the ``cnn`` method therefore takes its two
local windows in 3-D, each made about isotropic in millimetres from its in-plane size:

- **activity**: the in-plane box sums (``window`` pixels of the encoder's grid, i.e.
  ``window * f`` pixels of a slice the encoder reduces by ``f``,
  :func:`~brainfuse.fusion.settings.encoder_factor`) of the ``2 r + 1`` slices around
  slice ``k`` are added before the two images are compared, with
  ``r = round((window * f / 2) * pixel / spacing)`` (the box's half width, in mm, along z as
  in the plane); slices thicker than that (``r = 0``) are decided on their own;
- **consistency verification**: after the in-plane verification of each slice's hard map,
  a three-slice majority (slice ``k`` against ``k - 1`` and ``k + 1``; a tie at the volume's
  ends keeps slice ``k``) overrules a decision that holds in one slice alone, when the
  verification's disk (``cv_radius`` pixels, scaled) reaches the next slice in mm;
- **soft map**: the detail blend's local means (:func:`~brainfuse.fusion.decision.detail_blend`)
  are Gaussian along z too, ``sigma_z = sigma * (slice size / 256) * pixel / spacing`` slices,
  truncated at 2 sigma like the in-plane one; at the volume's ends the weights of the slices
  that exist are renormalised.

``pixel`` is the mean in-plane spacing and ``spacing`` the distance between slices (mm).
The ``anatomy`` rule's bone stays per slice; its intracranial area is bracketed along z
(:func:`~brainfuse.fusion.anatomy.bracketed`): where a slice's skull ring is open (the
posterior fossa, the skull base) but the slices within ``BRACKET_MM`` above and below both
find the inside of the skull, that inside holds in the slice too, so the brain does not
switch to the CT for one or two slices (bands in sagittal and coronal reformats). A single slice
(2-D pair) has no neighbours: its numbers are exactly those of a 2-D fusion.

:class:`Neighbourhood` holds each slice's activity difference (and block-averaged blend inputs) only
while a slice not yet fused lies within reach: a sliding window at the fusion's fronts,
never the whole activity volume, and no slice is encoded twice. A slice's result depends on
its neighbours' inputs only, never on the order in which slices are fused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from brainfuse.fusion.decision import NeighbourMeans, _dilate, _erode, mask_box, scaled_radius
from brainfuse.fusion.settings import FusionSettings, encoder_factor

__all__ = ["BRACKET_MM", "MAX_RADIUS", "SEAL_MM", "Neighbourhood", "ZWindows"]

#: Most neighbours on each side (slices), bounding the cache and the first slice's wait for
#: very thin slices.
MAX_RADIUS = 16
#: Reach (mm) of the ``anatomy`` rule's intracranial bracket on each side of a slice; also
#: the half height of the cylinder that seals the bone in 3-D.
BRACKET_MM = 4.5
#: In-plane radius (mm) of the cylinder that seals the bone in 3-D (gaps up to twice that
#: wide, bridged by bone above and below, close).
SEAL_MM = 4.0

Inputs = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ZWindows:
    """The z extent of a volume's two windows.

    Attributes
    ----------
    activity : int
        ``r``: slices on each side whose box-summed activities are added.
    majority : int
        1: each verified hard map is put to a vote with its two neighbours; 0: not.
    blend : float32 (2 R + 1,)
        Gaussian weights of the blend's local means along z, slice ``k + i - R`` at ``i``
        (not normalised; ``R = 0``: in the slice alone).
    bracket : int
        Slices on each side whose intracranial areas bracket slice ``k``'s
        (:func:`~brainfuse.fusion.anatomy.bracketed`, ``BRACKET_MM`` of z; 0: the slice's own),
        and the half height (slices) of the cylinder that seals the bone in 3-D.
    seal : int
        In-plane radius (pixels, ``SEAL_MM``) of that cylinder
        (:meth:`Neighbourhood.sealed`); 0: the bone is not sealed in 3-D.
    """

    activity: int
    majority: int
    blend: np.ndarray
    bracket: int = 0
    seal: int = 0

    @classmethod
    def for_grid(
        cls, spacing: Sequence[float], shape: tuple[int, int], settings: FusionSettings
    ) -> ZWindows:
        """Choose the windows of a grid.

        Parameters
        ----------
        spacing : (x, y, z) voxel spacing in mm (:attr:`brainfuse.model.image.ImageVolume.spacing`)
        shape : (rows, cols) of a slice
        settings : FusionSettings (``window``, ``encoder_size``, ``consistency``,
            ``cv_radius``, ``refine``, ``detail.sigma``)
        """
        sx, sy, sz = (float(v) for v in spacing)
        pixel = 0.5 * (sx + sy)
        per_slice = pixel / sz if sz > 0 else 0.0  # in-plane pixels -> slices
        # the box window k is counted on the encoder's grid (encoder_factor pixels each)
        box = settings.window * encoder_factor(shape, settings.encoder_size)
        r = min(round(0.5 * box * per_slice), MAX_RADIUS)
        cv_reach = scaled_radius(settings.cv_radius, shape) * per_slice  # slices
        vote = int(settings.consistency and cv_reach >= 1.0)
        weights = np.ones(1, np.float32)
        if settings.refine == "detail":
            sigma = settings.detail.sigma * min(shape) / 256.0 * per_slice
            big_r = min(int(2.0 * sigma + 0.5), MAX_RADIUS)  # truncated at 2 sigma
            if big_r > 0:
                i = np.arange(-big_r, big_r + 1, dtype=np.float64)
                weights = np.exp(-0.5 * (i / sigma) ** 2).astype(np.float32)
        bracket = max(min(round(BRACKET_MM / sz), MAX_RADIUS) if sz > 0 else 0, 0)
        seal = round(SEAL_MM / pixel) if bracket > 0 and pixel > 0 else 0
        return cls(max(r, 0), vote, weights, bracket, seal)


def _disk_op(mask: np.ndarray, r: int, grow: bool) -> np.ndarray:
    """Dilation (``grow``) or erosion by the disk of radius ``r``, outside the slice no bone.

    Computed on the mask's bounding box (grown by ``r`` for a dilation): the same result
    at the cost of the box (the skull spans about half a 512 x 512 slice).
    """
    out = np.zeros(mask.shape, bool)
    box = mask_box(mask, r if grow else 0)
    if box is None:
        return out
    crop = mask[box]
    if grow:
        out[box] = _dilate(crop, r)
    else:
        out[box] = _erode(np.pad(crop, r), r)[r:-r, r:-r] if r > 0 else crop
    return out


class _Packed:
    """The bool masks of one slice's AnatomyRegions (or its brain mask alone), bit-packed."""

    def __init__(self, regions: Any):
        names = ("from_ct", "brain", "edges1", "edges2")
        self.shape = regions.brain.shape
        self.masks = {
            n: np.packbits(getattr(regions, n)) for n in names if getattr(regions, n) is not None
        }
        self.regions = replace(regions, **dict.fromkeys(self.masks))  # the masks held packed

    def _mask(self, name: str) -> np.ndarray | None:
        bits = self.masks.get(name)
        if bits is None:
            return None
        return np.unpackbits(bits, count=int(np.prod(self.shape))).reshape(self.shape).view(bool)

    def unpack(self) -> Any:
        """Return the AnatomyRegions."""
        return replace(self.regions, **{n: self._mask(n) for n in self.masks})

    def brain(self) -> np.ndarray:
        """Return the brain mask."""
        mask = self._mask("brain")
        assert mask is not None
        return mask

    def brain_only(self) -> _Packed:
        """Return a copy that holds the brain mask alone."""
        out = _Packed.__new__(_Packed)
        out.regions, out.shape, out.masks = None, self.shape, {"brain": self.masks["brain"]}
        return out

    def arrays(self) -> list[np.ndarray]:
        """Return the packed arrays held."""
        return list(self.masks.values())


class Neighbourhood:
    """What the slices of one volume's fusion share with their neighbours, while it is needed.

    Parameters
    ----------
    n_slices : int
    windows : ZWindows

    Attributes
    ----------
    done : bool (n_slices,), the slices fused (their neighbours' data may go)
    encoded : int, slices whose activities were computed (each once)
    encoding : list of (slices, gatherer)
        The next batch's activities being encoded on the worker threads
        (:meth:`~brainfuse.fusion.Fuser.submit_activity` with ``ahead``) while the calling
        thread decides the batch before.
    ahead : Future or None
        The regions of the next batch being found on a background thread
        (:meth:`~brainfuse.fusion.Fuser.slices`); :meth:`regions`, :meth:`bone` and
        :meth:`sealed` may run there while the calling thread decides and :meth:`finish`-es
        the slices before, so what they hold is guarded by one lock (the work itself runs
        outside it; a slice two threads both find is found the same and held once).
    """

    def __init__(self, n_slices: int, windows: ZWindows):
        self.windows = windows
        self.done = np.zeros(n_slices, bool)
        self.encoded = 0
        self.ahead: Future[None] | None = None
        self.encoding: list[tuple[list[int], Callable[[], tuple[np.ndarray, np.ndarray]]]] = []
        self._lock = threading.Lock()
        self._activity: dict[int, np.ndarray] = {}
        self._hard: dict[int, np.ndarray] = {}
        self._inputs: dict[int, Inputs] = {}
        self._regions: dict[int, _Packed] = {}  # AnatomyRegions of slices not yet fused
        self._brains: dict[int, _Packed] = {}  # the brain masks of fused slices
        self._bone: dict[int, np.ndarray] = {}  # bone priors (packed) the 3-D seal reads
        self._grown: dict[int, np.ndarray] = {}  # the seal's dilation stage (packed)
        self._plane: tuple[int, int] = (0, 0)

    @property
    def n_slices(self) -> int:
        """Number of slices of the volume."""
        return self.done.size

    @property
    def held(self) -> int:
        """Slices whose activities are held now."""
        return len(self._activity)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held now (activities, hard maps, blend inputs)."""
        with self._lock:
            arrays = [*self._activity.values(), *self._hard.values()]
            arrays += [m for r in self._regions.values() for m in r.arrays()]
            arrays += [m for r in self._brains.values() for m in r.arrays()]
            arrays += [x for inputs in self._inputs.values() for x in inputs]
            arrays += [*self._bone.values(), *self._grown.values()]
        return sum(x.nbytes for x in arrays)

    def _span(self, k: int, r: int) -> range:
        return range(max(k - r, 0), min(k + r + 1, self.n_slices))

    def missing_activity(self, targets: Sequence[int]) -> list[int]:
        """Slices whose activities ``targets`` need and that are not held, in index order."""
        r = self.windows.activity + self.windows.majority
        need = {j for k in targets for j in self._span(k, r)}
        return sorted(need.difference(self._activity))

    def put_activity(self, j: int, a1: np.ndarray, a2: np.ndarray) -> None:
        """Hold slice ``j``'s box-summed activities (computed once) as ``a1 - a2``."""
        self._activity[j] = a1 - a2  # one array: a1 > a2 exactly where a1 - a2 > 0
        self.encoded += 1

    def activity(self, k: int) -> np.ndarray:
        """Return the activity difference slice ``k`` compares with 0: its window's, added.

        ``sum(a1 - a2)`` over the slices ``k - r .. k + r`` that exist, in index order
        (``> 0``: image 1 has more activity in the 3-D box).

        Raises
        ------
        KeyError
            A neighbour's activities are not held (:meth:`missing_activity` first).
        """
        span = self._span(k, self.windows.activity)
        total = self._activity[span[0]].copy()
        for j in span[1:]:
            total += self._activity[j]
        return total

    def hard(self, k: int, verify: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Return slice ``k``'s hard map verified in 3-D (a new uint8 array).

        Parameters
        ----------
        k : int
        verify : callable(difference) -> the in-plane verified hard map of ``difference > 0``
            (:func:`~brainfuse.fusion.decision.hard_map`), called once per slice on
            :meth:`activity`
        """
        span = self._span(k, self.windows.majority)
        for j in span:
            if j not in self._hard:
                self._hard[j] = verify(self.activity(j))
        if len(span) < 3:  # alone, or at an end of the volume: a tie of two keeps its own
            return self._hard[k].copy()
        a, b, c = (self._hard[j] for j in span)
        return (a & b) | (a & c) | (b & c)  # two of three

    def around(self, k: int, inputs: Callable[[int], Inputs]) -> NeighbourMeans | None:
        """Return the neighbours' share of slice ``k``'s blend means (None: no neighbour).

        Parameters
        ----------
        k : int
        inputs : callable(j) -> :func:`~brainfuse.fusion.decision.blend_inputs` of slice j,
            called once per slice while it is held
        """
        weights = self.windows.blend
        big_r = weights.size // 2
        span = self._span(k, big_r)
        if len(span) == 1:
            return None
        w = weights[span[0] - k + big_r : span[-1] - k + big_r + 1]
        w = w / w.sum(dtype=np.float32)
        sums: list[np.ndarray] = []
        for j, wj in zip(span, w, strict=True):
            if j == k:
                continue
            if j not in self._inputs:
                self._inputs[j] = inputs(j)
            if not sums:
                sums = [wj * x for x in self._inputs[j]]
                continue
            for total, x in zip(sums, self._inputs[j], strict=True):
                total += wj * x
        e1, e2, level = sums
        return NeighbourMeans(float(w[k - span[0]]), e1, e2, level)

    def regions(self, k: int, find: Callable[[int], Any]) -> tuple[Any, list[np.ndarray], int]:
        """Return slice ``k``'s anatomy regions and the intracranial areas around it.

        Parameters
        ----------
        k : int
        find : callable(j) -> :func:`~brainfuse.fusion.anatomy.anatomy_regions` of slice j,
            called once per slice

        Returns
        -------
        regions : slice ``k``'s AnatomyRegions
        brains : the ``brain`` masks of slices ``k - b .. k + b`` (``b`` = ``bracket``) that
            exist, in index order
        at : the position of slice ``k`` in ``brains``

        The masks are held bit-packed (an eighth of a bool array); a fused slice keeps only
        its ``brain`` mask, while a neighbour within ``b`` still needs it.
        """
        span = self._span(k, self.windows.bracket)
        for j in span:
            with self._lock:
                known = j in self._regions or j in self._brains
            if not known:
                packed = _Packed(find(j))
                with self._lock:
                    if j not in self._regions and j not in self._brains:
                        self._regions[j] = packed
        with self._lock:
            mine = self._regions.get(k)
            held = [self._brains[j] if j in self._brains else self._regions[j] for j in span]
        own = mine.unpack() if mine is not None else find(k)
        return own, [p.brain() for p in held], k - span.start

    def _unpacked(self, bits: np.ndarray) -> np.ndarray:
        n = self._plane[0] * self._plane[1]
        return np.unpackbits(bits, count=n).reshape(self._plane).view(bool)

    def bone(self, j: int, read: Callable[[int], np.ndarray]) -> np.ndarray:
        """Return slice ``j``'s bone prior, read once (``read(j)``) and held bit-packed."""
        return self._unpacked(self._bone_bits(j, read))

    def _bone_bits(self, j: int, read: Callable[[int], np.ndarray]) -> np.ndarray:
        with self._lock:
            bits = self._bone.get(j)
        if bits is None:
            mask = np.asarray(read(j), bool)
            with self._lock:
                self._plane = mask.shape
                bits = self._bone.setdefault(j, np.packbits(mask))
        return bits

    def sealed(self, k: int, read: Callable[[int], np.ndarray]) -> np.ndarray | None:
        """Return slice ``k``'s bone closed in 3-D by the windows' cylinder (None: not sealed).

        The closing of the volume's bone by a cylinder (the disk of radius ``r`` = ``seal``
        pixels in plane, ``b`` = ``bracket`` slices above and below) is separable, and the
        disk's dilation commutes with a union, its erosion with an intersection: slice
        ``j``'s dilation is the disk's dilation of the union of the bone of slices
        ``j - b .. j + b``; slice ``k``'s closing is the disk's erosion of the intersection
        of the dilations of slices ``k - b .. k + b`` (outside the slice counts as no bone;
        at the volume's ends only the slices that exist). One dilation and one erosion per
        slice; unions and intersections on the bit-packed masks. A ring open in one slice
        (a foramen, a thin or oblique plate at the skull base, the rim of the foramen
        magnum) is so closed where bone lies within ``r`` in plane, both above and below
        within ``b`` slices.

        Parameters
        ----------
        k : int
        read : callable(j) -> slice ``j``'s bone prior ((H, W) bool), called once per slice
            while a slice not yet fused may need it (held bit-packed)
        """
        b, r = self.windows.bracket, self.windows.seal
        if b < 1 or r < 1:
            return None
        grown = []
        for j in self._span(k, b):
            with self._lock:
                bits = self._grown.get(j)
            if bits is None:
                around = np.bitwise_or.reduce([self._bone_bits(i, read) for i in self._span(j, b)])
                bits = np.packbits(_disk_op(self._unpacked(around), r, grow=True))
                with self._lock:
                    bits = self._grown.setdefault(j, bits)
            grown.append(bits)
        inside = self._unpacked(np.bitwise_and.reduce(grown))
        return _disk_op(inside, r, grow=False)

    def finish(self, k: int) -> None:
        """Slice ``k`` is fused: let go of what no slice left to fuse needs."""
        with self._lock:
            self._finish(k)

    def _finish(self, k: int) -> None:
        self.done[k] = True
        if k in self._regions:
            self._brains[k] = self._regions.pop(k).brain_only()
        for held, r in (
            (self._activity, self.windows.activity + self.windows.majority),
            (self._hard, self.windows.majority),
            (self._inputs, self.windows.blend.size // 2),
            (self._brains, self.windows.bracket),
            (self._grown, 2 * self.windows.bracket),  # regions of k +- b need k +- 2 b
            (self._bone, 3 * self.windows.bracket),
        ):
            for j in [j for j in held if self.done[self._span(j, r).start : j + r + 1].all()]:
                del held[j]
