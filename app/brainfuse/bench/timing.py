"""Timing of the fusion methods on one machine (no Qt): the core of ``brainfuse bench``.

Each method is timed through :class:`brainfuse.fusion.Fuser` (created once per method), on
the middle axial slice of the shipped demo pair (:func:`brainfuse.io.demo_pair`, CT in the
brain window, MRI by robust percentiles) resized to each size, and on a volume made of the
demo pair resampled to ``(180, 256, 256)`` (its spacing scaled to match, so it is fused as
one volume, in 3-D: :mod:`brainfuse.fusion.volume`) for the per-volume rate of our method. Every
timing follows one untimed warm-up run; min, median and max of ``repeat`` runs are kept.
With ``contention`` every quiet run is followed by one beside busy processes
(:mod:`brainfuse.bench.contention`, stopped during the quiet runs and resumed for the others), so both
series see the same background load, and the slowdown of the medians is reported; ``end_to_end`` times
a whole ``brainfuse fuse`` of a large volume in a child process (:mod:`brainfuse.bench.endtoend`).
The load averages before and after are recorded, since timings mean little without them.
Peak memory is
measured in a separate untimed run (``tracemalloc`` for NumPy/Python allocations, the CUDA
allocator's peak on a GPU) plus the process's maximum resident set size.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from brainfuse import __version__

__all__ = ["BENCH_METHODS", "REFERENCE_METHOD", "bench_inputs", "format_table", "run_benchmark"]

BENCH_METHODS = ("cnn", "average", "laplacian", "pixel-sf")
#: Times are also given as ratios to this method's, since absolute times vary by machine.
REFERENCE_METHOD = "laplacian"


def _demo_slices() -> tuple[np.ndarray, np.ndarray, np.ndarray, str, tuple[float, ...]]:
    """Load the demo pair: float32 [0, 1] volumes (z, y, x), the CT's bone prior, a description.

    The bone prior is float32 0/1, from the CT's HU; last the voxel spacing (x, y, z) in mm.
    """
    from brainfuse.io import demo_pair
    from brainfuse.model.intensity import to_unit, volume_bone_mask

    ct, mri = demo_pair()
    ct01, _ = to_unit(ct)
    mr01, _ = to_unit(mri)
    bone = volume_bone_mask(ct)
    if bone is None:  # the demo CT is in HU; this would mean broken demo files
        raise ValueError("the demo CT gives no bone prior")
    what = "demo pair (CT template, brain window / Colin27 T1 MRI)"
    return ct01, mr01, bone.astype(np.float32), what, tuple(ct.spacing)


#: Image 1, image 2 (float32 in [0, 1]) and image 1's bone prior (bool), one size.
BenchInput = tuple[np.ndarray, np.ndarray, np.ndarray]
#: The same for a volume, and its voxel spacing (x, y, z) in mm (it is fused in 3-D).
BenchVolume = tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, ...]]


def bench_inputs(
    sizes: Sequence[int], volume_shape: tuple[int, int, int] | None
) -> tuple[dict[int, BenchInput], BenchVolume | None, str]:
    """Make 2-D pairs (one per size) and an optional volume pair, with their bone priors.

    Uses the middle axial slice of the demo pair; falls back to scikit-image's camera and a
    flipped copy if the demo files are not installed.
    """
    try:
        ct, mr, bone, what, spacing = _demo_slices()
    except Exception as exc:  # demo unavailable in a stripped install: any real image will do
        from skimage import data

        cam = data.camera().astype(np.float32) / 255.0
        ct, mr = cam[None], cam[None, :, ::-1].copy()
        bone = (ct >= 200 / 255.0).astype(np.float32)
        spacing = (1.0, 1.0, 1.0)
        what = f"scikit-image camera and its mirror image (demo pair unavailable: {exc})"
    mid = ct.shape[0] // 2
    pairs: dict[int, BenchInput] = {}
    for n in sizes:
        zoom = (n / ct.shape[1], n / ct.shape[2])
        a, b = (np.clip(ndi.zoom(x[mid], zoom, order=1), 0, 1).astype(np.float32) for x in (ct, mr))
        pairs[n] = (a, b, ndi.zoom(bone[mid], zoom, order=0) > 0.5)
    volume: BenchVolume | None = None
    if volume_shape is not None:
        zoom3 = tuple(t / s for t, s in zip(volume_shape, ct.shape, strict=True))
        a, b = (np.clip(ndi.zoom(x, zoom3, order=1), 0, 1).astype(np.float32) for x in (ct, mr))
        mm = tuple(float(v / z) for v, z in zip(spacing, zoom3[::-1], strict=True))
        volume = (a, b, ndi.zoom(bone, zoom3, order=0) > 0.5, mm)
    return pairs, volume, what


def _cuda_sync(fuser: Any) -> Callable[[], None]:
    dev = getattr(fuser, "torch_device", None)
    if dev is not None and getattr(dev, "type", "") == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def _time(fuser: Any, a: np.ndarray, b: np.ndarray, repeat: int, bone=None) -> list[float]:
    """Milliseconds of ``repeat`` runs after one warm-up run (``bone``: the CT's prior)."""
    sync = _cuda_sync(fuser)
    fuser.fuse(a, b, bone=bone)
    sync()
    times = []
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fuser.fuse(a, b, bone=bone)
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def _time_paired(
    fuser: Any, a: np.ndarray, b: np.ndarray, repeat: int, busy: Any, bone: Any = None
) -> tuple[list[float], list[float]]:
    """Quiet and contended milliseconds, alternating run by run when ``busy`` is given.

    Each quiet run has the busy processes stopped and the next run has them running, so both
    series see the same background load of the machine (which drifts over minutes).
    """
    if busy is None:
        return _time(fuser, a, b, repeat, bone), []
    quiet: list[float] = []
    contended: list[float] = []
    for _ in range(max(repeat, 1)):
        quiet += _time(fuser, a, b, 1, bone)
        busy.resume()
        contended += _time(fuser, a, b, 1, bone)
        busy.pause()
    return quiet, contended


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ≥ 4.0); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float | None:
    """Peak resident set size since the last reset (VmHWM), MiB; None if unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def _peak_memory(
    fuser: Any, a: np.ndarray, b: np.ndarray, bone: Any = None
) -> dict[str, float | None]:
    """Measure the peak memory of one run, MiB.

    Traced NumPy/Python allocations, process RSS (whole process, Linux only, else None) and
    the CUDA allocator (GPU only, else None).
    """
    cuda = None
    can_reset = _reset_peak_rss()
    dev = getattr(fuser, "torch_device", None)
    on_gpu = dev is not None and getattr(dev, "type", "") == "cuda"
    if on_gpu:
        import torch

        torch.cuda.reset_peak_memory_stats()
    tracemalloc.start()
    try:
        fuser.fuse(a, b, bone=bone)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if on_gpu:
        import torch

        torch.cuda.synchronize()
        cuda = torch.cuda.max_memory_allocated() / 2**20
    rss = _peak_rss_mib() if can_reset else None
    return {"traced_peak_mib": peak / 2**20, "rss_peak_mib": rss, "cuda_peak_mib": cuda}


def _max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024.0  # bytes on macOS, KiB else


def _stats(runs: list[float]) -> dict[str, Any]:
    """Min / median / max (ms) of timed runs, and the runs."""
    return {
        "ms_min": min(runs),
        "ms_median": statistics.median(runs),
        "ms_max": max(runs),
        "ms_runs": runs,
    }


def _load() -> list[float] | None:
    """Read the 1, 5 and 15-minute load averages (None where unknown)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _time_volume(fuser: Any, volume: BenchVolume) -> dict[str, Any]:
    va, vb, vbone, mm = volume
    sync = _cuda_sync(fuser)
    fuser.fuse(va[:8], vb[:8], bone=vbone[:8], spacing=mm)  # warm-up on a few slices
    sync()
    t0 = time.perf_counter()
    fuser.fuse(va, vb, bone=vbone, spacing=mm)  # one volume: decided in 3-D
    sync()
    seconds = time.perf_counter() - t0
    return {
        "method": "cnn",
        "shape": list(va.shape),
        "seconds": seconds,
        "slices_per_s": va.shape[0] / seconds,
        "runs": 1,
    }


def run_benchmark(
    *,
    sizes: Sequence[int] = (256, 512),
    methods: Sequence[str] = BENCH_METHODS,
    device: str = "auto",
    threads: int = 2,
    repeat: int = 5,
    volume_slices: int = 180,
    rule: str | None = None,
    contention: int = 0,
    contention_threads: int = 1,
    end_to_end: tuple[int, int, int] | None = None,
    volume_mri: str = "uint8",
    make_fuser: Callable[..., Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time every method per 2-D pair at each size, quiet and under contention.

    Also our method per volume, and optionally a whole ``brainfuse fuse`` of a large volume.

    Parameters
    ----------
    sizes : sequence of int
        Square slice sizes, pixels.
    methods : sequence of str
        Methods to time; :data:`REFERENCE_METHOD` is added if missing (for the ratios).
    device : {"auto", "cpu", "cuda"}
    threads : int
        CPU threads of the fusion (each encodes whole images), fixed for the whole run.
    repeat : int
        Timed runs per measurement (after one warm-up); min, median and max are reported.
    volume_slices : int
        Slices of the ``(volume_slices, 256, 256)`` volume fused with ``cnn`` (0: skip).
    rule : {"anatomy", "sesf"} or None
        Rule of ``cnn`` (default the settings' default); the demo CT's bone prior is
        passed to every fuser, as ``brainfuse fuse`` does.
    contention : int
        Busy processes (:func:`brainfuse.bench.contention.busy_processes`); every quiet run is then
        followed by a run beside them, after its own warm-up (0: quiet runs only).
    contention_threads : int
        Threads of each busy process.
    end_to_end : (z, y, x) or None
        Also time ``brainfuse fuse`` of the demo pair resampled to this shape, in a child
        process (:mod:`brainfuse.bench.endtoend`): wall seconds and the child's peak RSS.
    volume_mri : {"uint8", "int16"}
        How that pair's MRI is stored (:data:`brainfuse.bench.endtoend.MRI_DTYPES`).
    make_fuser : callable(method, device=..., threads=...), optional
        Fuser factory (default :class:`brainfuse.fusion.Fuser`).
    log : callable(str), optional
        Receives one line per finished measurement.

    Returns
    -------
    dict
        JSON-ready: ``environment`` (versions, device, threads, CPU, load averages before
        and after), ``settings``, ``pairs`` (one entry per method and size: ``ms_min``,
        ``ms_median``, ``ms_max``, ``ms_runs``, ``ratio_to_laplacian``, memory, and under
        contention ``contended`` (same statistics) and ``slowdown`` (contended median /
        quiet median)), ``volume`` (``slices_per_s``...) or None, ``end_to_end`` or None,
        ``max_rss_mib``.
    """
    import torch

    load_before = _load()
    if make_fuser is None:
        from brainfuse.fusion import Fuser, FusionSettings

        settings = FusionSettings() if rule is None else FusionSettings(rule=rule)

        def make_fuser(method: str, **kw: Any) -> Any:
            return Fuser(method, settings=settings, **kw)

    methods = list(dict.fromkeys(methods))
    if REFERENCE_METHOD not in methods:
        methods.append(REFERENCE_METHOD)
    say = log or (lambda line: None)
    volume_shape = (volume_slices, 256, 256) if volume_slices > 0 and "cnn" in methods else None
    pairs, volume, what = bench_inputs(sizes, volume_shape)
    fusers = {m: make_fuser(m, device=device, threads=threads) for m in methods}
    device_name = str(getattr(fusers[methods[0]], "device", device))
    rows: list[dict[str, Any]] = []
    load_contended = None
    with contextlib.ExitStack() as stack:
        busy = None
        if contention > 0:
            from brainfuse.bench.contention import busy_processes

            busy = stack.enter_context(busy_processes(contention, contention_threads))
            busy.pause()
        for n in sizes:
            a, b, bone = pairs[n]
            for m in methods:
                quiet, contended = _time_paired(fusers[m], a, b, repeat, busy, bone)
                rows.append(
                    {"method": m, "size": n} | _stats(quiet) | _peak_memory(fusers[m], a, b, bone)
                )
                r = rows[-1]
                line = (
                    f"{m} {n}x{n}: {r['ms_median']:.1f} ms "
                    f"(min {r['ms_min']:.1f}, max {r['ms_max']:.1f})"
                )
                if contended:
                    r["contended"] = _stats(contended)
                    r["slowdown"] = r["contended"]["ms_median"] / r["ms_median"]
                    line += (
                        f"; beside {contention} busy {r['contended']['ms_median']:.1f} ms "
                        f"({r['slowdown']:.2f}x)"
                    )
                say(line)
        if busy is not None:
            busy.resume()
            load_contended = _load()
    ref = {r["size"]: r["ms_median"] for r in rows if r["method"] == REFERENCE_METHOD}
    for r in rows:
        r["ratio_to_laplacian"] = r["ms_median"] / ref[r["size"]] if ref[r["size"]] > 0 else None
    vol_result = None
    if volume is not None:
        vol_result = _time_volume(fusers["cnn"], volume)
        say(f"cnn volume {tuple(vol_result['shape'])}: {vol_result['slices_per_s']:.1f} slices/s")
    e2e = None
    if end_to_end is not None:
        from brainfuse.bench.endtoend import time_fuse_command, volume_pair

        say(f"end to end: preparing the {'x'.join(map(str, end_to_end))} pair")
        ct_path, mri_path = volume_pair(end_to_end, mri_dtype=volume_mri)
        e2e = {"shape": list(end_to_end), "method": "cnn", "threads": threads, "mri": volume_mri}
        e2e |= time_fuse_command(ct_path, mri_path, threads=threads, device=device)
        say(f"end to end: {e2e['seconds']:.1f} s, peak RSS {e2e['peak_rss_mib'] or 0:.0f} MiB")
    return {
        "environment": {
            "brainfuse": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "device": device_name,
            "torch_threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "load_before": load_before,
            "load_contended": load_contended,
            "load_after": _load(),
        },
        "settings": {
            "sizes": list(sizes),
            "methods": methods,
            "repeat": repeat,
            "warmup": 1,
            "statistic": "min / median / max",
            "threads": threads,
            "rule": rule or "anatomy",
            "contention": contention,
            "contention_threads": contention_threads,
            "input": what,
        },
        "pairs": rows,
        "volume": vol_result,
        "end_to_end": e2e,
        "max_rss_mib": _max_rss_mib(),
    }


def _load_text(load: list[float] | None) -> str:
    return "unknown" if not load else " / ".join(f"{x:.2f}" for x in load)


def format_table(report: dict[str, Any]) -> str:
    """Format the report as plain-text tables.

    Ms per pair (min / median / max, ratio to Laplacian, memory), the slowdown under
    contention, the volume rate and the end-to-end run.
    """
    env, st = report["environment"], report["settings"]
    lines = [
        f"brainfuse {env['brainfuse']} bench: {env['device']}, torch {env['torch']}, "
        f"{env['torch_threads']} torch thread(s) per worker, {env['cpu_count']} CPUs",
        f"input: {st['input']}; min / median / max of {st['repeat']} runs after "
        f"{st['warmup']} warm-up",
        f"load average (1/5/15 min): {_load_text(env['load_before'])} before, "
        f"{_load_text(env['load_after'])} after",
        "",
        f"{'method':<10} {'size':>9} {'min ms':>8} {'median ms':>10} {'max ms':>8}"
        f" {'× laplacian':>12} {'NumPy MiB':>10} {'CUDA MiB':>9} {'RSS MiB':>8}",
    ]
    for r in report["pairs"]:
        ratio = "" if r["ratio_to_laplacian"] is None else f"{r['ratio_to_laplacian']:.2f}"
        cuda = "" if r["cuda_peak_mib"] is None else f"{r['cuda_peak_mib']:.1f}"
        size = f"{r['size']}x{r['size']}"
        rss = "" if r["rss_peak_mib"] is None else f"{r['rss_peak_mib']:.0f}"
        lines.append(
            f"{r['method']:<10} {size:>9} {r['ms_min']:>8.1f} {r['ms_median']:>10.1f}"
            f" {r['ms_max']:>8.1f} {ratio:>12} {r['traced_peak_mib']:>10.1f} {cuda:>9} {rss:>8}"
        )
    if st.get("contention"):
        lines += [
            "",
            f"beside {st['contention']} busy process(es) of {st['contention_threads']} "
            f"thread(s) each (load {_load_text(env['load_contended'])} at the end):",
            f"{'method':<10} {'size':>9} {'quiet ms':>9} {'busy min':>9} {'busy median':>12}"
            f" {'busy max':>9} {'slowdown':>9}",
        ]
        for r in report["pairs"]:
            c, size = r["contended"], f"{r['size']}x{r['size']}"
            lines.append(
                f"{r['method']:<10} {size:>9} {r['ms_median']:>9.1f} {c['ms_min']:>9.1f}"
                f" {c['ms_median']:>12.1f} {c['ms_max']:>9.1f} {r['slowdown']:>8.2f}x"
            )
    vol = report["volume"]
    if vol:
        z, y, x = vol["shape"]
        lines += [
            "",
            f"volume {z}x{y}x{x} (cnn): {vol['seconds']:.1f} s, {vol['slices_per_s']:.1f} slices/s",
        ]
    e2e = report.get("end_to_end")
    if e2e:
        z, y, x = e2e["shape"]
        rss = "unknown" if e2e["peak_rss_mib"] is None else f"{e2e['peak_rss_mib']:.0f} MiB"
        cpu = "" if e2e.get("cpu_seconds") is None else f", {e2e['cpu_seconds']:.1f} s of CPU"
        state = "" if e2e["returncode"] == 0 else f" (FAILED, exit {e2e['returncode']})"
        lines += [
            f"end to end, brainfuse fuse of a {z}x{y}x{x} pair ({e2e.get('mri', 'uint8')} MRI) "
            f"to NIfTI (load, fuse, write; "
            f"{e2e['threads']} threads): {e2e['seconds']:.1f} s{cpu}, {z / e2e['seconds']:.1f} "
            f"slices/s, peak resident memory {rss}{state}",
        ]
    lines.append(f"max resident memory of the process: {report['max_rss_mib']:.0f} MiB")
    lines.append(
        "peaks during one run: NumPy MiB = NumPy/Python allocations (tracemalloc; torch CPU "
        "tensors are not traced), CUDA MiB = torch CUDA allocator (includes the resident "
        "weights), RSS MiB = whole-process resident memory (Linux)"
    )
    return "\n".join(lines)
