"""End-to-end volume timing for ``brainfuse bench --volume`` (no Qt).

A clinical-size pair (the demo pair resampled to ``(z, n, n)``, CT in HU as int16, MRI as
shipped (uint8) or as a 12-bit int16 MRI, written once as NIfTI under the temporary folder and
reused) is fused by
``brainfuse fuse CT MRI -o OUT.nii.gz`` in a child process, so that the wall time covers
loading, fusion and writing, and the peak resident memory (``wait4``'s ``ru_maxrss``) is the
child's own rather than the benchmark's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MRI_DTYPES", "time_fuse_command", "volume_pair"]

#: How the benchmark's MRI is stored: as shipped (uint8), or int16 with the 8-bit values
#: times 16 (0-4080, the range of a 12-bit scanner's MRI: twice the bytes per voxel).
MRI_DTYPES = ("uint8", "int16")


def volume_pair(
    shape: tuple[int, int, int], folder: str | Path | None = None, *, mri_dtype: str = "uint8"
) -> tuple[Path, Path]:
    """CT and MRI NIfTI files of the demo pair resampled to ``shape`` (z, y, x), made once.

    The voxel spacing is scaled so the head keeps its size in millimetres. Files are kept in
    ``folder`` (default ``<tmp>/brainfuse-bench-ZxYxX``, ``-int16`` added for an int16 MRI)
    and reused by later runs. ``mri_dtype`` is one of :data:`MRI_DTYPES`.
    """
    if mri_dtype not in MRI_DTYPES:
        raise ValueError(f"mri_dtype must be one of {', '.join(MRI_DTYPES)}, not {mri_dtype!r}")
    from scipy import ndimage

    from brainfuse.export.nifti import write_nifti
    from brainfuse.io import demo_pair

    z, y, x = shape
    tag = "" if mri_dtype == "uint8" else f"-{mri_dtype}"
    folder = Path(folder or Path(tempfile.gettempdir()) / f"brainfuse-bench-{z}x{y}x{x}{tag}")
    paths = (folder / "ct.nii.gz", folder / "mri.nii.gz")
    if all(p.is_file() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    for path, vol in zip(paths, demo_pair(), strict=True):
        factors = np.array(shape, float) / np.array(vol.shape, float)
        arr = ndimage.zoom(vol.array.astype(np.float32), factors, order=1)
        sx, sy, sz = vol.spacing
        spacing = (sx / factors[2], sy / factors[1], sz / factors[0])
        dtype = vol.array.dtype
        if vol.modality == "MR" and mri_dtype == "int16":
            arr *= 16.0
            dtype = np.dtype(np.int16)
        resized = vol.with_array(np.round(arr).astype(dtype), spacing=spacing)
        del arr
        write_nifti(resized, path, overwrite=True)
    return paths


def time_fuse_command(
    ct: Path, mri: Path, *, threads: int, device: str = "cpu", method: str = "cnn"
) -> dict[str, Any]:
    """Run ``brainfuse fuse`` on the pair in a child process; wall time and its peak RSS.

    Returns
    -------
    dict
        ``seconds`` (wall, load + fuse + write), ``cpu_seconds`` (the child's user + system
        CPU time: on a busy machine, with threads that do not spin, a bound on what the wall
        time would be on free cores, ≈ cpu_seconds / threads), ``peak_rss_mib`` (the child's
        maximum resident set size), ``returncode``, ``stderr_tail`` (None values where
        ``wait4`` is unavailable).
    """
    with tempfile.TemporaryDirectory(prefix="brainfuse-bench-") as tmp:
        out = Path(tmp) / "fused.nii.gz"
        cmd = [
            sys.executable,
            "-m",
            "brainfuse",
            "fuse",
            str(ct),
            str(mri),
            "-o",
            str(out),
            "--method",
            method,
            "--device",
            device,
            "--threads",
            str(threads),
        ]
        t0 = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            rss = cpu = None
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                seconds = time.perf_counter() - t0
                code = os.waitstatus_to_exitcode(status)
                proc.returncode = code
                rss = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024.0)
                cpu = usage.ru_utime + usage.ru_stime
            else:  # pragma: no cover - Windows
                code = proc.wait()
                seconds = time.perf_counter() - t0
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-400:]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mib": rss,
        "returncode": code,
        "stderr_tail": tail,
    }
