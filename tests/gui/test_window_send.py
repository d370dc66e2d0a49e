"""File › Send to PACS sends the fusion on screen, says what arrives, never sends a patientless result unasked."""

from __future__ import annotations

from PySide6 import QtWidgets

from brainfuse.gui.export_dialog import ExportDialog, ExportOptions
from brainfuse.gui.send_dialog import SendResultDialog
from tests.gui.conftest import settle
from tests.gui.dialogs import DialogAnswers
from tests.gui.patients import CT_PATIENT, of_patient
from tests.gui.test_window_pacs import _file_action
from tests.pipeline.test_send import FakeNode


def _open_send(window, qtbot) -> SendResultDialog:
    _file_action(window, "Send to PACS…").trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(SendResultDialog)), timeout=5000)
    return window.findChildren(SendResultDialog)[-1]


def test_send_sends_the_pair_on_screen_after_saying_what_arrives(
    qtbot, window, small_pair, monkeypatch, tmp_path
):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))
    ct, mri = small_pair
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(of_patient(ct, CT_PATIENT), of_patient(mri, CT_PATIENT))
    # an earlier export does not become what Send offers
    window.export(ExportOptions(tmp_path / "old", "dicom", overlay=False, anonymize=False))
    qtbot.waitUntil(lambda: window.last_dicom_export is not None, timeout=30000)
    # a new pair (the other half of the head): Send must send this one
    half = ct.with_array(ct.array[:3].copy()), mri.with_array(mri.array[:3].copy())
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(of_patient(half[0], CT_PATIENT), of_patient(half[1], CT_PATIENT))
    dialog = _open_send(window, qtbot)
    assert not dialog.findChildren(QtWidgets.QLineEdit)  # no folder to send, pre-filled or not
    text = dialog.summary.text()
    assert "INV-0051" in text and "3 image(s)" in text and "'" in text  # series description
    assert not dialog.anonymize.isChecked()
    node = FakeNode()
    monkeypatch.setattr(SendResultDialog, "client", lambda self: node)
    dialog.send()
    qtbot.waitUntil(lambda: dialog.sent_info is not None, timeout=60000)
    images = [d for d in node.received if d.Modality != "SEG"]
    assert len(images) == 3 and {d.PatientID for d in node.received} == {"INV-0051"}
    assert dialog.sent_info["instances"] == len(node.received) == 4  # 3 images + the SEG
    dialog.close()


def test_a_result_without_patient_is_sent_only_after_saying_so(
    qtbot, fused_window, monkeypatch, tmp_path
):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))
    dialog = _open_send(fused_window, qtbot)  # the demo crop: no patient at all
    assert "cannot attach it to any patient" in dialog.summary.text()
    node = FakeNode()
    monkeypatch.setattr(SendResultDialog, "client", lambda self: node)
    answers = DialogAnswers("Cancel")
    dialog.send()
    answers.stop()
    settle()
    assert "without a patient" in answers.seen[0] and node.received == []
    answers = DialogAnswers("Send without patient")
    dialog.send()
    qtbot.waitUntil(lambda: dialog.sent_info is not None, timeout=60000)
    answers.stop()
    assert len(node.received) == fused_window.workspace.n_slices + 1
    dialog.close()


def test_the_export_dialog_does_not_anonymise_by_default(qtbot, tmp_path):
    dialog = ExportDialog(str(tmp_path))
    qtbot.addWidget(dialog)
    assert not dialog.anonymize.isChecked()
