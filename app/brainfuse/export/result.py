"""``export_result``: write a :class:`brainfuse.model.results.PairResult` as PNG, DICOM or NIfTI.

A thin adapter for the CLI (``brainfuse fuse -o``) and the GUI: it picks the reference
source, builds the provenance record and calls the format's writer. The writers themselves
take explicit volumes (:func:`~brainfuse.export.png.write_png`,
:func:`~brainfuse.export.dicom.write_dicom`, :func:`~brainfuse.export.nifti.write_nifti`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from brainfuse.errors import ExportError
from brainfuse.export.dicom import write_dicom
from brainfuse.export.identity import ANONYMIZE_DEFAULT, identity_source
from brainfuse.export.nifti import write_nifti
from brainfuse.export.png import write_png, write_png_slices
from brainfuse.export.provenance import make_provenance
from brainfuse.export.render import draw_legend, overlay_decision_map
from brainfuse.model.image import ImageVolume
from brainfuse.model.overlay import OverlayStyle
from brainfuse.model.results import PairResult, edit_provenance

__all__ = ["FORMATS", "OverlayStyle", "export_result", "infer_format", "slice_volume"]

FORMATS = ("png", "dicom", "nifti")


def infer_format(out: str | os.PathLike[str], format: str | None = None) -> str:
    """Choose the export format: ``format`` if given, else from the suffix of ``out``.

    Examples
    --------
    >>> infer_format("fused.nii.gz")
    'nifti'
    >>> infer_format("series_dir", "dicom")
    'dicom'
    """
    if format is not None:
        fmt = format.lower()
        if fmt not in FORMATS:
            raise ExportError(f"Unknown export format '{format}'; choose png, dicom or nifti.")
        return fmt
    name = Path(out).name.lower()
    if name.endswith(".png"):
        return "png"
    if name.endswith((".dcm", ".dicom")):
        return "dicom"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    raise ExportError(
        f"Cannot tell the export format from '{out}'; name it .png, .dcm, .nii or .nii.gz, "
        "or give the format (--format png|dicom|nifti)."
    )


def slice_volume(volume: ImageVolume, k: int) -> ImageVolume:
    """Slice ``k`` of ``volume`` as a one-slice volume with its own origin."""
    if not -volume.n_slices <= k < volume.n_slices:
        raise ExportError(
            f"Slice {k} does not exist: '{volume.name}' has {volume.n_slices} slices "
            f"(0 to {volume.n_slices - 1})."
        )
    k %= volume.n_slices
    origin = volume.affine @ np.array([0.0, 0.0, float(k), 1.0])
    source = volume.source
    if len(source.sop_instance_uids) == volume.n_slices > 1:  # one instance per slice
        source = replace(source, sop_instance_uids=(source.sop_instance_uids[k],))
    return volume.with_array(volume.array[k : k + 1], origin=tuple(origin[:3]), source=source)


def _slices(arr: np.ndarray, k: int | None) -> np.ndarray:
    """Restrict a ``(Z, Y, X)`` map to slice ``k`` (all when None)."""
    return arr if k is None else arr[k : k + 1]


def _provenance(result: PairResult) -> dict[str, object]:
    from brainfuse.model.alignment import grid_centre, rigid_parameters

    registration = result.registration
    if registration == "rigid":  # the accepted alignment, its six parameters
        shift, angles = rigid_parameters(result.transform, grid_centre(result.reference_volume))
        registration += " shift_mm " + " ".join(f"{v:.2f}" for v in shift)
        registration += " rotation_deg " + " ".join(f"{v:.2f}" for v in angles)
    role, _ = identity_source(result)
    identity = result.identity.provenance() if result.identity is not None else {}
    return make_provenance(
        method=result.fusion.method,
        device=result.fusion.device,
        windows=result.windows,
        model_sha256=result.fusion.model_sha256,
        reference=result.reference,
        rule=result.fusion.rule,
        registration=registration,
        patient_from=role,
        **identity,
        **edit_provenance(result.edits),
    )


def _source_paths(volumes: list[ImageVolume | None]) -> list[str]:
    paths: list[str] = []
    for v in volumes:
        if v is not None:
            paths += [*v.source.files, v.path] if v.path else list(v.source.files)
    return paths


def _identity_volume(result: PairResult, slice_index: int | None) -> ImageVolume | None:
    """Return the source whose patient and study a DICOM export takes, sliced like it."""
    _, volume = identity_source(result)
    if volume is None or slice_index is None or volume.n_slices != result.fused.n_slices:
        return volume
    return slice_volume(volume, slice_index)


def _overlay_slices(
    fused: ImageVolume, dmap: np.ndarray, style: OverlayStyle, labels: tuple[str, str]
) -> np.ndarray:
    out = []
    for k in range(fused.n_slices):
        rgb = overlay_decision_map(
            fused.array[k], dmap[k], opacity=style.opacity, colormap=style.colormap
        )
        if style.legend:
            rgb = draw_legend(rgb, labels=labels, colormap=style.colormap, opacity=style.opacity)
        out.append(rgb)
    return np.stack(out)


def export_result(
    result: PairResult,
    out: str | os.PathLike[str],
    *,
    format: str | None = None,
    overlay: bool = False,
    style: OverlayStyle | None = None,
    anonymize: bool = ANONYMIZE_DEFAULT,
    overwrite: bool = False,
    decision_map_path: str | os.PathLike[str] | None = None,
    slice_index: int | None = None,
    patient: Mapping[str, object] | None = None,
    bit_depth: int = 8,
    seg: bool = True,
) -> list[Path]:
    """Export a fusion result.

    Parameters
    ----------
    result : brainfuse.model.results.PairResult
    out : path
        ``.png`` / ``.dcm`` / ``.nii[.gz]`` file, or a folder (one file per slice) for PNG
        and DICOM volumes.
    format : {"png", "dicom", "nifti"}, optional
        Inferred from ``out``'s suffix when omitted.
    overlay : bool
        Burn the decision map into PNG/DICOM pixels as the window shows it; DICOM then
        becomes an RGB Secondary Capture with BurnedInAnnotation YES.
    style : OverlayStyle, optional
        Opacity, colour table, hard/soft map and legend of the overlay (default: the
        window's defaults).
    anonymize : bool
        De-identify DICOM output (PNG and NIfTI carry no patient data anyway). Otherwise a
        DICOM series takes patient and study from one DICOM source
        (:func:`brainfuse.export.identity.identity_source`: the CT when both are DICOM).
    overwrite : bool
        Replace existing outputs.
    decision_map_path : path, optional
        Also write the hard decision map (0/1) there: NIfTI (``.nii``/``.nii.gz``), one
        PNG (0/255, one slice), or a folder of numbered PNGs (a path without suffix).
    slice_index : int, optional
        Export only this slice of a volume.
    patient : mapping, optional
        DICOM patient/study attributes for a DICOM export of non-DICOM sources.
    bit_depth : {8, 16}
        PNG bit depth for grey output without overlay.
    seg : bool
        With DICOM, also write the hard decision map (edits included) as a DICOM
        Segmentation of the fused series (:mod:`brainfuse.export.seg`), after its slices
        (not for a fused image without geometry: a SEG cannot be placed without positions).

    Returns
    -------
    list of Path
        Every file written (the decision map last).

    Raises
    ------
    ExportError
        Unknown format, missing slice, output exists or equals a source, write failed.
    """
    fmt = infer_format(out, format)
    style = style or OverlayStyle()
    fused_full = result.fused
    fused = fused_full if slice_index is None else slice_volume(fused_full, slice_index)
    provenance = _provenance(result)
    reference, others = result.reference_volume, [result.other_volume]
    sources = _source_paths([reference, *others])
    if overlay and fmt == "nifti":
        raise ExportError("An overlay can be burned into PNG or DICOM, not NIfTI.")
    shown = result.soft_map if style.soft else result.decision_map.array
    dmap = _slices(shown, slice_index)
    ct = result.ct
    labels = ("MRI", ct.modality if ct.modality in ("PT", "NM") else "CT")
    written: list[Path] = []
    if fmt == "png":
        pictures = _overlay_slices(fused, dmap, style, labels) if overlay else fused.array
        depth = 8 if overlay or fused.is_rgb else bit_depth
        if fused.n_slices == 1 and Path(out).suffix.lower() == ".png":
            written.append(
                write_png(
                    pictures[0],
                    out,
                    provenance=provenance,
                    bit_depth=depth,
                    overwrite=overwrite,
                    sources=sources,
                )
            )
        elif Path(out).suffix.lower() == ".png":
            raise ExportError(
                f"'{out}' names one PNG but the fused volume has {fused.n_slices} slices; give "
                "a folder for numbered slices, or choose one slice."
            )
        else:
            written += write_png_slices(
                pictures,
                out,
                provenance=provenance,
                bit_depth=depth,
                overwrite=overwrite,
                sources=sources,
            )
    elif fmt == "dicom":
        image = fused
        if overlay:
            image = fused.with_array(_overlay_slices(fused, dmap, style, labels), is_rgb=True)
        if slice_index is not None:
            reference = slice_volume(reference, slice_index)
            others = [
                slice_volume(o, slice_index) if o.n_slices == fused_full.n_slices else o
                for o in others
            ]
        written += write_dicom(
            image,
            out,
            reference=reference,
            provenance=provenance,
            other_sources=[o.source for o in others],
            patient=patient,
            anonymize=anonymize,
            burned_in_annotation=overlay,
            overwrite=overwrite,
            sources=sources,
            identity=_identity_volume(result, slice_index),
            decision_map=(  # a SEG needs plane positions to anchor its frames
                _slices(result.decision_map.array, slice_index)
                if seg and fused.has_geometry
                else None
            ),
        )
    else:
        written.append(
            write_nifti(fused, out, provenance=provenance, overwrite=overwrite, sources=sources)
        )
    if decision_map_path is not None:
        hard = _slices(result.decision_map.array, slice_index)
        suffix = Path(decision_map_path).suffix
        dm_fmt = infer_format(decision_map_path) if suffix else "png-folder"
        if dm_fmt == "nifti":
            written.append(
                write_nifti(
                    fused,
                    decision_map_path,
                    array=hard if hard.dtype == np.uint8 else np.asarray(hard, np.uint8),
                    provenance=provenance,
                    overwrite=overwrite,
                    sources=sources,
                )
            )
        elif dm_fmt == "png" and hard.shape[0] == 1:
            written.append(
                write_png(
                    hard[0].astype(np.float32),
                    decision_map_path,
                    provenance=provenance,
                    overwrite=overwrite,
                    sources=sources,
                )
            )
        elif dm_fmt == "png-folder":
            written += write_png_slices(
                np.asarray(hard, np.float32),
                decision_map_path,
                provenance=provenance,
                prefix="decision_map_",
                overwrite=overwrite,
                sources=sources,
            )
        else:
            raise ExportError(
                f"The decision map can be written as NIfTI (.nii/.nii.gz), as one PNG for one "
                f"slice, or as numbered PNGs in a folder; got '{decision_map_path}' for "
                f"{hard.shape[0]} slices."
            )
    return written
