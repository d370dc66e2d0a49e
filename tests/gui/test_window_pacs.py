"""File > Open from PACS… / Send to PACS… / PACS nodes… in the window (the dialogs' Orthanc
tests: tests/pacs/)."""

from __future__ import annotations

from brainfuse.export.seg import SEG_FILE_NAME
from brainfuse.gui.export_dialog import ExportOptions
from brainfuse.gui.file_actions import last_dicom_export
from brainfuse.gui.pacs_dialog import OpenFromPacsDialog, SendToPacsDialog
from brainfuse.gui.pacs_nodes import PacsNodesDialog
from brainfuse.gui.send_dialog import SendResultDialog
from tests.gui.dialogs import DialogAnswers


def _file_action(window, text: str):
    file_menu = window.menuBar().actions()[0].menu()
    found = [a for a in file_menu.actions() if a.text().replace("&", "") == text]
    assert found, [a.text() for a in file_menu.actions()]
    return found[0]


def test_file_menu_opens_the_pacs_dialogs(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))
    _file_action(window, "Open from PACS…").trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(OpenFromPacsDialog)), timeout=5000)
    opened = window.findChildren(OpenFromPacsDialog)[0]
    assert opened.isVisible() and opened.parent() is window
    opened.close()
    answers = DialogAnswers("OK")
    _file_action(window, "Send to PACS…").trigger()  # nothing fused: said, nothing sent
    answers.stop()
    assert "Nothing is fused yet" in answers.seen[0]
    monkeypatch.setenv("BRAINFUSE_CACHE_DIR", str(tmp_path / "cache"))
    _file_action(window, "PACS nodes…").trigger()
    qtbot.waitUntil(lambda: bool(window.findChildren(PacsNodesDialog)), timeout=5000)
    nodes = window.findChildren(PacsNodesDialog)[0]
    assert nodes.isVisible() and nodes.cache_folder.text() == str(tmp_path / "cache")
    nodes.close()


def test_send_to_pacs_offers_no_earlier_export(fused_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(tmp_path / "config"))
    folder = tmp_path / "dicom"
    fused_window.export(ExportOptions(folder, "dicom", overlay=False, anonymize=True))
    qtbot.waitUntil(lambda: fused_window.last_dicom_export is not None, timeout=30000)
    assert fused_window.last_dicom_export == str(folder)
    assert (folder / SEG_FILE_NAME).is_file()  # the window's DICOM export carries the SEG
    nii = tmp_path / "f.nii.gz"
    fused_window.export(ExportOptions(nii, "nifti", overlay=False, anonymize=False))
    qtbot.waitUntil(lambda: nii.is_file(), timeout=20000)
    assert fused_window.last_dicom_export == str(folder)  # a NIfTI export does not replace it
    _file_action(fused_window, "Send to PACS…").trigger()  # sends what is on screen, no folder
    qtbot.waitUntil(lambda: bool(fused_window.findChildren(SendResultDialog)), timeout=5000)
    assert not fused_window.findChildren(SendToPacsDialog)


def test_last_dicom_export_is_the_folder_of_the_dicom_files(tmp_path):
    assert last_dicom_export([tmp_path / "a.png"]) is None
    assert last_dicom_export([tmp_path / "s" / "IM0001.dcm"]) == str(tmp_path / "s")
