"""Send what is on screen: the result given is exported afresh and sent, with its patient."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from brainfuse.errors import BrainFuseError
from brainfuse.model.image import ImageVolume, SourceIdentity
from brainfuse.pacs.model import SendResult
from brainfuse.pipeline import fuse_pair
from brainfuse.pipeline.send import plan_send, send_result
from brainfuse.reading.edit_apply import apply_to_result
from brainfuse.reading.edits import EditVolume


class FakeNode:
    """Keeps what it was sent (the files are gone once send_result returns)."""

    def __init__(self):
        self.received: list[pydicom.Dataset] = []

    def send(self, files, *, progress=None, cancel=None):
        self.received += [pydicom.dcmread(f) for f in files]
        return [SendResult(Path(f), True) for f in files]


def _pair(patient_id: str, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for modality, study in (
        ("CT", "1.2.826.0.1.3680043.8.498.11"),
        ("MR", "1.2.826.0.1.3680043.8.498.12"),
    ):
        source = SourceIdentity(
            study_instance_uid=study,
            sop_instance_uids=tuple(f"1.2.826.0.1.3680043.8.498.{seed}{k}" for k in range(3)),
            patient={"PatientID": patient_id, "PatientName": "TEST^" + patient_id},
        )
        array = rng.integers(0, 800, (3, 16, 16)).astype(np.float32)
        units = "HU" if modality == "CT" else ""
        out.append(ImageVolume(array, modality=modality, units=units, source=source))
    return out


def test_the_result_on_screen_is_sent_with_its_edits_and_patient():
    old = fuse_pair(*_pair("OLD-1", 1), method="average")
    new = fuse_pair(*_pair("NEW-2", 2), method="average")
    edits = EditVolume(new.fused)
    edits.paint_voxel((1, 8, 8), 3.0, "ct", plane=None)
    shown = apply_to_result(new, edits)
    plan = plan_send(shown)
    assert plan.images == 3 and plan.segmentation and plan.instances == 4
    assert "NEW-2" in plan.confirmation()
    assert "BrainFuse fusion (average)" in plan.confirmation()
    node = FakeNode()
    answer = send_result(shown, node)
    assert answer["instances"] == plan.instances and answer["failed"] == []
    assert answer["study"] == "1.2.826.0.1.3680043.8.498.11"  # the CT's study
    images = [ds for ds in node.received if ds.Modality != "SEG"]
    got = np.stack([ds.pixel_array * float(ds.RescaleSlope) for ds in images])
    np.testing.assert_allclose(got, shown.fused.array, atol=1 / 4095)
    assert not np.allclose(got, old.fused.array, atol=0.01)
    assert {ds.PatientID for ds in node.received} == {"NEW-2"}
    assert {ds.SeriesInstanceUID for ds in images} == {answer["series"]}


def test_without_a_patient_only_when_confirmed():
    result = fuse_pair(*_pair("P-3", 3), method="average")
    node = FakeNode()
    with pytest.raises(BrainFuseError, match="Not sent: anonymised"):
        send_result(result, node, anonymize=True)
    assert node.received == []
    assert "cannot attach it to any patient" in plan_send(result, anonymize=True).confirmation()
    answer = send_result(result, node, anonymize=True, confirmed_without_patient=True)
    assert answer["instances"] == 4 and node.received[0].PatientName == ""
