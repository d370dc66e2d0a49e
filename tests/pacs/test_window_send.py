"""Send to PACS from the window (through ``Viewer``) files the fusion on screen in Orthanc."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_after_a_new_pair_send_files_the_new_fusion(qtbot, orthanc, configured, demo_crop):
    from brainfuse.gui import Viewer
    from tests.gui.patients import CT_PATIENT, OTHER, of_patient

    ct, mri = demo_crop
    viewer = Viewer(show=False)
    try:
        viewer.open_pair(of_patient(ct, CT_PATIENT), of_patient(mri, CT_PATIENT))
        viewer.wait(120)
        first = viewer.send_current("orthanc")
        # another patient's pair, fused anew: Send must send this one, under its patient
        ct2, mri2 = (v.with_array(v.array[:4].copy()) for v in (ct, mri))
        viewer.open_pair(of_patient(ct2, OTHER), of_patient(mri2, OTHER))
        viewer.wait(120)
        second = viewer.send_current("orthanc")
    finally:
        viewer.close()
    assert first["series"] != second["series"] and first["study"] != second["study"]
    assert first["failed"] == second["failed"] == []
    series = _series(orthanc, second["series"])
    assert len(series["Instances"]) == 4  # the new pair's slices (the SEG is its own series)
    assert second["instances"] == 4 + 1
    patient = orthanc.rest(f"/series/{series['ID']}/patient")
    assert patient["MainDicomTags"]["PatientID"] == "INV-0077"
    assert len(_series(orthanc, first["series"])["Instances"]) == ct.n_slices


def _series(orthanc, uid: str) -> dict:
    for sid in orthanc.rest("/series"):
        series = orthanc.rest(f"/series/{sid}")
        if series["MainDicomTags"].get("SeriesInstanceUID") == uid:
            return series
    raise AssertionError(f"series {uid} is not in Orthanc")


@pytest.fixture(scope="module")
def demo_crop():
    from brainfuse.io import demo_pair
    from tests.gui.conftest import crop

    ct, mri = demo_pair()
    k = ct.n_slices // 2
    return crop(ct, k - 3, k + 3), crop(mri, k - 3, k + 3)
