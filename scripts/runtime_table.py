"""Inference runtimes for the fusion's encoder, side by side in one run: time, agreement, size.

The fusion needs one thing from the network at fusion time: the channel-summed gradient
energy of the encoder's deep features (:class:`brainfuse.fusion.inference.EnergyEncoder`).
Each runtime below computes that energy from the same shipped weights and is plugged into
the same :class:`~brainfuse.fusion.Fuser` (its ``energy``), so the rest of the fusion
(anatomy rule, decision, blend) is identical:

- ``torch eager bf16``: what ships (bfloat16 products where the CPU has AVX512-BF16/AMX);
- ``torch eager f32``: the same in float32;
- ``torch.compile bf16``: the shipped form through TorchInductor (needs a C++ compiler at
  run time, and compiles for tens of seconds per shape);
- ``ONNX Runtime f32``: the energy graph exported to ONNX (opset 17; ORT has no bfloat16
  convolution on the CPU);
- ``OpenVINO bf16`` / ``OpenVINO f32``: the same ONNX graph, inference precision hint
  bfloat16 (OpenVINO's default on such CPUs) or float32.

For each runtime and size (the demo pair's middle slice resized to 256 and 512; a 512 slice
is encoded at 256, ``FusionSettings.encoder_size``): ms per fused pair (median of
``--repeat``, each quiet run followed by one beside one busy process, interleaved over the
runtimes so they all see the same background load), the slowdown beside it, the agreement
with today's maps (share of decision-map pixels that differ; largest soft-map and fused
differences; median relative difference of the encoder energy), and what the runtime adds
to an installed bundle (its installed packages, MB; the ONNX file is under 0.1 MB).

Usage: ``python scripts/runtime_table.py [--repeat 7] [--sizes 256 512] [--skip-compile]``
(needs ``pip install onnx onnxruntime openvino``; a runtime that is not installed is listed
as such). Prints a Markdown table for the model card.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from brainfuse.bench.contention import busy_processes
from brainfuse.bench.timing import bench_inputs
from brainfuse.fusion import Fuser
from brainfuse.fusion.inference import EnergyEncoder


class _EnergyGraph(torch.nn.Module):
    """:class:`EnergyEncoder`'s arithmetic in plain float32 operations, for ONNX export."""

    def __init__(self, e: EnergyEncoder):
        super().__init__()
        self.e = e

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e, n = self.e, self.e.n_stages
        pre: list[torch.Tensor | None] = [None] * n
        w0, b0 = e.weights[0][0]
        pre[0] = functional.conv2d(x, w0[:, :1].float().contiguous(), b0, padding=1)
        energy = torch.zeros_like(x[:, 0])
        for s in range(n):
            y = torch.relu(pre[s])
            scale, shift = e.bn_scale[s], e.bn_shift[s]
            gate = e.se[s].scales(y.mean(dim=(2, 3)) * scale + shift)
            y = y * (scale * gate)[:, :, None, None] + (shift * gate)[:, :, None, None]
            dr = y[:, :, 1:, :] - y[:, :, :-1, :]
            dc = y[:, :, :, 1:] - y[:, :, :, :-1]
            energy = energy + functional.pad((dr * dr).sum(1), (0, 0, 1, 0))
            energy = energy + functional.pad((dc * dc).sum(1), (1, 0, 0, 0))
            for k in range(s + 1, n):
                wt, bias = e.weights[k][s]
                part = functional.conv2d(y, wt.float().contiguous(), bias, padding=1)
                pre[k] = part if pre[k] is None else pre[k] + part
        return energy


def _export(fuser: Fuser, path: Path) -> None:
    for p in fuser.encoder.parameters():
        p.requires_grad_(False)
    graph = _EnergyGraph(EnergyEncoder(fuser.encoder)).eval()
    x = torch.rand(1, 1, 64, 64)
    torch.onnx.export(
        graph,
        (x,),
        str(path),
        input_names=["x"],
        output_names=["energy"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "energy": {0: "n", 1: "h", 2: "w"}},
        opset_version=17,
        dynamo=False,
    )


class _PerThread:
    """An energy callable backed by one runtime session per worker thread."""

    def __init__(self, make: Callable[[], Callable[[np.ndarray], np.ndarray]]):
        self.make = make
        self.local = threading.local()

    def __call__(self, x: torch.Tensor, se_scales=None) -> torch.Tensor:
        if se_scales is not None:
            raise NotImplementedError("tiled encoding is not exported")
        run = getattr(self.local, "run", None)
        if run is None:
            run = self.local.run = self.make()
        return torch.from_numpy(np.asarray(run(np.ascontiguousarray(x.numpy()))))


def _ort(path: Path) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    import onnxruntime as ort

    def make():
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        return lambda x: s.run(None, {"x": x})[0]

    return make


def _openvino(path: Path, precision: str) -> Callable[[], Callable[[np.ndarray], np.ndarray]]:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(path))
    config = {
        "INFERENCE_NUM_THREADS": 1,
        "INFERENCE_PRECISION_HINT": precision,
        "PERFORMANCE_HINT": "LATENCY",
    }
    compiled = core.compile_model(model, "CPU", config)

    def make():
        req = compiled.create_infer_request()
        return lambda x: req.infer({0: x})[0]

    return make


def _compiled(fuser: Fuser) -> Callable:
    energy = EnergyEncoder(fuser.encoder, bfloat16=fuser.energy.bfloat16)
    fn = torch.compile(lambda x: energy(x), dynamic=False)
    return lambda x, se_scales=None: fn(x)


def _installed_mb(dists: list[str]) -> float | None:
    """Installed size (MB) of the distributions' files; None if one is missing."""
    total = 0
    for name in dists:
        try:
            files = md.distribution(name).files or []
        except md.PackageNotFoundError:
            return None
        for f in files:
            p = Path(str(f.locate()))
            if p.is_file():
                total += p.stat().st_size
    return total / 1e6


def _agreement(ref, res, e_ref, e_new) -> dict[str, float]:
    return {
        "dm_differ": float(np.mean(ref.decision_map != res.decision_map)),
        "soft_mean": float(np.abs(ref.soft_map - res.soft_map).mean()),
        "soft_max": float(np.abs(ref.soft_map - res.soft_map).max()),
        "fused_max": float(np.abs(ref.fused - res.fused).max()),
        "energy_rel": float(np.median(np.abs(e_new - e_ref) / (np.abs(e_ref) + 1e-6))),
    }


def main() -> None:
    """Build every runtime, time them interleaved, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-compile", action="store_true", help="leave torch.compile out")
    args = ap.parse_args()
    pairs, _, what = bench_inputs(args.sizes, None)
    base = Fuser("cnn", threads=args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="brainfuse-runtimes-"))
    onnx_path = tmp / "energy.onnx"
    runtimes: dict[str, tuple[Callable | None, str, list[str]]] = {
        "torch eager bf16 (today)": (base.energy, "", []),
        "torch eager f32": (EnergyEncoder(base.encoder), "", []),
    }
    if not args.skip_compile:
        runtimes["torch.compile bf16"] = (_compiled(base), "needs a C++ compiler at run time", [])
    try:
        _export(base, onnx_path)
        runtimes["ONNX Runtime f32"] = (_PerThread(_ort(onnx_path)), "", ["onnxruntime"])
    except ImportError as exc:
        runtimes["ONNX Runtime f32"] = (None, f"not installed ({exc})", ["onnxruntime"])
    for prec in ("bf16", "f32"):
        name = f"OpenVINO {prec}"
        try:
            runtimes[name] = (_PerThread(_openvino(onnx_path, prec)), "", ["openvino"])
        except Exception as exc:  # not installed, or no such precision here
            runtimes[name] = (None, f"unavailable ({exc})", ["openvino"])
    fusers: dict[str, Fuser] = {}
    for name, (energy, _, _) in runtimes.items():
        if energy is None:
            continue
        f = Fuser("cnn", threads=args.threads)
        f.energy = energy
        fusers[name] = f
    # agreement with today's maps, and warm-up (torch.compile compiles here)
    agree: dict[tuple[str, int], dict[str, float]] = {}
    for n in args.sizes:
        a, b, bone = pairs[n]
        ref = base.fuse(a, b, bone=bone, decide=None)
        e_ref = base.activity(a[None], b[None])[0]
        for name, f in fusers.items():
            t0 = time.perf_counter()
            res = f.fuse(a, b, bone=bone)
            first = time.perf_counter() - t0
            agree[name, n] = _agreement(ref, res, e_ref, f.activity(a[None], b[None])[0])
            agree[name, n]["first_s"] = first
    quiet: dict[tuple[str, int], list[float]] = {k: [] for k in agree}
    busy: dict[tuple[str, int], list[float]] = {k: [] for k in agree}
    load0 = os.getloadavg()
    with busy_processes(1) as group:
        group.pause()
        for _ in range(args.repeat):
            for n in args.sizes:
                a, b, bone = pairs[n]
                for name, f in fusers.items():
                    t0 = time.perf_counter()
                    f.fuse(a, b, bone=bone)
                    quiet[name, n].append((time.perf_counter() - t0) * 1e3)
                    group.resume()
                    t0 = time.perf_counter()
                    f.fuse(a, b, bone=bone)
                    busy[name, n].append((time.perf_counter() - t0) * 1e3)
                    group.pause()
    load1 = os.getloadavg()
    print(
        f"input: {what}; {args.threads} worker threads; median of {args.repeat} runs, quiet "
        f"and beside 1 busy process alternating; load {load0[0]:.2f} before, {load1[0]:.2f} "
        f"after; torch {torch.__version__}"
    )
    print(
        "\n| runtime | size | quiet ms | busy ms | slowdown | decision px differ | soft mean / max "
        "diff | fused max diff | energy median rel diff | first call s | bundle + MB | note |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, (_, note, dists) in runtimes.items():
        size_mb = _installed_mb(dists) if dists else 0.0
        mb = "not installed" if size_mb is None else f"{size_mb:.0f}"
        for n in args.sizes:
            if name not in fusers:
                print(f"| {name} | {n}² | | | | | | | | | {mb} | {note} |")
                continue
            q = statistics.median(quiet[name, n])
            c = statistics.median(busy[name, n])
            g = agree[name, n]
            print(
                f"| {name} | {n}² | {q:.1f} | {c:.1f} | {c / q:.2f}x | {g['dm_differ']:.2%} | "
                f"{g['soft_mean']:.5f} / {g['soft_max']:.3f} | {g['fused_max']:.3f} | {g['energy_rel']:.2%} | "
                f"{g['first_s']:.1f} | {mb} | {note} |"
            )


if __name__ == "__main__":
    main()
