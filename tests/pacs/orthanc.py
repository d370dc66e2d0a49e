"""Start and stop a throw-away Orthanc for the PACS tests (and scripts/pacs_timing.py).

The configuration is written into a temporary folder: storage there, DICOM and HTTP ports
picked free on loopback, HTTP refused from other hosts, the called AE title checked, our AE
title registered as a modality (for C-MOVE, at the port our storage SCP will use) and the
DICOMweb plugin on. Orthanc 1.10 has no DICOM bind address, so its DICOM port listens on all
interfaces; CI therefore runs the tests in a network namespace that has only loopback
(``.ci/run``).

CI starts the server before the tests and stops it after them::

    python -m tests.pacs.orthanc start FOLDER   # writes FOLDER/server.json, waits until it answers
    BRAINFUSE_TEST_ORTHANC=FOLDER/server.json python -m pytest ...
    python -m tests.pacs.orthanc stop FOLDER

Without ``BRAINFUSE_TEST_ORTHANC`` the tests start a server of their own.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ORTHANC_AET = "ORTHANCTEST"
OUR_AET = "BRAINFUSE"
_PLUGIN_NAME = "libOrthancDicomWeb.so"


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def orthanc_binary() -> str | None:
    """Path of the Orthanc server, or None."""
    found = shutil.which("Orthanc")
    if found:
        return found
    return "/usr/sbin/Orthanc" if os.access("/usr/sbin/Orthanc", os.X_OK) else None


def dicomweb_plugin() -> str | None:
    """Path of the DICOMweb plugin installed by the Debian package, or None."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        listing = subprocess.run(
            ["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True, timeout=20
        ).stdout.split()
        for path in listing:
            if path.endswith(_PLUGIN_NAME) and os.path.exists(path):
                return path
    for folder in ("/usr/share/orthanc/plugins", "/usr/lib/orthanc"):
        candidate = Path(folder) / _PLUGIN_NAME
        if candidate.exists():
            return str(candidate)
    return None


@dataclass
class Orthanc:
    """A running Orthanc: its ports, AE titles and process."""

    folder: Path
    dicom_port: int
    http_port: int
    move_port: int
    process: subprocess.Popen | None = None
    #: Configuration entries that replace the plain defaults (TLS, users: tests/pacs/secure.py).
    overrides: dict = field(default_factory=dict)
    #: (user, password) for the REST checks when the server asks for a login.
    login: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/dicom-web"

    def config(self, plugin: str) -> dict:
        storage = str(self.folder / "storage")
        return {
            "Name": "BrainFuseTests",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": True,
            "DicomCheckModalityHost": True,
            # Unknown callers may search and move, so that a C-MOVE to an AE title the PACS
            # does not know reaches the destination check (the failure test needs that).
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowMove": True,
            "DicomModalities": {"brainfuse": [OUR_AET, "127.0.0.1", self.move_port]},
            "DicomScuTimeout": 10,
            "Plugins": [plugin],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "StableAge": 1,
            **self.overrides,
        }

    def start(self, plugin: str, binary: str, timeout: float = 60.0) -> Orthanc:
        """Write the config, start Orthanc and wait until DICOM and HTTP answer."""
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.config(plugin), indent=2))
        log = open(self.folder / "orthanc.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [binary, str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start: {self.log_tail()}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout:g} s: {self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=1):
                pass
            with urllib.request.urlopen(self._request("/system"), timeout=1) as rsp:
                return rsp.status == 200
        except OSError:
            return False

    def _request(self, path: str) -> urllib.request.Request:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}")
        if self.login:
            token = base64.b64encode(":".join(self.login).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        return request

    def log_tail(self, n: int = 2000) -> str:
        path = self.folder / "orthanc.log"
        return path.read_bytes()[-n:].decode("utf-8", "replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop Orthanc (terminate, then kill after 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def rest(self, path: str):
        """GET a JSON resource of Orthanc's REST API (for checks)."""
        with urllib.request.urlopen(self._request(path), timeout=10) as r:
            return json.loads(r.read())


def start_orthanc(
    folder: Path, overrides: dict | None = None, login: tuple[str, str] | None = None
) -> Orthanc:
    """Start an Orthanc in ``folder``; RuntimeError with the reason when it cannot."""
    binary, plugin = orthanc_binary(), dicomweb_plugin()
    if binary is None:
        raise FileNotFoundError("Orthanc is not installed (apt-get install orthanc)")
    if plugin is None:
        raise FileNotFoundError(
            "the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    server = Orthanc(folder, free_port(), free_port(), free_port(), None, overrides or {}, login)
    return server.start(plugin, binary)


_SERVER_FILE = "server.json"


def attach(server_file: str | Path) -> Orthanc:
    """The Orthanc that ``python -m tests.pacs.orthanc start`` left running (not ours to stop)."""
    info = json.loads(Path(server_file).read_text())
    server = Orthanc(
        Path(info["folder"]),
        int(info["dicom_port"]),
        int(info["http_port"]),
        int(info["move_port"]),
    )
    if not server._answers():
        raise RuntimeError(f"the Orthanc described by {server_file} does not answer")
    return server


def _start_detached(folder: Path) -> None:
    server = start_orthanc(folder)
    assert server.process is not None
    info = {
        "folder": str(folder),
        "dicom_port": server.dicom_port,
        "http_port": server.http_port,
        "move_port": server.move_port,
        "pid": server.process.pid,
    }
    (folder / _SERVER_FILE).write_text(json.dumps(info))
    print(f"Orthanc {server.url} (DICOM port {server.dicom_port}) pid {server.process.pid}")


def _stop_detached(folder: Path) -> None:
    path = folder / _SERVER_FILE
    if not path.exists():
        return
    stop_pid(int(json.loads(path.read_text())["pid"]))
    path.unlink()


def stop_pid(pid: int) -> None:
    """Terminate a server we started by its process id (kill it after 15 s)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(150):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":  # CI: python -m tests.pacs.orthanc start|stop FOLDER
    command, where = sys.argv[1], Path(sys.argv[2]).resolve()
    if command == "start":
        where.mkdir(parents=True, exist_ok=True)
        _start_detached(where)
    elif command == "stop":
        _stop_detached(where)
    else:
        sys.exit(f"usage: python -m tests.pacs.orthanc start|stop FOLDER (not {command!r})")
