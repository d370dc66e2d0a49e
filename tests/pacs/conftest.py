"""PACS test fixtures: a throw-away Orthanc (session), nodes pointing at it, a temp config.

Where Orthanc or its DICOMweb plugin is missing the tests that need it skip with the reason;
with ``BRAINFUSE_REQUIRE_ORTHANC=1`` (set by .ci/run) they fail instead, so CI cannot
silently skip them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brainfuse.pacs import Node, add_node
from tests.pacs.orthanc import ORTHANC_AET, OUR_AET, Orthanc, attach, start_orthanc


def _unavailable(reason: str):
    if os.environ.get("BRAINFUSE_REQUIRE_ORTHANC") == "1":
        pytest.fail(f"{reason}; BRAINFUSE_REQUIRE_ORTHANC=1 forbids skipping the PACS tests")
    pytest.skip(reason)


def launch(folder: Path) -> Orthanc:
    """Start an Orthanc in ``folder`` or skip/fail the test with the reason."""
    try:
        return start_orthanc(folder)
    except (FileNotFoundError, RuntimeError) as exc:
        _unavailable(f"cannot run Orthanc: {exc}")
        raise  # unreachable: skip/fail raise


@pytest.fixture(autouse=True)
def pacs_config(tmp_path, tmp_path_factory, monkeypatch) -> Path:
    """Every PACS test keeps its nodes, cache and audit log in temporary folders (the cache
    and the log outside ``tmp_path``, which some tests check holds nothing else)."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BRAINFUSE_CONFIG_DIR", str(folder))
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("BRAINFUSE_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("BRAINFUSE_CACHE_DIR", str(home / "cache"))
    return folder


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    """One Orthanc for the session: the one CI started (``BRAINFUSE_TEST_ORTHANC``, a
    ``server.json``), or one of our own in a temporary folder, stopped at the end."""
    started_by_ci = os.environ.get("BRAINFUSE_TEST_ORTHANC")
    if started_by_ci:
        yield attach(started_by_ci)
        return
    server = launch(tmp_path_factory.mktemp("orthanc"))
    yield server
    server.stop()


@pytest.fixture
def own_orthanc(tmp_path):
    """An Orthanc of the test's own, for tests that stop or kill it."""
    server = launch(tmp_path / "own-orthanc")
    yield server
    server.stop()


def dimse_node(server: Orthanc, name: str = "orthanc", **changes) -> Node:
    fields = dict(
        name=name,
        host="127.0.0.1",
        port=server.dicom_port,
        called_aet=ORTHANC_AET,
        aet=OUR_AET,
        timeout=10.0,
    )
    fields.update(changes)
    return Node(**fields)


def move_node(server: Orthanc, **changes) -> Node:
    fields = {"retrieve": "move", "move_port": server.move_port, **changes}
    return dimse_node(server, "orthanc-move", **fields)


def web_node(server: Orthanc, **changes) -> Node:
    return Node(name="orthanc-web", url=server.url, timeout=changes.pop("timeout", 10.0))


@pytest.fixture
def configured(orthanc) -> dict[str, Node]:
    """The three ways to the session's Orthanc, saved as nodes (DIMSE C-GET is the default)."""
    nodes = {"get": dimse_node(orthanc), "move": move_node(orthanc), "web": web_node(orthanc)}
    for node in nodes.values():
        add_node(node)
    return nodes


@pytest.fixture(scope="session")
def secure_pacs(tmp_path_factory):
    """Orthanc with DICOM TLS and logins behind nginx's HTTPS (:mod:`tests.pacs.secure`): the
    one CI started (``BRAINFUSE_TEST_SECURE_PACS``) or one of our own."""
    from tests.pacs.secure import attach_secure, start_secure, stop_secure

    started_by_ci = os.environ.get("BRAINFUSE_TEST_SECURE_PACS")
    if started_by_ci:
        yield attach_secure(started_by_ci)
        return
    try:
        pacs, server, proxy = start_secure(tmp_path_factory.mktemp("secure"))
    except (FileNotFoundError, RuntimeError) as exc:
        _unavailable(f"cannot run the secure PACS: {exc}")
        raise
    yield pacs
    stop_secure(server, proxy)


class MemoryKeyring:
    """A keyring backend in a dict (the tests' stand-in for the system keyring)."""

    def __init__(self) -> None:
        import keyring.backend

        class _Backend(keyring.backend.KeyringBackend):
            priority = 1  # type: ignore[assignment]
            store: dict[tuple[str, str], str]

            def get_password(self, service, username):
                return self.store.get((service, username))

            def set_password(self, service, username, password):
                self.store[(service, username)] = password

            def delete_password(self, service, username):
                from keyring.errors import PasswordDeleteError

                if self.store.pop((service, username), None) is None:
                    raise PasswordDeleteError(username)

        self.backend = _Backend()
        self.backend.store = {}
        self.store = self.backend.store


@pytest.fixture
def memory_keyring():
    """Install a :class:`MemoryKeyring` for the test; the previous keyring comes back after."""
    import keyring

    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring.backend)
    yield ring
    keyring.set_keyring(before)


@pytest.fixture
def no_keyring():
    """No keyring works (a headless server): the fail backend for the test."""
    import keyring
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


def tls_node(pacs, name: str = "secure", pki=None, **changes) -> Node:
    """``pacs`` over DICOM TLS with our client certificate (mutual TLS; ``pki`` default: its own)."""
    pki = pki or pacs.pki
    tls = dict(tls=True, ca_file=str(pki.ca), cert_file=str(pki.client_cert))
    tls.update(key_file=str(pki.client_key), timeout=5.0)
    return dimse_node(pacs, name, **{**tls, **changes})


def https_node(pacs, name: str = "secure-web", which: str = "basic", **changes) -> Node:
    """The secure PACS's DICOMweb over HTTPS through nginx, with its login."""
    auth = {"basic": "basic", "bearer": "bearer"}.get(which, "basic")
    fields = dict(
        name=name,
        url=pacs.url(which),
        timeout=5.0,
        ca_file=str(pacs.pki.ca),
        auth=auth,
        username="reader" if auth == "basic" else "",
    )
    fields.update(changes)
    return Node(**fields)
