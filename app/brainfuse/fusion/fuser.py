"""The fusion engine: :class:`Fuser` (created once) and :class:`FusionResult`.

``method="cnn"`` is the SESF-style fusion of ``../shared/reference/method.md``: both
images go through the trained encoder (slices batched), the channel-summed spatial
frequency of the 64 deep feature maps over a ``window_size`` box is compared per pixel,
the map is cleaned by consistency verification and refined to a soft map, and
``F = DM * I1 + (1 - DM) * I2`` (the seed's equation 1; DM = 1 takes image 1, the CT).
The default refinement (:func:`~brainfuse.fusion.decision.detail_blend`) keeps the hard
map on the chosen image's edges and mixes in part of the other image where it is flat.
``average``, ``laplacian`` and ``pixel-sf`` are the classical baselines of
:mod:`brainfuse.fusion.baselines`, slice by slice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from brainfuse.errors import BrainFuseError, CancelledError, GeometryMismatchError
from brainfuse.fusion.activity import box_sum, deep_gradient_energy, gradient_energy
from brainfuse.fusion.colour import rgb_to_ycbcr, ycbcr_to_rgb
from brainfuse.fusion.decision import (
    consistency_verification,
    detail_blend,
    guided_filter,
    initial_map,
)
from brainfuse.fusion.device import choose_device
from brainfuse.fusion.inference import EnergyEncoder
from brainfuse.fusion.weights import load_autoencoder

__all__ = ["Fuser", "FusionResult", "available_methods", "check_methods", "METHODS"]

# method name -> function name in brainfuse.fusion.baselines (None: ours)
METHODS: dict[str, str | None] = {
    "cnn": None,
    "average": "average",
    "laplacian": "laplacian_pyramid",
    "pixel-sf": "pixel_sf",
}


#: Ways to turn the hard map into the soft map actually used (see :class:`Fuser`).
REFINE_MODES = ("detail", "flat", "gaussian", "guided")


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


@dataclass
class FusionResult:
    """What one fusion produced.

    Attributes
    ----------
    fused : float32 array in [0, 1], shaped like image 1 ((H, W), (Z, H, W), or (..., 3))
    decision_map : uint8 array (H, W) or (Z, H, W); 1 where image 1 is taken (hard map)
    soft_map : float32 array like ``decision_map``, in [0, 1]; the weight of image 1
        actually used (equal to ``decision_map`` when refinement is off)
    activity : (activity1, activity2) float32 arrays, or None unless asked for
    method : str
    device : str, e.g. ``"CPU (2 threads)"`` or ``"CUDA: NVIDIA H100"``
    timings : dict of str -> float, milliseconds
    fallback : str or None, the message when a CUDA request fell back to the CPU
    model_sha256 : str or None, SHA-256 of the weights used (``cnn`` only)
    """

    fused: np.ndarray
    decision_map: np.ndarray
    soft_map: np.ndarray
    activity: tuple[np.ndarray, np.ndarray] | None = None
    method: str = "cnn"
    device: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None
    model_sha256: str | None = None


def _check_pair(image1: np.ndarray, image2: np.ndarray) -> bool:
    """Validate shapes; return True when image 1 is RGB."""
    rgb = image1.ndim == image2.ndim + 1 and image1.shape[-1] == 3
    spatial1 = image1.shape[:-1] if rgb else image1.shape
    if image2.ndim not in (2, 3) or spatial1 != image2.shape:
        raise GeometryMismatchError(
            f"the two images must have the same size to be fused: image 1 is "
            f"{'x'.join(map(str, image1.shape))}, image 2 is "
            f"{'x'.join(map(str, image2.shape))} (put them on one grid first)"
        )
    for name, im in (("image 1", image1), ("image 2", image2)):
        if not np.all(np.isfinite(im)):
            raise BrainFuseError(f"{name} contains NaN or infinite values; cannot fuse it")
    return rgb


class Fuser:
    """Fusion engine: weights loaded and device chosen once, then :meth:`fuse` many times.

    Parameters
    ----------
    method : {"cnn", "average", "laplacian", "pixel-sf"}
    device : {"auto", "cpu", "cuda"}
        ``cuda`` without a usable GPU falls back to the CPU with a warning.
    weights : path or None
        Safetensors file from ``brainfuse train``; default the shipped weights.
    threads : int or None
        CPU threads (default: the cores, at most 8).
    window_size : int
        Side of the box window (pixels) over which the spatial frequency is summed.
    refine : bool
        Guided-filter refinement of the map (soft map); False uses the hard map.
    consistency : bool
        Consistency verification (opening/closing, small-region removal).
    cv_radius : float
        Disk radius for a 256 x 256 slice (scaled with the slice size).
    min_area : float
        Islands and holes below this fraction of the slice are removed.
    gf_radius, gf_eps : float, float
        Guided filter radius (for 256 x 256, scaled) and regularisation; with
        ``refine_mode="gaussian"`` the radius is the Gaussian's sigma.
    refine_mode : {"detail", "flat", "gaussian", "guided"}
        ``detail`` (default): :func:`~brainfuse.fusion.decision.detail_blend` with
        ``detail_params``; ``flat``: keep the map hard but blend towards 0.5 in the
        flattest ``flat_q`` percent of the slice (low deep activity in both images) by
        ``flat_beta``; Gaussian blur of the map (sigma ``gf_radius``); guided filter of it
        (guide: mean of the sources).
    detail_params : dict or None
        Keyword arguments of ``detail_blend`` (beta, c, kappa, sigma) over its defaults.
    flat_q, flat_beta : float
        Percentile and strength of the ``flat`` refinement.
    border_sigma : float
        ``flat`` only: Gaussian sigma (pixels at 256 x 256) softening the map's region
        borders against seams; 0 keeps them hard.
    activity_source : {"deep", "pixels"}
        Spatial frequency on deep features (the method) or on raw pixels (ablation).
    tile : int or None
        Slices larger than this are encoded in overlapping tiles (bounded memory).
    batch : int
        Slices per encoder batch (each counts twice: both images).
    keep_activity : bool
        Return the two activity maps in :attr:`FusionResult.activity`.
    """

    def __init__(
        self,
        method: str = "cnn",
        *,
        device: str = "auto",
        weights: str | Path | None = None,
        threads: int | None = None,
        window_size: int = 5,
        refine: bool = True,
        consistency: bool = True,
        cv_radius: float = 5.0,
        min_area: float = 0.01,
        gf_radius: float = 2.0,
        gf_eps: float = 1e-3,
        refine_mode: str = "detail",
        detail_params: dict | None = None,
        flat_q: float = 50.0,
        flat_beta: float = 0.5,
        border_sigma: float = 0.6,
        activity_source: str = "deep",
        tile: int | None = 1024,
        batch: int = 8,
        keep_activity: bool = False,
    ):
        check_methods([method])
        if activity_source not in ("deep", "pixels"):
            raise BrainFuseError(f"unknown activity source '{activity_source}'")
        self.method = method
        self.window_size = int(window_size)
        self.refine = bool(refine)
        self.consistency = bool(consistency)
        self.cv_radius = float(cv_radius)
        self.min_area = float(min_area)
        self.gf_radius = float(gf_radius)
        self.gf_eps = float(gf_eps)
        if refine_mode not in REFINE_MODES:
            raise BrainFuseError(
                f"unknown refinement '{refine_mode}': choose one of {', '.join(REFINE_MODES)}"
            )
        self.refine_mode = refine_mode
        self.detail_params = dict(detail_params or {})
        self.flat_q = float(flat_q)
        self.flat_beta = float(flat_beta)
        self.border_sigma = float(border_sigma)
        self.activity_source = activity_source
        self.tile = tile
        self.batch = max(int(batch), 1)
        self.keep_activity = keep_activity
        choice = choose_device(device, threads)
        self.torch_device = choice.device
        self.device = choice.description
        self.fallback = choice.fallback
        self.encoder = None
        self.energy: EnergyEncoder | None = None
        self.weights_sha256: str | None = None
        if method == "cnn" and activity_source == "deep":
            model = load_autoencoder(weights)
            self.weights_sha256 = model.sha256
            self.encoder = model.encoder.to(self.torch_device).eval()
            self.energy = EnergyEncoder(self.encoder).to(self.torch_device)

    # ------------------------------------------------------------------ public
    def fuse(
        self,
        image1: np.ndarray,
        image2: np.ndarray,
        *,
        progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> FusionResult:
        """Fuse ``image1`` (CT / functional, grey or RGB) with ``image2`` (MRI).

        Parameters
        ----------
        image1 : float array in [0, 1], (H, W), (Z, H, W), or with a trailing RGB axis
        image2 : float array in [0, 1], (H, W) or (Z, H, W)
        progress : callable(fraction) or None, called after each batch of slices
        cancel : threading.Event or None, checked between batches

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
        rgb = _check_pair(image1, image2)
        if rgb:
            y1, cb, cr = rgb_to_ycbcr(image1)
        else:
            y1 = image1
        two_d = image2.ndim == 2
        a = y1[None] if two_d else y1
        b = image2[None] if two_d else image2
        timings: dict[str, float] = {}
        if self.method == "cnn":
            fused, dm, soft, act = self._fuse_sf(a, b, progress, cancel, timings)
        else:
            fused, dm, soft, act = self._fuse_baseline(a, b, progress, cancel)
        if two_d:
            fused, dm, soft = fused[0], dm[0], soft[0]
            act = None if act is None else (act[0][0], act[1][0])
        if rgb:
            fused = ycbcr_to_rgb(fused, cb, cr)
        timings["total"] = (time.perf_counter() - t0) * 1000.0
        return FusionResult(
            fused=fused.astype(np.float32, copy=False),
            decision_map=dm,
            soft_map=soft,
            activity=act if self.keep_activity else None,
            method=self.method,
            device=self.device,
            timings=timings,
            fallback=self.fallback,
            model_sha256=self.weights_sha256,
        )

    # ------------------------------------------------------------------ internals
    def activity(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Box-summed spatial-frequency activity of two (N, H, W) stacks."""
        n = a.shape[0]
        x = torch.from_numpy(np.concatenate([a, b])[:, None]).to(self.torch_device)
        with torch.inference_mode():
            if self.encoder is not None:
                e = deep_gradient_energy(self.encoder, x, tile=self.tile, energy=self.energy)
            else:
                e = gradient_energy(x)
            s = box_sum(e, self.window_size).cpu().numpy()
        return s[:n], s[n:]

    def decide(self, a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
        """Hard map of one slice from its two activity maps (with consistency verification)."""
        dm = initial_map(a1, a2)
        if self.consistency:
            dm = consistency_verification(dm, radius=self.cv_radius, min_area=self.min_area)
        return dm

    def soften(
        self,
        dm: np.ndarray,
        i1: np.ndarray,
        i2: np.ndarray,
        activity: np.ndarray | None = None,
    ) -> np.ndarray:
        """Soft map of one slice from its hard map (see ``refine_mode``).

        ``activity`` (a1 + a2, needed by ``"flat"``) marks the flattest ``flat_q`` percent
        of the slice, where the map is pulled towards 0.5 by ``flat_beta`` (a mask smoothed
        by a Gaussian of sigma 2 px at 256 x 256, so no seam appears at its edge).
        """
        if not self.refine:
            return dm.astype(np.float32)
        if self.refine_mode == "detail":
            return detail_blend(dm, i1, i2, **self.detail_params)
        if self.refine_mode == "flat" and activity is not None:
            scale = min(dm.shape) / 256.0
            flat = (activity <= np.percentile(activity, self.flat_q)).astype(np.float32)
            flat = ndimage.gaussian_filter(flat, 2.0 * scale, mode="nearest") * self.flat_beta
            d = dm.astype(np.float32)
            if self.border_sigma > 0:
                d = ndimage.gaussian_filter(d, self.border_sigma * scale, mode="nearest")
            return (d * (1.0 - flat) + 0.5 * flat).astype(np.float32)
        if self.refine_mode == "gaussian":
            sigma = self.gf_radius * min(dm.shape) / 256.0
            return ndimage.gaussian_filter(dm.astype(np.float32), sigma, mode="nearest")
        r = max(int(round(self.gf_radius * min(dm.shape) / 256.0)), 1)
        guide = 0.5 * (i1 + i2)
        return np.clip(guided_filter(guide, dm.astype(np.float32), r, self.gf_eps), 0.0, 1.0)

    def _fuse_sf(self, a, b, progress, cancel, timings):
        z = a.shape[0]
        dm = np.empty(a.shape, np.uint8)
        soft = np.empty(a.shape, np.float32)
        fused = np.empty(a.shape, np.float32)
        acts = None
        if self.keep_activity:
            acts = (np.empty(a.shape, np.float32), np.empty(a.shape, np.float32))
        t_enc = t_dec = t_ref = 0.0
        for s0 in range(0, z, self.batch):
            if cancel is not None and cancel.is_set():
                raise CancelledError("fusion cancelled")
            s1 = min(s0 + self.batch, z)
            t = time.perf_counter()
            a1, a2 = self.activity(a[s0:s1], b[s0:s1])
            t_enc += time.perf_counter() - t
            for i in range(s1 - s0):
                k = s0 + i
                t = time.perf_counter()
                dm[k] = self.decide(a1[i], a2[i])
                t_dec += time.perf_counter() - t
                t = time.perf_counter()
                soft[k] = self.soften(dm[k], a[k], b[k], a1[i] + a2[i])
                t_ref += time.perf_counter() - t
                # slice by slice: no volume-sized temporaries
                fused[k] = soft[k] * a[k] + (1.0 - soft[k]) * b[k]
            if acts is not None:
                acts[0][s0:s1], acts[1][s0:s1] = a1, a2
            if progress is not None:
                progress(s1 / z)
        timings.update(activity=t_enc * 1e3, decision=t_dec * 1e3, refine=t_ref * 1e3)
        return fused, dm, soft, acts

    def _fuse_baseline(self, a, b, progress, cancel):
        from brainfuse.fusion import baselines

        func = getattr(baselines, METHODS[self.method])
        fused = np.empty(a.shape, np.float32)
        dm = np.zeros(a.shape, np.uint8)
        soft = np.full(a.shape, 0.5, np.float32)
        for k in range(a.shape[0]):
            if cancel is not None and cancel.is_set():
                raise CancelledError("fusion cancelled")
            f, m = func(a[k], b[k])
            fused[k] = np.clip(f, 0.0, 1.0)
            if m is not None:
                dm[k] = (np.asarray(m) > 0.5).astype(np.uint8)
                soft[k] = np.asarray(m, dtype=np.float32)
            if progress is not None:
                progress((k + 1) / a.shape[0])
        return fused, dm, soft, None
