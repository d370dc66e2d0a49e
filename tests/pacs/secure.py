"""A PACS as hospitals deploy it, for the TLS and login tests: Orthanc behind nginx.

* Orthanc speaks **DICOM TLS** on its DICOM port (``DicomTlsEnabled``, mutual TLS: our client
  certificate must be signed by the test CA) and asks for **HTTP Basic** logins
  (``RegisteredUsers``) on its HTTP port, which listens on loopback only.
* **nginx** terminates HTTPS in front of that HTTP port, on three loopback ports:
  ``basic`` (passes the Basic login through), ``bearer`` (accepts one OAuth2-style bearer
  token and logs in to Orthanc itself) and ``expired`` (an expired server certificate).
  Debian's Orthanc 1.10.1 serving HTTPS itself (``SslEnabled``) crashes on the first
  request, so nginx is the terminator, as in most hospital deployments.

Certificates come from :mod:`tests.pacs.certs`. CI starts one before the tests::

    python -m tests.pacs.secure start FOLDER   # writes FOLDER/secure.json
    BRAINFUSE_TEST_SECURE_PACS=FOLDER/secure.json python -m pytest ...
    python -m tests.pacs.secure stop FOLDER
"""

from __future__ import annotations

import base64
import contextlib
import grp
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.pacs.certs import Pki, make_pki
from tests.pacs.orthanc import Orthanc, free_port, start_orthanc, stop_pid

USER = "reader"
_FILE = "secure.json"


@dataclass
class SecurePacs:
    """Ports, login and certificates of a running secure Orthanc + nginx."""

    folder: Path
    dicom_port: int
    http_port: int
    move_port: int
    https_basic: int
    https_bearer: int
    https_expired: int
    password: str
    token: str
    pki: Pki
    orthanc_pid: int = 0
    nginx_pid: int = 0

    def url(self, which: str = "basic") -> str:
        """DICOMweb root over HTTPS through nginx (``basic``, ``bearer`` or ``expired``)."""
        port = {"basic": self.https_basic, "bearer": self.https_bearer}.get(
            which, self.https_expired
        )
        return f"https://127.0.0.1:{port}/dicom-web"

    def orthanc(self) -> Orthanc:
        """The Orthanc behind nginx, for REST checks (plain HTTP on loopback, with login)."""
        return Orthanc(
            self.folder / "orthanc", self.dicom_port, self.http_port, self.move_port,
            login=(USER, self.password),
        )  # fmt: skip


def nginx_binary() -> str | None:
    """Path of nginx, or None."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )


def _nginx_config(pacs: SecurePacs) -> str:
    pki, folder = pacs.pki, pacs.folder
    basic = base64.b64encode(f"{USER}:{pacs.password}".encode()).decode()
    user = ""
    if os.geteuid() == 0:  # workers would drop to "nobody", who cannot read the temp folder
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};"
    upstream = f"http://127.0.0.1:{pacs.http_port}"
    temp = " ".join(
        f"{kind}_temp_path {folder / 'nginx' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )

    def server(port: int, cert: Path, key: Path, extra: str = "") -> str:
        return f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            {extra}
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_read_timeout 60s;
        }}
    }}"""

    bearer = (
        f'if ($http_authorization != "Bearer {pacs.token}") {{ return 401; }}\n'
        f'            proxy_set_header Authorization "Basic {basic}";'
    )
    servers = (
        server(pacs.https_basic, pki.server_cert, pki.server_key)
        + server(pacs.https_bearer, pki.server_cert, pki.server_key, bearer)
        + server(pacs.https_expired, pki.expired_cert, pki.expired_key)
    )
    return f"""{user}
daemon off;
worker_processes 1;
pid {folder / "nginx" / "nginx.pid"};
error_log {folder / "nginx" / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_max_body_size 0;
    {temp}
    {servers}
}}
"""


def _wait_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:g} s")


def start_secure(folder: Path) -> tuple[SecurePacs, Orthanc, subprocess.Popen]:
    """Make the certificates, start Orthanc (TLS + login) and nginx in front of it."""
    nginx = nginx_binary()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx-light)")
    folder.mkdir(parents=True, exist_ok=True)
    pki = make_pki(folder / "pki")
    password, token = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
    overrides = {
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: password},
        "DicomTlsEnabled": True,
        "DicomTlsCertificate": str(pki.server_cert),
        "DicomTlsPrivateKey": str(pki.server_key),
        "DicomTlsTrustedCertificates": str(pki.ca),
        "DicomTlsRemoteCertificateRequired": True,
    }
    orthanc = start_orthanc(folder / "orthanc", overrides, (USER, password))
    pacs = SecurePacs(
        folder, orthanc.dicom_port, orthanc.http_port, orthanc.move_port,
        free_port(), free_port(), free_port(), password, token, pki,
    )  # fmt: skip
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "nginx" / kind).mkdir(parents=True, exist_ok=True)
    config = folder / "nginx" / "nginx.conf"
    config.write_text(_nginx_config(pacs))
    log = open(folder / "nginx" / "stderr.log", "wb")  # noqa: SIM115 - nginx keeps it
    proxy = subprocess.Popen(
        [nginx, "-c", str(config), "-p", str(folder / "nginx")], stdout=log, stderr=log
    )
    try:
        for port in (pacs.https_basic, pacs.https_bearer, pacs.https_expired):
            _wait_port(port, proxy, "nginx")
    except RuntimeError as exc:
        proxy.kill()
        orthanc.stop()
        tail = (folder / "nginx" / "stderr.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{exc}: {tail}") from exc
    assert orthanc.process is not None
    pacs.orthanc_pid, pacs.nginx_pid = orthanc.process.pid, proxy.pid
    return pacs, orthanc, proxy


def stop_secure(orthanc: Orthanc, proxy: subprocess.Popen) -> None:
    """Stop nginx and Orthanc started by :func:`start_secure`."""
    proxy.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proxy.wait(timeout=10)
    if proxy.poll() is None:
        proxy.kill()
    orthanc.stop()


def attach_secure(server_file: str | Path) -> SecurePacs:
    """The secure PACS that ``python -m tests.pacs.secure start`` left running."""
    info = json.loads(Path(server_file).read_text())
    info["folder"] = Path(info["folder"])
    info["pki"] = Pki(**{k: Path(v) for k, v in info["pki"].items()})
    pacs = SecurePacs(**info)
    if not pacs.orthanc()._answers():
        raise RuntimeError(f"the secure PACS described by {server_file} does not answer")
    return pacs


def _save(pacs: SecurePacs) -> None:
    info = asdict(pacs)
    info["folder"] = str(pacs.folder)
    info["pki"] = {k: str(v) for k, v in asdict(pacs.pki).items()}
    (pacs.folder / _FILE).write_text(json.dumps(info))


if __name__ == "__main__":  # CI: python -m tests.pacs.secure start|stop FOLDER
    command, where = sys.argv[1], Path(sys.argv[2]).resolve()
    if command == "start":
        started, _, _ = start_secure(where)
        _save(started)
        print(f"secure Orthanc: DICOM TLS port {started.dicom_port}, {started.url()}")
    elif command == "stop" and (where / _FILE).exists():
        saved = json.loads((where / _FILE).read_text())
        stop_pid(int(saved["nginx_pid"]))
        stop_pid(int(saved["orthanc_pid"]))
        (where / _FILE).unlink()
    elif command != "stop":
        sys.exit(f"usage: python -m tests.pacs.secure start|stop FOLDER (not {command!r})")
