"""Export fused images: PNG, DICOM derived series, NIfTI (no Qt).

Every write is a temporary file in the target folder renamed into place
(:mod:`brainfuse.export.atomic`); an existing output is replaced only with ``overwrite``,
and a source file is never written. :func:`export_result` adapts a
:class:`brainfuse.pipeline.PairResult`; the writers take explicit volumes.
"""

from brainfuse.export.anonymize import UIDMap, anonymize_dataset
from brainfuse.export.atomic import (
    check_target,
    folder_atomic,
    write_bytes_atomic,
    write_folder_atomic,
)
from brainfuse.export.dicom import build_series, choose_sop_class, write_dicom
from brainfuse.export.identity import (
    ANONYMIZE_DEFAULT,
    ExportIdentity,
    export_identity,
    identity_source,
)
from brainfuse.export.nifti import nifti_image, write_nifti
from brainfuse.export.png import encode_png, write_png, write_png_slices
from brainfuse.export.provenance import make_provenance, provenance_json, provenance_text
from brainfuse.export.render import (
    colormap_lut,
    draw_legend,
    overlay_decision_map,
    to_uint8,
    to_uint16,
)
from brainfuse.export.result import FORMATS, OverlayStyle, export_result, infer_format, slice_volume

__all__ = [
    "ANONYMIZE_DEFAULT",
    "FORMATS",
    "ExportIdentity",
    "OverlayStyle",
    "UIDMap",
    "anonymize_dataset",
    "build_series",
    "check_target",
    "choose_sop_class",
    "colormap_lut",
    "draw_legend",
    "encode_png",
    "export_identity",
    "export_result",
    "folder_atomic",
    "identity_source",
    "infer_format",
    "make_provenance",
    "nifti_image",
    "overlay_decision_map",
    "provenance_json",
    "provenance_text",
    "slice_volume",
    "to_uint8",
    "to_uint16",
    "write_bytes_atomic",
    "write_dicom",
    "write_folder_atomic",
    "write_nifti",
    "write_png",
    "write_png_slices",
]
