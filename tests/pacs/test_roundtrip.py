"""Acceptance: against a real Orthanc, over DIMSE and over DICOMweb, send the 108-slice CT and
an MR of the same patient and study, find them by patient ID, get them back unchanged, fuse
them with ``brainfuse fuse``, send the fused series and find it in the study, its Source
Image Sequence pointing at the instances sent."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from brainfuse.cli import main
from brainfuse.export.seg import SEG_FILE_NAME
from brainfuse.pacs import Query, connect
from tests.dicom_factory import mr_from_ct

pytestmark = [pytest.mark.shared, pytest.mark.slow]

CT_SERIES = "dicom/ct/cranium_ct_series"


def _by_uid(folder: Path) -> dict[str, pydicom.Dataset]:
    return {str(ds.SOPInstanceUID): ds for ds in map(pydicom.dcmread, folder.rglob("*.dcm"))}


def _assert_same_instances(received: Path, sent: Path) -> None:
    """Same SOP instances, byte-identical pixel data, same UIDs and transfer syntax."""
    got, want = _by_uid(received), _by_uid(sent)
    assert set(got) == set(want)
    for uid, ds in got.items():
        src = want[uid]
        assert ds.PixelData == src.PixelData, uid
        for key in ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "FrameOfReferenceUID"):
            assert ds[key].value == src[key].value, (uid, key)
        assert ds.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID


@pytest.mark.parametrize("way", ["get", "web"])
def test_send_find_get_fuse_send_back(way, configured, shared_data, tmp_path, capsys):
    ct_dir = shared_data / CT_SERIES
    if not ct_dir.is_dir():
        pytest.skip(f"{ct_dir} not found")
    node = configured[way]
    mr_dir = tmp_path / "mr_sent"
    mr_paths = mr_from_ct(ct_dir, mr_dir)
    ct0 = pydicom.dcmread(next(ct_dir.glob("*.dcm")), stop_before_pixels=True)
    mr0 = pydicom.dcmread(mr_paths[0], stop_before_pixels=True)

    # Send both series through the CLI; every file stored.
    assert main(["pacs", "send", "--node", node.name, str(ct_dir), str(mr_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{108 + len(mr_paths)} of {108 + len(mr_paths)} files stored" in out

    # Find by patient ID: the study, with the CT and this MR series and their counts.
    studies = connect(node).find(Query(patient_id=ct0.PatientID))
    assert [s.study_uid for s in studies] == [ct0.StudyInstanceUID]
    series = {s.series_uid: s for s in studies[0].series}
    assert series[ct0.SeriesInstanceUID].n_instances == 108
    assert series[ct0.SeriesInstanceUID].modality == "CT"
    assert series[mr0.SeriesInstanceUID].n_instances == len(mr_paths)
    assert main(["pacs", "find", "--node", node.name, "--patient-id", ct0.PatientID]) == 0
    table = capsys.readouterr().out
    assert ct0.SeriesInstanceUID in table and mr0.SeriesInstanceUID in table

    # Get both back into fresh folders: same instances, pixel data and UIDs.
    got_ct, got_mr = tmp_path / "got_ct", tmp_path / "got_mr"
    for uid, folder in ((ct0.SeriesInstanceUID, got_ct), (mr0.SeriesInstanceUID, got_mr)):
        args = ["pacs", "get", "--node", node.name, "--study", ct0.StudyInstanceUID]
        assert main([*args, "--series", uid, "--out", str(folder)]) == 0
    _assert_same_instances(got_ct, ct_dir)
    _assert_same_instances(got_mr, mr_dir)
    assert not list(tmp_path.glob(".*.part"))

    # Fuse what came back, as a user would, and send the fused series.
    fused = tmp_path / "fused"
    assert main(["fuse", str(got_ct), str(got_mr), "-o", str(fused), "--format", "dicom"]) == 0
    capsys.readouterr()
    fused_files = sorted(f for f in fused.glob("*.dcm") if f.name != SEG_FILE_NAME)
    assert fused_files
    fused0 = pydicom.dcmread(fused_files[0], stop_before_pixels=True)
    seg = pydicom.dcmread(fused / SEG_FILE_NAME, stop_before_pixels=True)
    assert fused0.StudyInstanceUID == ct0.StudyInstanceUID
    assert main(["pacs", "send", "--node", node.name, str(fused)]) == 0

    # Find it in the same study, get it back, and follow its sources to the sent instances.
    studies = connect(node).find(Query(study_uid=ct0.StudyInstanceUID))
    found = {s.series_uid: s for s in studies[0].series}
    assert found[fused0.SeriesInstanceUID].n_instances == len(fused_files)
    assert found[seg.SeriesInstanceUID].modality == "SEG"  # the decision map, same study
    back = tmp_path / "fused_back"
    assert (
        main(
            [
                "pacs",
                "get",
                "--node",
                node.name,
                "--study",
                ct0.StudyInstanceUID,
                "--series",
                fused0.SeriesInstanceUID,
                "--out",
                str(back),
            ]
        )
        == 0
    )
    sent_uids = set(_by_uid(ct_dir)) | set(_by_uid(mr_dir))
    referenced = set()
    for ds in _by_uid(back).values():
        assert ds.SourceImageSequence
        referenced |= {str(item.ReferencedSOPInstanceUID) for item in ds.SourceImageSequence}
    assert referenced and referenced <= sent_uids
    assert referenced & set(_by_uid(mr_dir)), "the MR reference grid's slices are cited"


def test_c_move_returns_the_ct_unchanged(configured, shared_data, tmp_path):
    ct_dir = shared_data / CT_SERIES
    if not ct_dir.is_dir():
        pytest.skip(f"{ct_dir} not found")
    assert main(["pacs", "send", "--node", "orthanc", str(ct_dir)]) == 0
    ct0 = pydicom.dcmread(next(ct_dir.glob("*.dcm")), stop_before_pixels=True)
    out = tmp_path / "moved"
    args = ["pacs", "get", "--node", "orthanc-move", "--study", ct0.StudyInstanceUID]
    assert main([*args, "--series", ct0.SeriesInstanceUID, "--out", str(out)]) == 0
    _assert_same_instances(out, ct_dir)
