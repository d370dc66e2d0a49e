"""An alignment the geometry check doubts stays on screen as a warning with the offset in mm."""

from __future__ import annotations

import pytest

from tests.cli.identity_series import CT_PATIENT, head_part, write_series

pytestmark = pytest.mark.shared


def test_geometry_37_mm_off_warns_and_stays(shared_data, tmp_path):
    from brainfuse.gui import Viewer

    head = head_part(shared_data)
    ct_dir = write_series(tmp_path / "ct", head, modality="CT", patient=CT_PATIENT)
    mr_dir = write_series(
        tmp_path / "mr", head, modality="MR", patient=CT_PATIENT, shift_mm=(37.0, 0.0, 0.0)
    )
    viewer = Viewer(show=False)
    try:
        viewer.open_pair(ct_dir, mr_dir)
        viewer.wait(180)
        (warning,) = [n for n in viewer.notices() if "do not agree" in n]
        offset = float(warning.split(" mm (L ")[0].rsplit(" ", 1)[1])
        assert offset == pytest.approx(37.0, abs=4.0), warning
        viewer.slice_index = viewer.slice_index + 1  # no toast: it is still there
        assert warning in viewer.notices()
        assert "different frames of reference" in viewer.window.sources_label.text()
        # the same pair in place: no warning
        in_place = write_series(tmp_path / "mr0", head, modality="MR", patient=CT_PATIENT)
        viewer.open_pair(ct_dir, in_place)
        viewer.wait(180)
        assert not [n for n in viewer.notices() if "do not agree" in n]
    finally:
        viewer.close()
