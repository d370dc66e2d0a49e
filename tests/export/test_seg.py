"""The decision map as a DICOM Segmentation beside the fused series: valid (dciodvfy), read back
by highdicom with its two segments, "from CT" equal to the ``--decision-map`` NIfTI voxel for
voxel, in the fused series' study and frame of reference, and left out with ``--no-seg``."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from brainfuse.cli import main
from brainfuse.export import export_result
from brainfuse.export.seg import SEG_FILE_NAME, SEGMENT_LABELS
from tests.dicom_factory import write_series

from .conftest import DCIODVFY, load_volume
from .test_dicom import dciodvfy
from .test_result import fake_pair

hd = pytest.importorskip("highdicom")


def _pair_files(tmp_path):
    """A 6-slice DICOM CT and MR of one patient and study (24 x 24, 2 mm slices)."""
    rng = np.random.default_rng(5)
    _z, y, x = np.mgrid[:6, :24, :24]
    head = ((y - 12) ** 2 + (x - 12) ** 2 < 80).astype(np.uint16)
    ct = write_series(tmp_path / "ct", (head * 1100 + rng.integers(0, 30, (6, 24, 24))).astype(
        np.uint16), modality="CT", dz=2.0, slope=1.0, intercept=-1024.0)  # fmt: skip
    mr_values = (head * 700 + (x > 12) * 300 + rng.integers(0, 30, (6, 24, 24))).astype(np.uint16)
    write_series(tmp_path / "mr", mr_values, modality="MR", dz=2.0, slope=None)
    return ct


def _from_ct(seg_path, fused_files) -> np.ndarray:
    """The "from CT" mask of the SEG, one plane per fused file, in the files' order."""
    seg = hd.seg.segread(seg_path)
    labels = [seg.get_segment_description(n).SegmentLabel for n in seg.segment_numbers]
    assert labels == list(SEGMENT_LABELS)
    uids = [pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in fused_files]
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1])
    return pixels[..., 0].astype(np.uint8)


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (apt package dicom3tools) is not on PATH")
def test_fused_dicom_export_carries_the_decision_map_as_seg(tmp_path, capsys):
    _pair_files(tmp_path)
    out, dm = tmp_path / "fused", tmp_path / "dm.nii.gz"
    args = ["fuse", str(tmp_path / "ct"), str(tmp_path / "mr"), "-o", str(out)]
    assert main([*args, "--format", "dicom", "--decision-map", str(dm), "--device", "cpu"]) == 0
    seg_path = out / SEG_FILE_NAME
    fused_files = sorted(p for p in out.glob("*.dcm") if p != seg_path)
    assert seg_path.is_file() and len(fused_files) == 6
    errors, _ = dciodvfy(seg_path)
    assert errors == [], errors

    from brainfuse.io import load

    hard = load(dm).array.astype(np.uint8)
    assert 0 < hard.sum() < hard.size  # both sources were taken somewhere
    np.testing.assert_array_equal(_from_ct(seg_path, fused_files), hard)

    seg, fused = pydicom.dcmread(seg_path), pydicom.dcmread(fused_files[0])
    for key in ("StudyInstanceUID", "FrameOfReferenceUID", "PatientID", "PatientName"):
        assert seg[key].value == fused[key].value, key
    assert seg.SeriesInstanceUID != fused.SeriesInstanceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == fused.SeriesInstanceUID
    assert load(out).n_slices == 6  # the folder still opens as the fused series

    assert main([*args, "-o", str(tmp_path / "plain"), "--format", "dicom", "--no-seg"]) == 0
    assert not (tmp_path / "plain" / SEG_FILE_NAME).exists()
    assert len(list((tmp_path / "plain").glob("*.dcm"))) == 6


def test_seg_follows_the_edited_map_and_one_slice(mr_series, tmp_path):
    mri = load_volume(mr_series)
    pair = fake_pair(mri)
    edited = pair.decision_map.array.copy()
    edited[1, :8, :8] = 1 - edited[1, :8, :8]  # a hand edit, as the window records it
    from dataclasses import replace

    pair = replace(pair, decision_map=pair.decision_map.with_array(edited))
    files = export_result(pair, tmp_path / "s.dcm", slice_index=1)
    assert [f.name for f in files] == ["s.dcm", "s_seg.dcm"]
    np.testing.assert_array_equal(_from_ct(files[1], files[:1]), edited[1:2])
    anonymous = export_result(pair, tmp_path / "anon", format="dicom", anonymize=True)
    seg, fused = pydicom.dcmread(anonymous[-1]), pydicom.dcmread(anonymous[0])
    assert seg.PatientID == fused.PatientID != mri.source.patient.get("PatientID")
    assert seg.StudyInstanceUID == fused.StudyInstanceUID
