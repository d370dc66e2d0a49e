"""Sessions: round trip on the real demo pair, changed sources refused, recent list."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK

from brainfuse.errors import UnreadableInputError
from brainfuse.export.nifti import write_nifti
from brainfuse.model.image import ImageVolume
from brainfuse.reading.edit_apply import apply_to_result
from brainfuse.reading.edits import EditVolume
from brainfuse.reading.measure import Region, Ruler, table
from brainfuse.reading.session import (
    MAX_RECENT,
    Session,
    SessionSourceError,
    SourceRecord,
    add_recent_session,
    config_dir,
    open_session,
    recent_sessions,
    save_session,
    source_sha256,
)
from tests.demo_slices import demo_slices


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """Four slices of the real demo CT and MRI, written as the NIfTI files a user opens."""
    folder = tmp_path_factory.mktemp("scans")
    ct, mri = demo_slices(60, 64)
    ct_path = write_nifti(ct, folder / "head_ct.nii.gz")
    mri_path = write_nifti(mri, folder / "head_mri.nii.gz")
    return ct_path, mri_path


def _fuse(sources: dict[str, ImageVolume], session: Session):
    from brainfuse.pipeline import fuse_pair

    w = session.windows["ct"]
    return fuse_pair(
        sources["ct"],
        sources["mri"],
        method=session.fusion["method"],
        device=session.fusion["device"],
        ct_window=(w["center"], w["width"]),
        register=session.registration["mode"],
        reference=session.registration["reference"],
    )


def _transform() -> SimpleITK.Euler3DTransform:
    t = SimpleITK.Euler3DTransform()
    t.SetCenter((1.0, -2.0, 3.0))
    t.SetRotation(np.deg2rad(4.0), np.deg2rad(-2.0), np.deg2rad(6.0))
    t.SetTranslation((8.0, -1.5, 0.25))
    return t


def test_a_saved_session_reopened_gives_the_same_fused_arrays_and_measurements(
    demo_files, tmp_path
):
    from brainfuse.io import load

    ct_path, mri_path = demo_files
    ct, mri = load(ct_path), load(mri_path)
    session = Session(
        sources={"ct": SourceRecord.of_volume(ct), "mri": SourceRecord.of_volume(mri)},
        registration={"mode": "geometry", "reference": "mri"},
        windows={"ct": {"center": 40.0, "width": 80.0, "preset": "brain"}, "mri": None},
        fusion={"method": "cnn", "device": "cpu"},
        view={"plane": "coronal", "slice": 70, "cursor_mm": [1.5, -20.0, 12.0]},
        overlay={"visible": True, "opacity": 0.4, "colormap": "viridis", "soft": False},
        measurements=[
            Ruler("axial", 2, (40.0, 30.0), (80.5, 90.0)),
            Region("axial", 1, "ellipse", (50.0, 40.0), (90.0, 80.0)),
        ],
        transform=_transform(),
    )
    result = _fuse({"ct": ct, "mri": mri}, session)
    edits = EditVolume(result.fused)
    edits.paint_voxel((2, 70, 60), 10.0, "ct", plane=None)
    edits.paint_voxel((1, 40, 40), 6.0, "mri")
    session.edits = edits.labels
    edited = apply_to_result(result, edits)
    expected_table = table(session.measurements, {"ct": edited.ct, "mri": edited.mri})

    written = save_session(tmp_path / "reading.brainfuse", session, grid=result.fused)
    assert [p.name for p in written] == ["reading.brainfuse", "reading.tfm", "reading.edits.nii.gz"]
    saved = json.loads(written[0].read_text())
    assert saved["version"] == 1 and saved["sources"]["ct"]["sha256"] == source_sha256(ct_path)
    np.testing.assert_allclose(saved["registration"]["rigid"]["rotation_deg"], [4, -2, 6])
    np.testing.assert_allclose(saved["registration"]["rigid"]["translation_mm"], [8, -1.5, 0.25])

    opened = open_session(written[0])  # a fresh start: only the file on disk
    assert opened.ok and opened.warning() == ""
    s = opened.session
    assert (s.windows, s.fusion, s.view, s.overlay) == (
        session.windows,
        session.fusion,
        session.view,
        session.overlay,
    )
    assert s.measurements == session.measurements
    sources = opened.load_sources()
    again = _fuse(sources, s)
    labels = opened.load_edits(again.fused)
    np.testing.assert_array_equal(labels, edits.labels)
    reopened = apply_to_result(again, labels)
    np.testing.assert_array_equal(reopened.fused.array, edited.fused.array)
    np.testing.assert_array_equal(reopened.decision_map.array, edited.decision_map.array)
    assert table(s.measurements, {"ct": reopened.ct, "mri": reopened.mri}) == expected_table
    t = opened.load_transform()
    np.testing.assert_allclose(t.GetParameters(), _transform().GetParameters(), atol=1e-12)
    np.testing.assert_allclose(t.GetCenter(), _transform().GetCenter())


def test_a_changed_source_is_named_and_nothing_is_applied(demo_files, tmp_path):
    from brainfuse.io import load

    ct_path, mri_path = demo_files
    folder = tmp_path / "scans"
    folder.mkdir()
    ct_copy, mri_copy = folder / ct_path.name, folder / mri_path.name
    ct_copy.write_bytes(ct_path.read_bytes())
    mri_copy.write_bytes(mri_path.read_bytes())
    mri = load(mri_copy)
    grid = mri
    session = Session(
        sources={"ct": SourceRecord.of(ct_copy), "mri": SourceRecord.of(mri_copy)},
        transform=_transform(),
        edits=np.ones(grid.shape, np.uint8),
    )
    path = save_session(tmp_path / "s.brainfuse", session, grid=grid)[0]
    assert open_session(path).ok

    changed = mri.with_array(mri.array.copy())
    changed.array[2, 50, 50] += 1  # one voxel of the MRI differs
    write_nifti(changed, mri_copy, overwrite=True)
    opened = open_session(path)
    assert not opened.ok
    assert len(opened.problems) == 1 and str(mri_copy) in opened.problems[0]
    assert "changed" in opened.problems[0] and "\n" not in opened.warning()
    for load_part in (opened.load_sources, opened.load_transform, lambda: opened.load_edits(grid)):
        with pytest.raises(SessionSourceError, match="was not applied"):
            load_part()

    ct_copy.unlink()
    problems = open_session(path).problems
    assert len(problems) == 2 and "no longer exists" in problems[0]


def test_folder_sources_hash_their_files_and_a_series_only_its_own(tmp_path):
    folder = tmp_path / "dicom"
    (folder / "sub").mkdir(parents=True)
    a, b, other = folder / "a.dcm", folder / "sub" / "b.dcm", folder / "other.dcm"
    for f, data in ((a, b"a"), (b, b"b"), (other, b"x")):
        f.write_bytes(data)
    whole = source_sha256(folder)
    series = source_sha256(folder, [str(a), str(b)])
    other.write_bytes(b"y")
    assert source_sha256(folder) != whole
    assert source_sha256(folder, [str(a), str(b)]) == series
    b.rename(folder / "c.dcm")
    assert source_sha256(folder, [str(a), str(folder / "c.dcm")]) != series


def test_bad_session_files_give_one_clear_line(tmp_path):
    with pytest.raises(UnreadableInputError, match="does not exist"):
        open_session(tmp_path / "none.brainfuse")
    bad = tmp_path / "bad.brainfuse"
    bad.write_text("{not json")
    with pytest.raises(UnreadableInputError, match="not a readable BrainFuse session"):
        open_session(bad)
    bad.write_text(json.dumps({"format": "brainfuse-session", "version": 99, "sources": {}}))
    with pytest.raises(UnreadableInputError, match="version 99"):
        open_session(bad)
    bad.write_text(
        json.dumps(
            {"format": "brainfuse-session", "version": 1, "sources": {}, "edits_file": "e.nii.gz"}
        )
    )
    with pytest.raises(UnreadableInputError, match=r"needs 'e\.nii\.gz' beside it"):
        open_session(bad)


def test_recent_sessions_newest_first_bounded_and_in_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))
    assert config_dir() == tmp_path / "config" and recent_sessions() == []
    paths = []
    for n in range(MAX_RECENT + 2):
        p = tmp_path / f"s{n}.brainfuse"
        p.write_text("{}")
        paths.append(p)
        add_recent_session(p)
    add_recent_session(paths[5])
    recent = recent_sessions()
    assert len(recent) == MAX_RECENT and recent[0] == paths[5].resolve()
    assert recent[1] == paths[-1].resolve()
    paths[-1].unlink()
    assert paths[-1].resolve() not in recent_sessions()
    (tmp_path / "config" / "recent_sessions.json").write_text("[broken")
    assert recent_sessions() == []


def test_config_folder_fallback_without_platformdirs(monkeypatch, tmp_path):
    import sys

    monkeypatch.delenv("BRAINFUSE_CONFIG_DIR", raising=False)
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # import fails
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "brainfuse"
