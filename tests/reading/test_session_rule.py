"""A session keeps its fusion rule, settings, brush and grid: reopened under the other rule
preference, the same edits give the same map (through reading/ and the pipeline)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brainfuse.errors import UnreadableInputError
from brainfuse.export.nifti import write_nifti
from brainfuse.fusion import Fuser, FusionSettings
from brainfuse.pipeline import fuse_pair
from brainfuse.reading.edit_apply import apply_to_result
from brainfuse.reading.edits import EditVolume
from brainfuse.reading.session import Session, SourceRecord, open_session, save_session
from brainfuse.reading.session_fusion import SessionFusion, settings_from_record
from brainfuse.reading.workspace import Workspace
from tests.demo_slices import demo_slices


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    from brainfuse.io import load

    folder = tmp_path_factory.mktemp("scans")
    ct, mri = demo_slices(60, 63)
    paths = write_nifti(ct, folder / "ct.nii.gz"), write_nifti(mri, folder / "mri.nii.gz")
    return [load(p) for p in paths]


def _edited(ct, mri, fusion: SessionFusion, labels=None):
    fuser = Fuser(fusion.method, settings=fusion.settings, device="cpu")
    result = fuse_pair(ct, mri, fuser=fuser, reference=fusion.reference)
    if labels is None:
        edits = EditVolume(result.fused)
        edits.paint_voxel((1, 60, 60), 8.0, "ct", plane=None)
        labels = edits.labels
    return apply_to_result(result, labels), labels


def test_reopened_under_the_other_preference_gives_the_same_map(scans, tmp_path):
    ct, mri = scans
    saved_with = SessionFusion(
        method="cnn",
        settings=FusionSettings(rule="sesf", window=5),
        brush={"mode": "mri", "radius_mm": 4.0, "ball": True},
    )
    edited, labels = _edited(ct, mri, saved_with)
    session = Session(
        sources={"ct": SourceRecord.of_volume(ct), "mri": SourceRecord.of_volume(mri)},
        registration=saved_with.registration(mode="geometry"),
        fusion=saved_with.record(),
        edits=labels,
    )
    written = save_session(tmp_path / "r.brainfuse", session, grid=edited.fused)
    assert json.loads(written[0].read_text())["fusion"]["settings"]["window"] == 5

    opened = open_session(written[0])
    preference = FusionSettings(rule="anatomy")  # the other rule is now preferred
    restored = SessionFusion.from_session(opened.session, preferred=preference)
    assert restored == saved_with and restored.note() is None
    sources = opened.load_sources()
    again, _ = _edited(sources["ct"], sources["mri"], restored, opened.load_edits(edited.fused))
    np.testing.assert_array_equal(again.decision_map.array, edited.decision_map.array)
    np.testing.assert_array_equal(again.fused.array, edited.fused.array)
    # and the preference alone would not have given it: the restoration is what matters
    other, _ = _edited(sources["ct"], sources["mri"], SessionFusion(settings=preference), labels)
    assert not np.array_equal(other.decision_map.array, edited.decision_map.array)

    ws = Workspace()
    restored.apply_brush(ws)
    assert (ws.brush_mode, ws.brush_radius_mm, ws.brush_ball) == ("mri", 4.0, True)
    assert SessionFusion.of_workspace(ws, method="cnn", settings=restored.settings) == restored


def test_an_old_session_still_opens_with_the_preference_and_says_so(scans, tmp_path):
    ct, mri = scans
    session = Session(
        sources={"ct": SourceRecord.of_volume(ct), "mri": SourceRecord.of_volume(mri)},
        registration={"mode": "geometry", "reference": "mri"},
        fusion={"method": "cnn", "device": "auto"},  # what sessions used to record
    )
    written = save_session(tmp_path / "old.brainfuse", session)
    restored = SessionFusion.from_session(
        open_session(written[0]).session, preferred=FusionSettings(rule="sesf")
    )
    assert not restored.recorded and restored.settings.rule == "sesf"
    assert "saved without its fusion rule" in str(restored.note())
    assert restored.brush == {"mode": "ct", "radius_mm": 10.0, "ball": False}


def test_settings_records_round_trip_and_refuse_nonsense():
    settings = FusionSettings(rule="sesf", refine="none", encoder_size=0)
    assert settings_from_record(settings.as_record()) == settings
    assert settings_from_record({"rule": "anatomy", "from_a_newer_version": 1}).rule == "anatomy"
    with pytest.raises(UnreadableInputError, match="fusion settings are not valid"):
        settings_from_record({"rule": "bogus"})
