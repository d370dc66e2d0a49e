"""The window never fuses two patients without a confirmation naming both, and says when it cannot tell."""

from __future__ import annotations

import pytest

from brainfuse.errors import DifferentPatientsError
from tests.gui.conftest import settle
from tests.gui.dialogs import DialogAnswers
from tests.gui.patients import CT_PATIENT, OTHER, of_patient


def test_two_patients_are_refused_with_one_dialog_naming_both(qtbot, window, small_pair):
    ct, mri = small_pair
    answers = DialogAnswers("Do not fuse")
    window.set_pair(of_patient(ct, CT_PATIENT), of_patient(mri, OTHER))
    qtbot.waitUntil(lambda: bool(answers.seen), timeout=10000)
    settle()
    answers.stop()
    assert len(answers.seen) == 1
    shown = answers.seen[0]
    assert "INV-0051 (ANONYMOUS^CRANIUM)" in shown and "INV-0077 (OTHER^PERSON)" in shown
    assert "Not fused" in shown
    ws = window.workspace
    assert ws.fusion is None and not ws.has_grid
    assert "INV-0077" in ws.problem
    assert any("different patients" in n for n in window.notices.notices())
    assert window.notices.isVisible()


def test_the_confirmation_names_both_and_the_override_reaches_the_result(qtbot, window, small_pair):
    ct, mri = small_pair
    answers = DialogAnswers("Fuse anyway", "Fuse INV-0051")
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(of_patient(ct, CT_PATIENT), of_patient(mri, OTHER))
    answers.stop()
    assert "INV-0051" in answers.seen[1] and "INV-0077" in answers.seen[1]
    result = window.controller.pair_result()
    assert result.identity is not None and result.identity.allowed
    assert result.identity.provenance()["different_patients_allowed"] is True
    assert any("DIFFERENT PATIENTS fused on request" in n for n in window.notices.notices())
    # a window change recomposes the same pair: the override holds for it (else refused)
    window.errors.clear()
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.workspace.set_ct_window("bone")
        window.flush_pending()
    settle()
    assert window.workspace.fusion is not None and window.workspace.fusion.done.all()
    # a new pair is checked again: the confirmation was for the pair it named
    answers = DialogAnswers("Do not fuse")
    window.set_pair(of_patient(ct, CT_PATIENT), of_patient(mri, {"PatientID": "INV-0099"}))
    qtbot.waitUntil(lambda: bool(answers.seen), timeout=10000)
    settle()
    answers.stop()
    assert window.workspace.fusion is None and "INV-0099" in answers.seen[0]


def test_a_source_without_patient_data_is_said_and_stays_said(qtbot, window, small_pair):
    ct, mri = small_pair
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(of_patient(ct, CT_PATIENT), mri)
    window.workspace.set_slice(window.workspace.slice_index + 1)  # the notice is no toast
    assert window.notices.notices() == ["MRI has no patient data: identity not checked"]
    assert window.notices.isVisible()


@pytest.fixture
def viewer(qtbot):
    from brainfuse.gui import Viewer

    v = Viewer(show=False)
    yield v
    v.close()


def test_viewer_refuses_two_patients_until_allowed(viewer, small_pair):
    ct, mri = small_pair
    viewer.open_pair(of_patient(ct, CT_PATIENT), of_patient(mri, OTHER))
    with pytest.raises(DifferentPatientsError, match="INV-0077"):
        viewer.wait(120)
    assert viewer.workspace.fusion is None
    viewer.allow_different_patients()
    viewer.wait(120)
    assert viewer.fused_slice().shape == mri.shape[1:]
    assert viewer.window.controller.pair_result().identity.allowed
    assert any("DIFFERENT PATIENTS" in n for n in viewer.notices())
