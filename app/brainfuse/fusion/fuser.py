"""The fusion engine: :class:`Fuser`, created once with its :class:`FusionSettings`.

``method="cnn"`` is the SESF-style fusion of ``../shared/reference/method.md``: both
images go through the trained encoder (slices batched), the channel-summed spatial
frequency of the 64 deep feature maps over a ``settings.window`` box is compared per pixel,
the map is cleaned by consistency verification and refined to a soft map, and
``F = DM * I1 + (1 - DM) * I2`` (the seed's equation 1, :func:`~brainfuse.fusion.compose.
compose`; DM = 1 takes image 1, the CT). The default refinement
(:func:`~brainfuse.fusion.decision.detail_blend`) keeps the hard map on the chosen image's
edges and mixes in part of the other image where it is flat. ``average``, ``laplacian`` and
``pixel-sf`` are the classical baselines of :mod:`brainfuse.fusion.baselines`, slice by
slice.

:meth:`Fuser.slices` fuses slice by slice in a caller's order (one item per slice, so a
shell can show the first one at once and cancel between slices); :meth:`Fuser.fuse` drains
it into whole arrays. The slices of one volume are decided in 3-D with their neighbours
(:mod:`brainfuse.fusion.volume`); separate 2-D pairs each on their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from brainfuse._runtime.threads import fusion_threads, workers_now
from brainfuse.errors import BrainFuseError, CancelledError
from brainfuse.fusion.activity import (
    box_sum,
    deep_gradient_energy,
    from_encoder_grid,
    to_encoder_grid,
)
from brainfuse.fusion.anatomy import (
    anatomy_regions,
    bracketed,
    rule_maps,
    rule_that_runs,
    slice_maps,
)
from brainfuse.fusion.baselines import fuse_stack
from brainfuse.fusion.colour import rgb_to_ycbcr, ycbcr_to_rgb
from brainfuse.fusion.compose import compose, is_rgb_pair
from brainfuse.fusion.decision import blend_inputs, hard_map
from brainfuse.fusion.device import choose_device
from brainfuse.fusion.inference import EnergyEncoder, bfloat16_supported
from brainfuse.fusion.methods import METHODS, Method, available_methods, check_methods
from brainfuse.fusion.parallel import submit_background, submit_images
from brainfuse.fusion.settings import FusionSettings, encoder_factor
from brainfuse.fusion.stacks import Picker, SliceFusion, check_finite, check_shapes, take
from brainfuse.fusion.volume import Neighbourhood, ZWindows
from brainfuse.fusion.weights import load_autoencoder
from brainfuse.model.intensity import BoneStack, NoDataStack, UnitStack
from brainfuse.model.results import FusionResult

__all__ = [
    "METHODS",
    "Fuser",
    "FusionResult",
    "Method",
    "SliceFusion",
    "available_methods",
    "check_methods",
]


#: Working memory allowed to one batch of slices (bytes); large slices go in smaller batches.
BATCH_BYTES = 64 << 20
#: Bytes in flight per pixel of a slice pair in one batch (measured about 24 MiB per 512 x 512
#: pair: the encoder's input and energies, box sums, activity, decision and fused maps).
BYTES_PER_PIXEL = 96


class Fuser:
    """Fusion engine: weights loaded and device chosen once, then :meth:`fuse` many times.

    Parameters
    ----------
    method : {"cnn", "average", "laplacian", "pixel-sf"}
    settings : FusionSettings or None
        Window, consistency verification and refinement of the ``cnn`` method (default:
        the shipped method); the baselines ignore them.
    device : {"auto", "cpu", "cuda"}
        ``cuda`` without a usable GPU falls back to the CPU with a warning.
    weights : path or None
        Safetensors file from ``brainfuse train``; default the shipped weights.
    threads : int or None
        Most CPU threads (default: :func:`brainfuse._runtime.threads.fusion_threads`, every
        core); each batch uses those free at that moment (``workers_now``).
    tile : int or None
        Slices larger than this are encoded in overlapping tiles (bounded memory).
    batch : int
        Most slices per encoder batch (each counts twice: both images); large slices go in
        smaller batches (:meth:`batch_for`).
    keep_activity : bool
        Return the two activity maps in :attr:`FusionResult.activity`.

    Attributes
    ----------
    model_sha256 : str or None
        SHA-256 of the weights loaded (``cnn`` only).
    device : str
        The device in words; ``fallback`` the message when CUDA fell back to the CPU.
    workers : int
        CPU threads that encode images in parallel (1 on a GPU).
    """

    def __init__(
        self,
        method: str = "cnn",
        *,
        settings: FusionSettings | None = None,
        device: str = "auto",
        weights: str | Path | None = None,
        threads: int | None = None,
        tile: int | None = 1024,
        batch: int = 8,
        keep_activity: bool = False,
    ):
        check_methods([method])
        self.method = method
        self.settings = FusionSettings() if settings is None else settings
        self.tile = tile
        self.batch = max(int(batch), 1)
        self.keep_activity = keep_activity
        choice = choose_device(device, fusion_threads(threads))
        self.torch_device = choice.device
        self.device = choice.description
        self.fallback = choice.fallback
        self.workers = choice.workers
        self.encoder = None
        self.energy: EnergyEncoder | None = None
        self.model_sha256: str | None = None
        if method == "cnn":
            model = load_autoencoder(weights)
            self.model_sha256 = model.sha256
            self.encoder = model.encoder.to(self.torch_device).eval()
            precision = self.settings.precision
            bf16 = precision == "bfloat16" or (
                precision == "auto" and bfloat16_supported(self.torch_device)
            )
            self.energy = EnergyEncoder(self.encoder, bfloat16=bf16).to(self.torch_device)
            if bf16:
                self.device += ", bfloat16 convolutions"

    # ------------------------------------------------------------------ public
    def fuse(
        self,
        image1: np.ndarray,
        image2: np.ndarray,
        *,
        bone: np.ndarray | None = None,
        decide: tuple[np.ndarray, np.ndarray] | None = None,
        progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
        spacing: Sequence[float] | None = None,
        nodata: np.ndarray | None = None,
    ) -> FusionResult:
        """Fuse ``image1`` (CT / functional, grey or RGB) with ``image2`` (MRI).

        Parameters
        ----------
        image1 : float array in [0, 1], (H, W), (Z, H, W), or with a trailing RGB axis
        image2 : float array in [0, 1], (H, W) or (Z, H, W)
        bone : bool array shaped like ``image2``, or None
            The bone prior of image 1 from its own values
            (:func:`brainfuse.model.intensity.volume_bone_mask`); the ``anatomy`` rule needs it,
            without it (no CT: PET/SPECT, MR) the ``sesf`` rule runs (see
            :attr:`FusionResult.rule`).
        decide : (image1, image2) or None
            The fixed (window-independent) representations the map is computed from, shaped
            like ``image2`` (grey); default the images themselves. The fused image is
            always composed from ``image1`` and ``image2``.
        progress : callable(fraction) or None, called after each slice
        cancel : threading.Event or None, checked between batches of slices
        spacing : (x, y, z) voxel spacing in mm, or None
            The stacks are one volume's slices: the ``cnn`` method decides in 3-D windows
            (:mod:`brainfuse.fusion.volume`). None: each slice is an image of its own (a
            stack of 2-D pairs); a 2-D pair ignores it.
        nodata : uint8 (or bool) array shaped like ``image2``, or None
            Which image has no data (:func:`brainfuse.model.bone.source_no_data`; True or
            ``CT_NO_DATA``: image 1, ``MRI_NO_DATA``: image 2): the ``cnn`` method takes
            the other image there.

        Raises
        ------
        GeometryMismatchError
            The two images differ in size.
        CancelledError
            ``cancel`` was set.
        """
        t0 = time.perf_counter()
        image1 = np.asarray(image1, dtype=np.float32)
        image2 = np.asarray(image2, dtype=np.float32)
        check_shapes(image1, image2)
        two_d = image2.ndim == 2
        a = image1[None] if two_d else image1
        b = image2[None] if two_d else image2
        if two_d and bone is not None:
            bone = np.asarray(bone)[None]
        if two_d and decide is not None:
            decide = (np.asarray(decide[0])[None], np.asarray(decide[1])[None])
        if two_d and nodata is not None:
            nodata = np.asarray(nodata)[None]
        z = b.shape[0]
        fused = np.empty(a.shape, np.float32)
        dm = np.empty(b.shape, np.uint8)
        soft = np.empty(b.shape, np.float32)
        acts = (np.empty(b.shape, np.float32), np.empty(b.shape, np.float32))
        timings: dict[str, float] = {}
        hood = None if two_d or spacing is None else self.neighbourhood(b.shape, spacing)
        slices = self.slices(
            a,
            b,
            bone=bone,
            decide=decide,
            cancel=cancel,
            timings=timings,
            neighbours=hood,
            nodata=nodata,
        )
        for done, s in enumerate(slices, 1):
            fused[s.index], dm[s.index], soft[s.index] = s.fused, s.decision, s.soft
            if s.activity is not None:
                acts[0][s.index], acts[1][s.index] = s.activity
            if progress is not None:
                progress(done / z)
        act = acts if self.keep_activity and self.method == "cnn" else None
        if two_d:
            fused, dm, soft = fused[0], dm[0], soft[0]
            act = None if act is None else (act[0][0], act[1][0])
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        return FusionResult(
            fused=fused,
            decision_map=dm,
            soft_map=soft,
            activity=act,
            method=self.method,
            device=self.device,
            timings=timings,
            fallback=self.fallback,
            model_sha256=self.model_sha256,
            rule=self.rule_for(image1, image2, bone),
        )

    def rule_for(self, image1: UnitStack, image2: UnitStack, bone: BoneStack | None) -> str | None:
        """Name the rule a fusion of these inputs runs (None for the baselines).

        ``anatomy`` needs a bone prior and a grey image 1, otherwise ``sesf``.
        """
        if self.method != "cnn":
            return None
        has_bone = bone is not None and not is_rgb_pair(image1, image2)  # shapes only
        return rule_that_runs(self.settings, has_bone)

    def neighbourhood(
        self, shape: tuple[int, ...], spacing: Sequence[float]
    ) -> Neighbourhood | None:
        """Make what the slices of a ``(Z, H, W)`` volume share when fused (None: nothing).

        Only the ``cnn`` method of a volume of two slices or more decides in 3-D
        (:mod:`brainfuse.fusion.volume`); ``spacing`` is (x, y, z) in mm.
        """
        if self.method != "cnn" or len(shape) < 3 or shape[0] < 2:
            return None
        plane = (int(shape[1]), int(shape[2]))
        return Neighbourhood(shape[0], ZWindows.for_grid(spacing, plane, self.settings))

    def slices(
        self,
        image1: UnitStack,
        image2: UnitStack,
        order: Sequence[int] | None = None,
        *,
        bone: BoneStack | None = None,
        decide: tuple[UnitStack, UnitStack] | None = None,
        cancel: threading.Event | None = None,
        timings: dict[str, float] | None = None,
        neighbours: Neighbourhood | None = None,
        nodata: NoDataStack | BoneStack | None = None,
    ) -> Iterator[SliceFusion]:
        """Fuse the slices of two stacks one by one, in ``order``.

        Parameters
        ----------
        image1 : float32 (Z, H, W) or (Z, H, W, 3) in [0, 1]
        image2 : float32 (Z, H, W) in [0, 1]
        order : slice indices, default all in order; encoded in batches of ``batch``
            consecutive entries of ``order``
        bone, decide, nodata : (Z, H, W) arrays (or slice-wise stacks) or None, as in
            :meth:`fuse`
        cancel : threading.Event or None, checked before each batch
        timings : dict or None, milliseconds per stage are added to it
        neighbours : Neighbourhood or None
            The stacks are one volume (:meth:`neighbourhood`): each slice is decided with
            its neighbours' activities and blend inputs, computed once and held while
            needed; pass the same one to every call of one fusion. None: every slice on its
            own.

        Yields
        ------
        SliceFusion, one per entry of ``order``.

        Raises
        ------
        CancelledError
            ``cancel`` was set.
        """
        rgb = check_shapes(image1, image2)
        order = list(range(image2.shape[0]) if order is None else order)
        timings = {} if timings is None else timings
        step = self.batch_for(*image2.shape[-2:])
        for s0 in range(0, len(order), step):
            if cancel is not None and cancel.is_set():
                raise CancelledError("fusion cancelled")
            idx = order[s0 : s0 + step]
            a, b = take(image1, idx), take(image2, idx)
            check_finite(a, b)
            y, cb, cr = rgb_to_ycbcr(a) if rgb else (a, None, None)
            if self.method == "cnn":
                d1, d2 = (y, b) if decide is None else (decide[0][idx], decide[1][idx])
                empty = None if nodata is None else np.asarray(nodata[idx], np.uint8)
                if neighbours is None:
                    prior = None if bone is None or rgb else np.asarray(bone[idx], bool)
                    dm, soft, act = self._decide(d1, d2, prior, timings, empty)
                else:  # the batch's bone prior is read there, once
                    pick = Picker(image1, image2, decide, rgb, idx, d1, d2)
                    stack = None if rgb else bone
                    upcoming = order[s0 + step : s0 + 2 * step]
                    dm, soft, act = self._decide_in_volume(
                        idx, pick, stack, neighbours, timings, empty, upcoming
                    )
                fused = compose(soft, a, b)
            else:
                fused, dm, soft = fuse_stack(METHODS[self.method].baseline, y, b)
                fused = fused if cb is None or cr is None else ycbcr_to_rgb(fused, cb, cr)
                act = None
            for i, k in enumerate(idx):
                if neighbours is not None:
                    neighbours.finish(k)
                yield SliceFusion(
                    k, fused[i], dm[i], soft[i], None if act is None else (act[0][i], act[1][i])
                )

    def batch_for(self, height: int, width: int) -> int:
        """Choose the slices per batch for ``height x width`` slices.

        ``batch``, fewer when a batch's working memory (about :data:`BYTES_PER_PIXEL` per
        pixel of a slice pair: encoder input and energies, activity and decision maps) would
        pass :data:`BATCH_BYTES` (8 at 256 x 256, 2 at 512 x 512).
        """
        return max(1, min(self.batch, BATCH_BYTES // max(height * width * BYTES_PER_PIXEL, 1)))

    def activity(
        self, a: np.ndarray, b: np.ndarray, *, stages: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Box-summed deep spatial-frequency activity of two (N, H, W) stacks.

        Computed at the encoder's size (``settings.encoder_size``, :func:`encoder_factor`)
        and brought back to the slices' own size, from the first ``stages`` encoder stages
        (None: all; a fusion uses :meth:`FusionSettings.encoder_stages` of its rule).
        """
        return self.submit_activity(a, b, stages=stages)()

    def submit_activity(
        self, a: np.ndarray, b: np.ndarray, *, stages: int | None = None, ahead: bool = False
    ) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
        """Start :meth:`activity` on the worker threads; return the function that waits for it.

        The calling thread may meanwhile do work that needs no activity (the ``anatomy``
        rule's regions); on one thread or a GPU the activity is computed here, at once,
        unless ``ahead`` (a volume's next batch, started before this one is decided: then
        on a worker thread even when one is all the machine has free).
        """
        if self.encoder is None:
            raise BrainFuseError(f"method '{self.method}' has no deep activity")
        encoder, energy, tile, k = self.encoder, self.energy, self.tile, self.settings.window
        device = self.torch_device

        factor = encoder_factor(a.shape[-2:], self.settings.encoder_size)

        def one_batch(images: np.ndarray) -> np.ndarray:
            x = to_encoder_grid(torch.from_numpy(images).to(device), factor)[:, None]
            e = deep_gradient_energy(encoder, x, tile=tile, energy=energy, stages=stages)
            e = box_sum(e, k)
            return from_encoder_grid(e, factor, images.shape[1:]).cpu().numpy()

        n = a.shape[0]
        stacked = np.concatenate([a, b])
        # CPU: one image per task, on the threads free now (fusion/parallel.py; with one, all
        # here in turn); encoding each image alone keeps its numbers the same whatever the
        # thread count (bfloat16 rounds a batched convolution differently). A GPU: the batch.
        workers = workers_now(self.workers)
        on_cpu = self.torch_device.type == "cpu"
        items = [im[None] for im in stacked] if on_cpu else [stacked]
        gather = submit_images(one_batch, items, workers, ahead=ahead)

        def result() -> tuple[np.ndarray, np.ndarray]:
            s = np.concatenate(gather())
            return s[:n], s[n:]

        return result

    # ------------------------------------------------------------------ internals
    def _decide(self, a, b, bone, timings, nodata=None):
        t = time.perf_counter()
        rule = rule_that_runs(self.settings, bone is not None)
        gather = self.submit_activity(
            np.ascontiguousarray(a),
            np.ascontiguousarray(b),
            stages=self.settings.encoder_stages(rule),
        )
        # while the workers encode: the anatomy rule's regions, which need no activity
        regions = [None] * a.shape[0]
        if rule == "anatomy":
            assert bone is not None  # the anatomy rule runs only with a bone prior
            regions = [
                anatomy_regions(bone[i], a[i], b[i], self.settings) for i in range(a.shape[0])
            ]
        a1, a2 = gather()
        t_enc = time.perf_counter() - t
        t_dec = 0.0
        dm = np.empty(a.shape, np.uint8)
        soft = np.empty(a.shape, np.float32)
        for i in range(a.shape[0]):
            t = time.perf_counter()
            dm[i], soft[i] = slice_maps(
                a1[i],
                a2[i],
                a[i],
                b[i],
                None if bone is None else bone[i],
                self.settings,
                regions=regions[i],
                nodata=None if nodata is None else nodata[i],
            )
            t_dec += time.perf_counter() - t
        for key, sec in (("activity", t_enc), ("decision", t_dec)):
            timings[key] = timings.get(key, 0.0) + sec * 1e3
        return dm, soft, ((a1, a2) if self.keep_activity else None)

    def _decide_in_volume(self, idx, pick, bones, hood, timings, nodata=None, upcoming=()):
        """:meth:`_decide` for slices ``idx`` of a volume, with their neighbours (3-D).

        ``bones`` is the whole volume's bone prior (or None): the ``anatomy`` rule's
        intracranial area is searched inside the bone closed in 3-D
        (:meth:`Neighbourhood.sealed`) and bracketed by the neighbouring slices'
        (:func:`bracketed`). The regions of ``upcoming`` (the next batch) are found on a
        background thread (:func:`~brainfuse.fusion.parallel.submit_background`) while this
        batch is decided; a slice's regions are the same whichever thread finds them.
        """
        t = time.perf_counter()
        n = len(idx)
        rule = rule_that_runs(self.settings, bones is not None)
        wanted = rule == "anatomy"
        stages = self.settings.encoder_stages(rule)

        def bone_of(j: int) -> np.ndarray:  # each slice's bone prior found once
            return hood.bone(j, lambda i: np.asarray(bones[i], bool))

        bone = None
        if bones is not None:
            bone = np.stack([bone_of(k) for k in idx]) if wanted else np.asarray(bones[idx], bool)

        def regions_of(j: int):  # inside the bone closed in 3-D
            d1, d2 = pick([j])
            return anatomy_regions(bone_of(j), d1[0], d2[0], self.settings, hood.sealed(j, bone_of))

        def find_regions(ks: Sequence[int]) -> None:  # needs no activity
            for k in ks:
                hood.regions(k, regions_of)

        step = self.batch_for(*pick.d2.shape[-2:])
        started, hood.encoding = hood.encoding, []  # with the batch before, for this one
        begun = {j for js, _ in started for j in js}
        missing = [j for j in hood.missing_activity(idx) if j not in begun]
        chunks = [missing[c0 : c0 + step] for c0 in range(0, len(missing), step)]
        # every chunk queued on the workers before the regions are found here, so that the
        # encoder never waits for them (the first slice of a volume needs 2 r + 1 slices)
        jobs = started + [(js, self.submit_activity(*pick(js), stages=stages)) for js in chunks]
        if wanted:
            if hood.ahead is not None:  # this batch's, found while the one before was decided
                found, hood.ahead = hood.ahead, None
                found.result()
            find_regions(idx)  # what is left of them, while the workers encode
            if upcoming:
                hood.ahead = submit_background(lambda: find_regions(upcoming))
        for js, gather in jobs:
            a1, a2 = gather()
            for i, j in enumerate(js):
                hood.put_activity(j, a1[i], a2[i])
        # the next batch encoded while this one is decided (its numbers do not depend on when)
        needed_next = hood.missing_activity(upcoming)
        hood.encoding = [
            (js, self.submit_activity(*pick(js), stages=stages, ahead=True))
            for js in (needed_next[c0 : c0 + step] for c0 in range(0, len(needed_next), step))
        ]
        t_enc = time.perf_counter() - t
        t = time.perf_counter()
        dm = np.empty((n, *pick.d2.shape[-2:]), np.uint8)
        soft = np.empty(dm.shape, np.float32)
        act = []
        zero = np.zeros((), np.float32)
        for i, k in enumerate(idx):
            verified = hood.hard(k, lambda diff: hard_map(diff, zero, self.settings))
            around = hood.around(k, lambda j: blend_inputs(*(x[0] for x in pick([j]))))
            prior = None if bone is None else bone[i]
            regions = None
            if wanted:
                own, brains, at = hood.regions(k, regions_of)
                regions = bracketed(own, brains, at, bone[i], self.settings.anatomy.inner_table)
            dm[i], soft[i] = rule_maps(
                verified,
                pick.d1[i],
                pick.d2[i],
                prior,
                self.settings,
                around,
                regions=regions,
                nodata=None if nodata is None else nodata[i],
            )
            if self.keep_activity:
                act.append((hood.activity(k), np.zeros(dm.shape[1:], np.float32)))
        timings["activity"] = timings.get("activity", 0.0) + t_enc * 1e3
        timings["decision"] = timings.get("decision", 0.0) + (time.perf_counter() - t) * 1e3
        if not act:
            return dm, soft, None
        return dm, soft, (np.stack([x[0] for x in act]), np.stack([x[1] for x in act]))
