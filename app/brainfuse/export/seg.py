"""The decision map as a DICOM Segmentation (highdicom): one instance beside the fused series.

The hard decision map (edits included) is written as a BINARY Segmentation with two
segments, 1 "from CT" (map = 1) and 2 "from MRI" (map = 0), one frame per segment and
fused slice (empty frames kept, so every viewer finds a frame for every slice). Its source
images are the fused series' own instances: highdicom copies patient and study from them
and takes their Frame of Reference and plane positions, so the SEG lands in the fused
series' study and overlays it in OHIF, 3D Slicer or Weasis as a toggleable layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from brainfuse import __version__
from brainfuse.errors import ExportError
from brainfuse.model.overlay import DEFAULT_COLORMAP, colormap_lut

__all__ = ["SEGMENT_LABELS", "SEG_FILE_NAME", "build_segmentation", "header_only"]

#: File name of the SEG inside a DICOM export folder (after the numbered slices).
SEG_FILE_NAME = "decision_map_seg.dcm"
#: Segment labels, in segment-number order (1 = hard map value 1, the CT).
SEGMENT_LABELS = ("from CT", "from MRI")
_SERIES_NUMBER_OFFSET = 100
_PIXEL_DATA = 0x7FE00010  # the SEG's series number: the fused series' + 100


def header_only(ds: Dataset) -> Dataset:
    """Return a copy of ``ds`` without its pixels: what the SEG needs of a source image."""
    out = Dataset()
    for elem in ds:
        if elem.tag != _PIXEL_DATA:
            out.add(elem)
    out.file_meta = ds.file_meta
    return out


def _segments(method: str) -> list:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    algorithm = hd.AlgorithmIdentificationSequence(
        name=f"BrainFuse {method} fusion decision map",
        version=__version__,
        family=codes.DCM.ArtificialIntelligence,
    )
    # The window's colours: the default colour table's top (CT) and bottom (MRI) ends, as
    # in the overlay legend.
    table = colormap_lut(DEFAULT_COLORMAP)
    colours = (table[-1], table[0])
    return [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=label,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
            display_color=hd.color.CIELabColor.from_rgb(*(int(v) for v in rgb)),
        )
        for number, (label, rgb) in enumerate(zip(SEGMENT_LABELS, colours, strict=True), 1)
    ]


def build_segmentation(
    fused_headers: Sequence[Dataset],
    decision_map: np.ndarray,
    provenance: Mapping[str, Any],
) -> Dataset:
    """Build the SEG of ``decision_map`` over the fused series ``fused_headers``.

    Parameters
    ----------
    fused_headers : sequence of Dataset
        The fused series' datasets in slice order (pixels may be left out, see
        :func:`header_only`); they must share a Frame of Reference and carry plane positions.
    decision_map : (Z, Y, X) array
        The hard map, 1 where the CT was taken, 0 where the MRI was; ``Z`` equals the number
        of fused datasets.
    provenance : mapping
        The export's provenance record (its ``method`` names the algorithm).

    Returns
    -------
    highdicom.seg.Segmentation
        A pydicom Dataset (with file meta) ready to write.

    Raises
    ------
    ExportError
        The map does not match the series, or the series has no geometry to anchor a SEG.
    """
    import highdicom as hd

    hard = np.asarray(decision_map)
    first = fused_headers[0]
    if hard.shape != (len(fused_headers), int(first.Rows), int(first.Columns)):
        raise ExportError(
            f"The decision map {hard.shape} does not match the fused series "
            f"({len(fused_headers)} slices of {first.Rows} x {first.Columns})."
        )
    if "FrameOfReferenceUID" not in first or "ImagePositionPatient" not in first:
        raise ExportError(
            "The fused series has no frame of reference or slice positions, so the decision "
            "map cannot be written as a DICOM SEG; export without it (--no-seg)."
        )
    masks = np.stack([hard == 1, hard == 0], axis=-1)
    series_number = int(first.get("SeriesNumber", 0) or 0) + _SERIES_NUMBER_OFFSET
    method = str(provenance.get("method", "")) or "unknown"
    try:
        return hd.seg.Segmentation(
            source_images=list(fused_headers),
            pixel_array=masks,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=_segments(method),
            series_instance_uid=hd.UID(),
            series_number=series_number,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="BrainFuse",
            manufacturer_model_name="BrainFuse",
            software_versions=__version__,
            device_serial_number="none",
            series_description=f"BrainFuse decision map ({method})"[:64],
            omit_empty_frames=False,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ExportError(f"The decision map could not be written as a DICOM SEG: {exc}") from exc
