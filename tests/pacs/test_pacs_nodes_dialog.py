"""File › PACS nodes…: add, edit, test and remove a node through the dialog (pytest-qt), against
the secure Orthanc (DICOM TLS with a client certificate; HTTPS with a Basic login), and the
cache group's folder, use and Clear."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from brainfuse.gui.pacs_nodes import PacsNodesDialog
from brainfuse.pacs import cache_dir, get_node, load_nodes
from brainfuse.pacs.secrets import SECRET_ENV, SERVICE

WAIT_MS = 30_000


def _test(qtbot, dialog) -> tuple[bool, str]:
    with qtbot.waitSignal(dialog.tested, timeout=WAIT_MS) as result:
        dialog.test_button.click()
    return tuple(result.args)


def test_add_edit_test_remove_a_tls_node(qtbot, secure_pacs, pacs_config):
    dialog = PacsNodesDialog()
    qtbot.addWidget(dialog)
    pki = secure_pacs.pki
    dialog.new_node()
    dialog.name.setText("hospital")
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("dimse"))
    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(secure_pacs.dicom_port)
    dialog.called_aet.setText("ORTHANCTEST")
    dialog.tls.setChecked(True)
    dialog.ca_file.setText(str(pki.ca))
    dialog.timeout.setValue(5.0)
    ok, message = _test(qtbot, dialog)  # unsaved: no client certificate yet
    assert not ok and "client certificate" in message
    dialog.cert_file.setText(str(pki.client_cert))
    dialog.key_file.setText(str(pki.client_key))
    assert dialog.save_node()
    assert [n.name for n in load_nodes()] == ["hospital"]
    assert dialog.list.currentItem().text() == "hospital"
    ok, message = _test(qtbot, dialog)
    assert ok and "answered in" in message

    dialog.ca_file.setText(str(pki.other_ca))  # edit: the wrong CA
    assert dialog.save_node()
    assert get_node("hospital").ca_file == str(pki.other_ca)
    ok, message = _test(qtbot, dialog)
    assert not ok and "is not trusted" in message and "hospital" in message

    dialog.port.setValue(0)  # the same checks as the command line
    assert not dialog.save_node()
    assert "give --host and --port" in dialog.status.text()
    assert get_node("hospital").port == secure_pacs.dicom_port  # nothing saved

    assert dialog.remove_node()
    assert load_nodes() == [] and dialog.list.count() == 0


def test_https_login_goes_to_the_keyring_not_the_node_file(
    qtbot, secure_pacs, pacs_config, memory_keyring, monkeypatch
):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    dialog = PacsNodesDialog()
    qtbot.addWidget(dialog)
    dialog.new_node()
    dialog.name.setText("web")
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("dicomweb"))
    dialog.url.setText(secure_pacs.url("basic"))
    dialog.ca_file.setText(str(secure_pacs.pki.ca))
    dialog.auth.setCurrentIndex(dialog.auth.findData("basic"))
    dialog.username.setText("reader")
    dialog.secret.setText("wrong")
    assert dialog.save_node()
    ok, message = _test(qtbot, dialog)
    assert not ok and "refused the credentials for web" in message
    dialog.secret.setText(secure_pacs.password)
    assert dialog.save_node() and "system keyring" in dialog.status.text()
    assert memory_keyring.store[(SERVICE, "web")] == secure_pacs.password
    assert secure_pacs.password not in (pacs_config / "nodes.json").read_text()
    ok, _ = _test(qtbot, dialog)
    assert ok


def test_cache_group_shows_and_clears(qtbot, tmp_path):
    folder = cache_dir() / "1.2.3"
    folder.mkdir(parents=True)
    (folder / "x.dcm").write_bytes(b"\0" * 2_000_000)
    dialog = PacsNodesDialog()
    qtbot.addWidget(dialog)
    assert dialog.cache_folder.text() == str(cache_dir())
    assert dialog.cache_used.text().startswith("2.0 MB in 1 studies")
    assert dialog.cache_limit.value() == 2000
    dialog.clear_cache()
    assert list(cache_dir().iterdir()) == []
    assert dialog.cache_used.text().startswith("0.0 MB in 0 studies")


def test_the_window_asks_once_per_session_for_a_missing_login(qtbot, no_keyring, monkeypatch):
    from PySide6 import QtWidgets

    from brainfuse.gui.pacs_nodes import ensure_secret
    from brainfuse.pacs import Node
    from brainfuse.pacs.secrets import find_secret, forget_secret

    monkeypatch.delenv(SECRET_ENV, raising=False)
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return ("typed-once", True)

    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", answer)
    node = Node("ask", url="https://pacs.example/dicom-web", auth="basic", username="reader")
    try:
        assert ensure_secret(None, node) and ensure_secret(None, node)
        assert len(asked) == 1 and "password of reader" in asked[0]
        assert find_secret("ask") == "typed-once"
        forget_secret("ask")
        monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("", False))
        assert not ensure_secret(None, node)  # cancelled: the caller does not connect
    finally:
        forget_secret("ask")
