"""Acceptance: a PACS reached over DICOM TLS and over HTTPS with a login (Orthanc behind nginx,
certificates made by the test): echo, find, get and send work, the secret stays out of the node
file, and every way of getting it wrong is one clear line within the timeout."""

from __future__ import annotations

import io
import json
import secrets
import time

import pydicom
import pytest

from brainfuse.cli import build_parser, main
from brainfuse.errors import BrainFuseError
from brainfuse.pacs import Node, Query, add_node, connect, get, load_nodes
from brainfuse.pacs.secrets import SECRET_ENV, SERVICE
from tests.dicom_factory import synthetic_mr
from tests.pacs.conftest import dimse_node, https_node, tls_node


def _error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line[:1] != "["]
    assert len(err) == 1 and err[0].startswith("brainfuse: error: "), err
    return err[0]


def _round_trip(client, tmp_path, patient_id: str) -> None:
    """Send a 6-slice MR, find it by patient ID, get it back: the same instances."""
    patient_id = f"{patient_id}-{secrets.token_hex(4)}"  # a server CI reuses holds earlier runs
    paths = synthetic_mr(tmp_path / "mr", n_slices=6, patient_id=patient_id)
    assert all(r.ok for r in client.send(paths))
    sent = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID for p in paths}
    assert client.echo() > 0
    studies = client.find(Query(patient_id=patient_id))
    assert len(studies) == 1 and studies[0].series[0].n_instances == 6
    got = get(client, studies[0].study_uid, tmp_path / "back")
    received = {pydicom.dcmread(p).SOPInstanceUID for p in (tmp_path / "back").rglob("*.dcm")}
    assert got.n_files == 6 and received == sent


def test_dimse_over_mutual_tls(secure_pacs, tmp_path):
    _round_trip(connect(tls_node(secure_pacs)), tmp_path, "TLS-DIMSE-1")


def test_dicomweb_over_https_with_basic_login_from_the_keyring(
    secure_pacs, memory_keyring, pacs_config, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(secure_pacs.password + "\n"))
    assert main(["pacs", "add", "web", "--url", secure_pacs.url("basic"), "--ca-file",
                 str(secure_pacs.pki.ca), "--auth", "basic", "--username", "reader",
                 "--secret-stdin"]) == 0  # fmt: skip
    assert memory_keyring.store == {(SERVICE, "web"): secure_pacs.password}
    text = (pacs_config / "nodes.json").read_text()
    assert secure_pacs.password not in text and json.loads(text)["nodes"][0]["auth"] == "basic"
    _round_trip(connect(load_nodes()[0]), tmp_path, "TLS-WEB-1")
    assert main(["pacs", "remove", "web"]) == 0
    assert memory_keyring.store == {}  # forgetting the node forgets its password


def test_bearer_token_from_the_environment_without_a_keyring(
    secure_pacs, no_keyring, pacs_config, monkeypatch, capsys
):
    monkeypatch.setenv(SECRET_ENV, secure_pacs.token)
    assert main(["pacs", "add", "tok", "--url", secure_pacs.url("bearer"), "--ca-file",
                 str(secure_pacs.pki.ca), "--auth", "bearer"]) == 0  # fmt: skip
    assert "set BRAINFUSE_PACS_SECRET" in capsys.readouterr().out
    assert secure_pacs.token not in (pacs_config / "nodes.json").read_text()
    assert main(["pacs", "echo", "--node", "tok"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))  # storing needs a keyring: clear line
    assert main(["pacs", "secret", "tok", "--stdin"]) == 2
    line = _error_line(capsys)
    assert "no keyring is available" in line and SECRET_ENV in line


def _failures(secure, plain) -> dict:
    """Each wrong setting: (node, secret in the environment, words the line must hold)."""
    pki = secure.pki
    return {
        "wrong password": (https_node(secure), "not-the-password", "refused the credentials"),
        "wrong token": (https_node(secure, which="bearer"), "nope", "refused the credentials"),
        "untrusted CA web": (
            https_node(secure, ca_file=str(pki.other_ca)),
            secure.password,
            "is not trusted",
        ),
        "untrusted CA dimse": (tls_node(secure, ca_file=str(pki.other_ca)), "", "is not trusted"),
        "system store": (tls_node(secure, ca_file=""), "", "is not trusted"),
        "expired": (https_node(secure, which="expired"), secure.password, "has expired"),
        "plain to TLS dimse": (
            dimse_node(secure, name="secure", timeout=5.0),
            "",
            "expects DICOM TLS",
        ),
        "plain to HTTPS": (
            https_node(secure, url=secure.url().replace("https", "http"), ca_file=""),
            secure.password,
            "speaks HTTPS on this port",
        ),
        "TLS to plain dimse": (tls_node(plain, pki=pki), "", "does not speak TLS"),
        "HTTPS to plain": (
            Node("plain-https", url=plain.url.replace("http", "https"), timeout=5.0),
            "",
            "does not speak TLS",
        ),
        "no client certificate": (
            tls_node(secure, cert_file="", key_file=""),
            "",
            "client certificate",
        ),
    }


CASES = [
    "wrong password", "wrong token", "untrusted CA web", "untrusted CA dimse", "system store",
    "expired", "plain to TLS dimse", "plain to HTTPS", "TLS to plain dimse", "HTTPS to plain",
    "no client certificate",
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_each_wrong_setting_is_one_clear_line_within_the_timeout(
    case, secure_pacs, orthanc, no_keyring, monkeypatch, capsys
):
    node, secret, words = _failures(secure_pacs, orthanc)[case]
    monkeypatch.setenv(SECRET_ENV, secret) if secret else monkeypatch.delenv(
        SECRET_ENV, raising=False
    )
    add_node(node)
    build_parser()  # the command's own imports are not the PACS's time
    start = time.monotonic()
    assert main(["pacs", "echo", "--node", node.name]) == 2
    assert time.monotonic() - start < node.timeout + 3.0
    line = _error_line(capsys)
    assert words in line, line
    assert node.name in line


@pytest.mark.parametrize(
    "args, words",
    [
        (["--url", "https://x/dw", "--cert", "c.pem"], "both --cert and --key"),
        (["--url", "http://x/dw", "--ca-file", "ca.pem"], "needs an https:// URL"),
        (["--host", "h", "--port", "1", "--called-aet", "A", "--ca-file", "ca.pem"], "needs --tls"),
        (["--url", "https://x/dw", "--ca-file", "missing.pem"], "does not exist"),
        (["--url", "https://x/dw", "--auth", "basic"], "--auth basic needs --username"),
        (["--host", "h", "--port", "1", "--called-aet", "A", "--auth", "bearer"], "for DICOMweb"),
        (
            [
                "--host",
                "h",
                "--port",
                "1",
                "--called-aet",
                "A",
                "--tls",
                "--retrieve",
                "move",
                "--move-port",
                "2",
            ],
            "C-MOVE over TLS",
        ),
    ],
)
def test_inconsistent_security_settings_are_refused(
    args, words, pacs_config, tmp_path, monkeypatch, capsys
):
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "c.pem").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert main(["pacs", "add", "n", *args]) == 2
    assert words in _error_line(capsys)
    assert not (pacs_config / "nodes.json").exists()


def test_a_keyring_that_fails_falls_back_to_the_environment(monkeypatch, capsys):
    import keyring
    import keyring.backend

    from brainfuse.pacs.secrets import find_secret, keyring_works, store_secret

    class Locked(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):
            raise keyring.errors.KeyringLocked("locked")

        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError("locked")

        def delete_password(self, service, username):
            raise keyring.errors.PasswordDeleteError("locked")

    before = keyring.get_keyring()
    keyring.set_keyring(Locked())
    try:
        assert not keyring_works()
        monkeypatch.setenv(SECRET_ENV, "from-env")
        assert find_secret("any") == "from-env"
        monkeypatch.delenv(SECRET_ENV)
        assert find_secret("any") is None
        with pytest.raises(BrainFuseError, match=SECRET_ENV):
            store_secret("any", "x")
    finally:
        keyring.set_keyring(before)
