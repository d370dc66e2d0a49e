"""The ``anatomy`` rule: the CT's bone from the CT, the brain from the MRI, edges and the CNN decide the rest.

A radiologist fuses CT with MRI to see the CT's bone and the MRI's soft tissue in one picture
(``../shared/reference/anatomy.md``). The deep-feature map of SESF-Fuse takes whichever image
has more texture, so it replaces the CT's flat, saturated bone with the MRI's dark cortical
band and drops CT patches into the brain. This rule overrides it where the anatomy is known:

1. **bone** (the bone prior, from the CT's own values: ``HU >= 300``, or ``>= 200`` on an
   8-bit slice; :func:`brainfuse.model.intensity.volume_bone_mask`): image 1 (the CT);
2. **inner table** (the intracranial area's rim along the bone, 2 pixels of the slice: the
   CT's partial-volume bone edge, below the bone threshold): image 1, so the skull's inner
   edge is the CT's own profile, not the MRI's dark cortical band;
3. **intracranial area** (inside the skull, past that rim: the bone closed by a small disk
   to seal gaps, its holes filled, the bone itself excluded; where wider gaps leave it open
   but the bone still surrounds the head in most directions, the inside of the bone's
   convex hull within the MRI's head outline, :func:`intracranial`): image 2 (the MRI);
4. **everywhere else** (scalp, sinuses, orbits, the face, slices whose skull is open):
   where one image's own edges are clearly the stronger (local Sobel strength at least
   ``edge_ratio`` times the other's, :func:`dominant_edges`), that image; elsewhere the
   deep-feature hard map after consistency verification, as in ``sesf``. The deep map
   alone, summed over its window, carried the CT's bone-edge activity a few pixels into
   the scalp and took the CT's flat soft tissue there; the pixel edges keep the MRI's
   scalp layers and the CT's facial bones and sinus walls where each is;
5. background (both sources dark) is image 2.

The hard map is then softened by the same detail blend as ``sesf``
(:func:`~brainfuse.fusion.decision.soft_map`), but a bone or inner-table pixel never moves
more than ``tolerance`` grey levels from the CT and an intracranial pixel never more than
that from the MRI. Region borders lie on the CT's own bone edges, so there is no seam and
no halo.

Dense tissue inside the skull: pixels at bone density (calcifications, ``>= 300 HU``) are
bone and come from the CT (the MRI barely shows calcium); a hyperdense bleed (50-100 HU)
is below bone density and comes from the MRI like the rest of the brain.

The map is computed on a fixed representation of the CT (the 8-bit values, or the default
brain window of a HU CT), never on the display window: changing the CT's window recomposes
``F = W * CT_display + (1 - W) * MRI_display`` without changing ``W``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy import ndimage

from brainfuse.fusion.activity import from_encoder_grid, to_encoder_grid
from brainfuse.fusion.decision import (
    NeighbourMeans,
    _dilate,
    _erode,
    hard_map,
    mask_box,
    scaled_radius,
    soft_map,
)
from brainfuse.fusion.settings import FusionSettings, encoder_factor
from brainfuse.model.bone import CT_NO_DATA, MRI_NO_DATA, touching_border

__all__ = [
    "AnatomyRegions",
    "anatomy_maps",
    "anatomy_regions",
    "bracketed",
    "dominant_edges",
    "intracranial",
    "rule_maps",
    "rule_that_runs",
    "slice_maps",
]


def rule_that_runs(settings: FusionSettings, has_bone: bool) -> str:
    """Name the rule a fusion actually runs: ``anatomy`` needs a bone prior, else ``sesf``."""
    return "anatomy" if settings.rule == "anatomy" and has_bone else "sesf"


def slice_maps(
    a1: np.ndarray,
    a2: np.ndarray,
    i1: np.ndarray,
    i2: np.ndarray,
    bone: np.ndarray | None,
    settings: FusionSettings,
    around: NeighbourMeans | None = None,
    *,
    regions: AnatomyRegions | None = None,
    nodata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard and soft map of one slice under the rule that runs (:func:`rule_that_runs`).

    Parameters
    ----------
    a1, a2 : (H, W) float32, the box-summed deep activities
    i1, i2 : (H, W) float32 in [0, 1], the sources in their fixed (decision) representation
    bone : (H, W) bool or None, the bone prior
    settings : FusionSettings
    around : NeighbourMeans or None
        In a volume, the neighbouring slices' share of the soft map's local means
        (:func:`~brainfuse.fusion.decision.detail_blend`); None for a single slice.
    regions : AnatomyRegions or None
        The ``anatomy`` rule's regions (:func:`anatomy_regions`) when already found (they
        need no activity, so the fuser finds them while the encoder runs).
    nodata : (H, W) uint8 (or bool) or None
        Which source has no data (:func:`brainfuse.model.bone.source_no_data`; a bool
        mask is the CT's): where the CT has none (outside its field of view, a straight
        cut filled with padding) image 2, where the MRI has none (outside its field of
        view, around a skull-stripped brain) image 1, under either rule.

    Returns
    -------
    hard (uint8, 1 = image 1) and soft (float32, the weight of image 1); background (both
    sources below ``settings.background``) is 0 in both.
    """
    dm = hard_map(a1, a2, settings)
    return rule_maps(dm, i1, i2, bone, settings, around, regions=regions, nodata=nodata)


def rule_maps(
    dm: np.ndarray,
    i1: np.ndarray,
    i2: np.ndarray,
    bone: np.ndarray | None,
    settings: FusionSettings,
    around: NeighbourMeans | None = None,
    *,
    regions: AnatomyRegions | None = None,
    nodata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard and soft map of one slice from its verified deep-feature hard map ``dm``.

    :func:`slice_maps` after :func:`~brainfuse.fusion.decision.hard_map` (a volume's
    slices come here with a map verified in 3-D, :mod:`brainfuse.fusion.volume`); ``dm``
    (uint8) may be written to. ``nodata`` (uint8 codes of
    :func:`brainfuse.model.bone.source_no_data`, or bool: the CT's) says where one source
    has no data: the other is taken there, under either rule.
    """
    codes = None if nodata is None else np.asarray(nodata, np.uint8)  # bool: True = the CT's
    ct_empty, mri_empty = (
        None if codes is None or not (codes == code).any() else codes == code
        for code in (CT_NO_DATA, MRI_NO_DATA)
    )
    for empty, value in ((ct_empty, 0), (mri_empty, 1)):
        if empty is not None:
            dm[empty] = value  # the blend's means then see the source taken there
    if bone is not None and rule_that_runs(settings, True) == "anatomy":
        if regions is None:
            regions = anatomy_regions(bone, i1, i2, settings)
        if ct_empty is not None:
            regions = replace(
                regions, from_ct=regions.from_ct & ~ct_empty, brain=regions.brain | ct_empty
            )
        if mri_empty is not None:
            regions = replace(
                regions, from_ct=regions.from_ct | mri_empty, brain=regions.brain & ~mri_empty
            )
        dm, soft = anatomy_maps(dm, regions, i1, i2, settings, around)
    else:
        soft = soft_map(dm, i1, i2, settings, around)
        back = np.maximum(i1, i2) < settings.background / 255.0
        dm[back] = 0
        soft[back] = 0.0
    for empty, value in ((ct_empty, 0), (mri_empty, 1)):
        if empty is not None:  # also where the other source is dark: it has data, this none
            dm[empty] = value
            soft[empty] = float(value)
    return dm, soft


def _closing(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary closing by the disk of radius ``r`` (the area outside the slice is background).

    Computed on the mask's bounding box grown by ``2 r``: nothing farther is ever set.
    """
    if r <= 0:
        return mask
    box = mask_box(mask, 2 * r)
    if box is None:
        return mask.copy()
    p = np.pad(mask[box], 2 * r)
    out = np.zeros_like(mask)
    out[box] = _erode(_dilate(p, r), r)[2 * r : -2 * r, 2 * r : -2 * r]
    return out


_SECTORS = 72  # directions (5 degrees each) in which the ring coverage is counted


def _enclosed(sealed: np.ndarray) -> np.ndarray:
    """``binary_fill_holes(sealed) & ~sealed``: background not connected to the border.

    Labelled on ``sealed``'s bounding box grown by a pixel: the background around the box
    reaches the border, so a region touching the box's edge is outside.
    """
    out = np.zeros_like(sealed)
    box = mask_box(sealed, 1)
    if box is not None:
        crop = sealed[box]
        out[box] = ~crop & ~touching_border(~crop)
    return out


def _convex_fill(mask: np.ndarray) -> np.ndarray:
    """Fill the pixels inside the convex hull of ``mask``'s pixel centres (boundary included).

    The hull is that of each row's first and last pixel (every other pixel lies between
    them). A convex polygon meets each row in one span, so the fill is one ``lo <= x <= hi``
    comparison per row (the spans from the hull's edges: O(rows x edges)), much faster than
    a point-in-polygon test of every pixel.
    """
    from scipy.spatial import ConvexHull, QhullError

    rows = np.nonzero(mask.any(axis=1))[0]
    first = np.argmax(mask[rows], axis=1)
    last = mask.shape[1] - 1 - np.argmax(mask[rows, ::-1], axis=1)
    pts = np.concatenate([np.stack([rows, first], axis=1), np.stack([rows, last], axis=1)]).astype(
        np.float64
    )  # (y, x)
    try:
        v = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):  # all on one line, or too few points
        return mask.copy()
    y0, x0 = v[:, 0], v[:, 1]
    y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
    rows_f = np.arange(mask.shape[0], dtype=np.float64)[:, None]
    dy = np.where(y1 == y0, 1.0, y1 - y0)
    t = (rows_f - y0) / dy
    flat = y1 == y0
    on = np.where(flat, rows_f == y0, (t >= 0) & (t <= 1))
    x_a = np.where(flat, x0, x0 + t * (x1 - x0))
    x_b = np.where(flat, x1, x_a)
    lo = np.where(on, np.minimum(x_a, x_b), np.inf).min(axis=1) - 1e-6
    hi = np.where(on, np.maximum(x_a, x_b), -np.inf).max(axis=1) + 1e-6
    cols = np.arange(mask.shape[1], dtype=np.float64)[None, :]
    return (cols >= lo[:, None]) & (cols <= hi[:, None])


def _coverage(bone: np.ndarray, hull: np.ndarray) -> float:
    """Fraction of the directions from the hull's centre in which there is bone.

    The centre is the mean of the hull's pixel coordinates, from its row and column counts
    (integer sums: the same float64 as the mean of every pixel's coordinates).
    """
    rows, cols = hull.sum(axis=1, dtype=np.int64), hull.sum(axis=0, dtype=np.int64)
    n = int(rows.sum())
    cy = float(np.dot(np.arange(rows.size, dtype=np.int64), rows)) / n
    cx = float(np.dot(np.arange(cols.size, dtype=np.int64), cols)) / n
    by, bx = np.nonzero(bone)
    angle = np.arctan2(by - cy, bx - cx)
    sector = ((angle + np.pi) * (_SECTORS / (2 * np.pi))).astype(np.intp) % _SECTORS
    return np.count_nonzero(np.bincount(sector, minlength=_SECTORS)) / _SECTORS


def intracranial(
    bone: np.ndarray,
    close_radius: float = 3.0,
    mri: np.ndarray | None = None,
    *,
    ring_coverage: float = 0.75,
    level: float = 8.0 / 255.0,
) -> np.ndarray:
    """Inside the skull.

    ``fill_holes(closing(bone)) & ~closing(bone)`` where the closed skull encloses the
    brain. Where it does not (gaps wider than the closing: thin temporal bone, coarse
    slices; open rings at the skull base) but the bone still surrounds the head in
    ``ring_coverage`` of the directions seen from the centre of its convex hull, the inside
    of that hull within the MRI's head outline (so the CT's head holder and the air around
    stay outside).

    Parameters
    ----------
    bone : (H, W) bool, the bone prior of one slice
    close_radius : float
        Radius of the closing for a 256 x 256 slice (scaled with the slice).
    mri : (H, W) float in [0, 1] or None
        The MRI slice, for the head outline (``mri > level``, holes filled); None: no
        convex-hull fallback.
    ring_coverage : float
        Fraction of 72 directions (5 degrees each) that must meet bone; above 1 disables
        the fallback.
    level : float
        Background level of the MRI.

    Returns
    -------
    (H, W) bool; empty where nothing is enclosed (top of the head, low skull base).
    """
    bone = np.asarray(bone, bool)
    sealed = _closing(bone, scaled_radius(close_radius, bone.shape))
    inside = _enclosed(sealed)
    if mri is None or bone.sum() < 20:
        return inside
    if ring_coverage > 1:
        return inside
    box = mask_box(bone, 0)
    assert box is not None  # the bone has 20 pixels or more
    rows, cols = box
    box_area = (rows.stop - rows.start) * (cols.stop - cols.start)
    if inside.sum() >= 0.5 * box_area:  # the hull's room lies in the bone's box: inside is kept
        return inside
    outline = np.asarray(mri) > level
    head = outline | _enclosed(outline)  # its holes filled (binary_fill_holes, by labels)
    skull = bone & head
    if skull.sum() < 20:
        return inside
    hull = _convex_fill(skull)
    room = hull & head & ~sealed
    if inside.sum() >= 0.5 * room.sum() or _coverage(skull, hull) < ring_coverage:
        return inside
    return room


@dataclass(frozen=True)
class AnatomyRegions:
    """Where the ``anatomy`` rule overrides the deep-feature map in one slice.

    All (H, W) bool; found from the bone prior and the two sources alone, no activity
    (:func:`anatomy_regions`).

    Attributes
    ----------
    from_ct : the bone and the inner table's rim inside it: image 1
    brain : the intracranial area past that rim: image 2
    edges1, edges2 : outside both, where image 1's (image 2's) own edges dominate
        (:func:`dominant_edges`); None when ``edge_ratio`` is 0
    """

    from_ct: np.ndarray
    brain: np.ndarray
    edges1: np.ndarray | None
    edges2: np.ndarray | None


def anatomy_regions(
    bone: np.ndarray,
    ct: np.ndarray,
    mri: np.ndarray,
    settings: FusionSettings,
    sealed: np.ndarray | None = None,
) -> AnatomyRegions:
    """Find the ``anatomy`` rule's regions of one slice.

    The intracranial area is :func:`intracranial` with the rule's settings; its rim of
    ``inner_table`` pixels along the bone goes with the bone; the dominant edges are
    :func:`dominant_edges` at the encoder's size. It needs the bone prior and the two
    sources only, no activity.

    Parameters
    ----------
    bone : (H, W) bool, the bone prior
    ct, mri : (H, W) float32 in [0, 1], the two sources in their fixed (decision)
        representation
    settings : FusionSettings (``anatomy``, ``background``, ``encoder_size``)
    sealed : (H, W) bool or None
        In a volume, the bone closed in 3-D
        (:meth:`brainfuse.fusion.volume.Neighbourhood.sealed`): the intracranial area is
        searched inside it instead of ``bone`` (gaps that neighbouring slices' bone bridges
        do not open the ring); the bone and its rim stay the slice's own.

    Returns
    -------
    AnatomyRegions
    """
    rule = settings.anatomy
    bone = np.asarray(bone, bool)
    inside = intracranial(
        bone if sealed is None else sealed | bone,
        rule.close_radius,
        mri,
        ring_coverage=rule.ring_coverage,
        level=settings.background / 255.0,
    )
    inside |= _enclosed(bone)  # pockets the bone itself encloses (air cells, small fossae)
    rim = inside & _dilate(bone, round(rule.inner_table))  # pixels: not scaled
    edges1 = edges2 = None
    if rule.edge_ratio > 0:
        factor = encoder_factor(bone.shape, settings.encoder_size)
        edges1, edges2 = dominant_edges(ct, mri, rule.edge_ratio, rule.edge_radius, factor)
    return AnatomyRegions(from_ct=bone | rim, brain=inside & ~rim, edges1=edges1, edges2=edges2)


def bracketed(
    own: AnatomyRegions, brains: list[np.ndarray], at: int, bone: np.ndarray, inner_table: float
) -> AnatomyRegions:
    """Return a slice's regions with its intracranial area bracketed by its neighbours'.

    A pixel is intracranial in the slice also when it is intracranial in some slice below
    and in some slice above within ``brains`` (the skull's inside is one cavity in 3-D: a
    ring open in one or two slices, at the skull base or in the posterior fossa, does not
    open it), unless it is the slice's own bone or its inner table's rim (``inner_table``
    pixels of the bone).

    Parameters
    ----------
    own : the slice's :class:`AnatomyRegions`
    brains : the ``brain`` masks of consecutive slices around it, in index order
    at : int, the slice's position in ``brains``
    bone : (H, W) bool, the slice's bone prior
    inner_table : float, the rim's width (pixels)

    Returns
    -------
    AnatomyRegions (``own`` itself when nothing is added)
    """
    if at == 0 or at == len(brains) - 1:
        return own
    below = np.logical_or.reduce(brains[:at])
    above = np.logical_or.reduce(brains[at + 1 :])
    extra = below & above & ~own.brain & ~own.from_ct
    if not extra.any():
        return own
    extra &= ~_dilate(np.asarray(bone, bool), round(inner_table))
    return replace(own, brain=own.brain | extra)


def _sobel(x: np.ndarray, axis: int) -> np.ndarray:
    """Return :func:`scipy.ndimage.sobel` of a 2-D float32 ``x`` bit for bit, in half the time.

    The same two passes in the same order: the derivative ``[-1, 0, 1]`` along ``axis``,
    then ``[1, 2, 1]`` along the other, each summed in float64 as SciPy sums them
    (``x[i + 1] - x[i - 1]``; ``2 x[i] + (x[i + 1] + x[i - 1])``) and rounded to float32.
    """
    p = np.pad(np.asarray(x, np.float32), 1, mode="symmetric").astype(np.float64)
    p = p if axis == 0 else p.T  # the derivative along the first axis of p
    d = (p[2:] - p[:-2]).astype(np.float32).astype(np.float64)  # the first pass's float32
    s = (d[:, 1:-1] * 2.0 + (d[:, 2:] + d[:, :-2])).astype(np.float32)
    return s if axis == 0 else np.ascontiguousarray(s.T)


def _edge_strength(x: np.ndarray, r: int) -> np.ndarray:
    """Sobel gradient magnitude of ``x`` (mirrored border), averaged over a ``2 r + 1`` square."""
    sy, sx = _sobel(x, 0), _sobel(x, 1)
    g = np.sqrt(sy * sy + sx * sx)  # np.hypot is 6x slower here, for nothing
    return ndimage.uniform_filter(g, 2 * r + 1) if r > 0 else g


def dominant_edges(
    i1: np.ndarray, i2: np.ndarray, ratio: float, radius: float = 1.0, factor: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Where one image's own edges are clearly stronger than the other's.

    The edge strength is the Sobel gradient magnitude (:func:`scipy.ndimage.sobel`, both
    axes, mirrored border) averaged over a ``2 r + 1`` square, ``r`` = ``radius`` scaled
    from 256 x 256 to the slice. With ``factor`` > 1 (a 512 x 512 slice at the encoder's
    size, :func:`~brainfuse.fusion.settings.encoder_factor`) it is measured on the slices
    block-averaged by ``factor`` and brought back bilinearly: edges compared at the same
    size in millimetres as the deep activity, at a quarter of the cost.

    Parameters
    ----------
    i1, i2 : (H, W) float arrays in [0, 1], the two sources (fixed representation)
    ratio : float
        How many times stronger an image's edges must be (>= 1).
    radius : float
        Radius of the local mean, pixels at 256 x 256.
    factor : int
        Whole block-averaging factor (1: full resolution).

    Returns
    -------
    stronger1, stronger2 : (H, W) bool
        Where image 1's edges are at least ``ratio`` times image 2's, and the reverse (a
        pixel where neither image has any edge is in neither).
    """
    both = torch.from_numpy(np.stack([np.asarray(i1, np.float32), np.asarray(i2, np.float32)]))
    small = to_encoder_grid(both, factor).numpy()
    r = scaled_radius(radius, small.shape)
    g = torch.from_numpy(np.stack([_edge_strength(x, r) for x in small]))
    g1, g2 = from_encoder_grid(g, factor, np.shape(i1)).numpy()
    return g1 > ratio * g2, g2 > ratio * g1


def anatomy_maps(
    dm: np.ndarray,
    regions: AnatomyRegions,
    i1: np.ndarray,
    i2: np.ndarray,
    settings: FusionSettings,
    around: NeighbourMeans | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard and soft map of one slice under the ``anatomy`` rule.

    Parameters
    ----------
    dm : (H, W) uint8, the deep-feature hard map after consistency verification
    regions : AnatomyRegions, the slice's (:func:`anatomy_regions`)
    i1, i2 : (H, W) float32 in [0, 1], the CT and the MRI in their fixed (decision)
        representation
    settings : FusionSettings (``anatomy``, ``detail``, ``background``)
    around : NeighbourMeans or None, as in :func:`slice_maps`

    Returns
    -------
    hard : (H, W) uint8, 1 where the CT is taken
    soft : (H, W) float32 in [0, 1], the CT's weight
    """
    hard = dm.astype(np.uint8, copy=True)
    if regions.edges1 is not None and regions.edges2 is not None:
        hard[regions.edges1] = 1
        hard[regions.edges2] = 0
    hard[regions.brain] = 0
    hard[regions.from_ct] = 1
    back = np.maximum(i1, i2) < settings.background / 255.0
    hard[back] = 0
    soft = soft_map(hard, i1, i2, settings, around)
    # the blend may not move bone away from the CT, nor the brain away from the MRI: at most
    # ``tolerance`` grey levels, i.e. a weight within tolerance / |CT - MRI| of 1 (bone) or 0
    tol = np.float32(settings.anatomy.tolerance / 255.0)
    for region, towards_ct in ((regions.from_ct, True), (regions.brain, False)):
        reach = np.minimum(tol / (np.abs(i1[region] - i2[region]) + np.float32(1e-6)), 1.0)
        w = soft[region]
        soft[region] = np.maximum(w, 1.0 - reach) if towards_ct else np.minimum(w, reach)
    soft[back] = 0.0
    return hard, soft
