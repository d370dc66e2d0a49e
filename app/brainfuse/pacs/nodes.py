"""PACS nodes the user has configured, kept in ``nodes.json`` in the user's config folder.

A node is either a DIMSE peer (host, port, the PACS's AE title, ours) or a DICOMweb service
(a base URL). The file lives in the platform's config folder (``platformdirs``, e.g.
``~/.config/brainfuse`` on Linux) or in ``$BRAINFUSE_CONFIG_DIR`` when that is set (the tests
point it at a temporary folder). Nodes keep their order; the first is the default.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from brainfuse._runtime.userdirs import config_dir
from brainfuse.errors import PacsError

__all__ = [
    "DEFAULT_AET",
    "DEFAULT_TIMEOUT_S",
    "Node",
    "add_node",
    "config_dir",
    "get_node",
    "load_nodes",
    "remove_node",
    "save_nodes",
]

DEFAULT_AET = "BRAINFUSE"
DEFAULT_TIMEOUT_S = 10.0
_FILE = "nodes.json"
_AET = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # DICOM AE: 16 chars, no backslash


@dataclass(frozen=True)
class Node:
    """One PACS.

    Attributes
    ----------
    name : str
        The user's name for it (``--node NAME``).
    host, port : str, int
        DIMSE address of the PACS.
    called_aet : str
        The PACS's own AE title.
    aet : str
        Our AE title (the calling AE; also the C-MOVE destination the PACS must know).
    url : str
        DICOMweb base URL (QIDO/WADO/STOW root), for a DICOMweb node instead of DIMSE.
    retrieve : {"get", "move"}
        DIMSE retrieval: C-GET on the same association, or C-MOVE to our own short-lived
        storage SCP on ``move_port`` (the PACS must have our AE title, host and that port).
    move_port : int
        Port our storage SCP listens on during a C-MOVE.
    timeout : float
        Seconds to wait for a connection or an answer before giving up.
    tls : bool
        DIMSE over DICOM TLS (a DICOMweb node uses TLS when its URL is ``https://``).
    ca_file : str
        PEM file of the CA(s) that signed the PACS's certificate; empty: the system's store.
    cert_file, key_file : str
        PEM client certificate and its private key, for a PACS that wants mutual TLS.
    auth : {"none", "basic", "bearer"}
        DICOMweb login: HTTP Basic (``username`` and a password) or an OAuth2 bearer token.
        The password or token is never kept here (:mod:`brainfuse.pacs.secrets`).
    username : str
        The login name for ``auth="basic"``.
    """

    name: str
    host: str = ""
    port: int = 0
    called_aet: str = ""
    aet: str = DEFAULT_AET
    url: str = ""
    retrieve: str = "get"
    move_port: int = 0
    timeout: float = DEFAULT_TIMEOUT_S
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    auth: str = "none"
    username: str = ""

    @property
    def secure(self) -> bool:
        """Whether the node is reached over TLS (DICOM TLS, or an ``https://`` URL)."""
        return self.url.lower().startswith("https://") if self.url else self.tls

    @property
    def protocol(self) -> str:
        """``"dicomweb"`` for a node with a URL, else ``"dimse"``."""
        return "dicomweb" if self.url else "dimse"

    def describe(self) -> str:
        """One line: address and titles (no secrets are stored, so all of it may be shown)."""
        security = ""
        if self.tls:  # an https:// URL says so itself
            security += ", TLS"
        if self.ca_file:
            security += f", CA {self.ca_file}"
        if self.cert_file:
            security += ", client certificate"
        if self.auth == "basic":
            security += f", basic auth as {self.username}"
        elif self.auth == "bearer":
            security += ", bearer token"
        if self.url:
            return f"{self.name}: DICOMweb {self.url}{security} (timeout {self.timeout:g} s)"
        move = f", C-MOVE to port {self.move_port}" if self.retrieve == "move" else ", C-GET"
        return (
            f"{self.name}: DIMSE {self.host}:{self.port} called AE {self.called_aet}, "
            f"our AE {self.aet}{move}{security} (timeout {self.timeout:g} s)"
        )

    def _validate_security(self) -> None:
        """Check the TLS and login fields (files named must exist, pairs must be complete)."""
        if bool(self.cert_file) != bool(self.key_file):
            raise PacsError(f"node {self.name}: give both --cert and --key (or neither)")
        if self.url and not self.secure and (self.ca_file or self.cert_file):
            raise PacsError(
                f"node {self.name}: a CA file or client certificate needs an https:// URL"
            )
        if self.url and self.tls and not self.secure:
            raise PacsError(f"node {self.name}: for DICOMweb over TLS use an https:// URL")
        if not self.url and not self.tls and (self.ca_file or self.cert_file):
            raise PacsError(f"node {self.name}: a CA file or client certificate needs --tls")
        for label, value in (("CA file", self.ca_file), ("certificate", self.cert_file),
                             ("key", self.key_file)):  # fmt: skip
            if value and not Path(value).is_file():
                raise PacsError(f"node {self.name}: the {label} {value} does not exist")
        if self.auth not in ("none", "basic", "bearer"):
            raise PacsError(f"node {self.name}: --auth must be none, basic or bearer")
        if self.auth != "none" and not self.url:
            raise PacsError(
                f"node {self.name}: --auth is for DICOMweb nodes (--url); a DIMSE node is "
                "identified by its AE title and, with --tls, its client certificate"
            )
        if self.auth == "basic" and not self.username:
            raise PacsError(f"node {self.name}: --auth basic needs --username")
        if self.auth != "basic" and self.username:
            raise PacsError(f"node {self.name}: --username goes with --auth basic")

    def validated(self) -> Node:
        """Return ``self`` after checking the fields; raise :class:`PacsError` otherwise."""
        if not self.name or not re.fullmatch(r"[\w.-]+", self.name):
            raise PacsError(f"invalid node name {self.name!r}: use letters, digits, '.', '-', '_'")
        if self.timeout <= 0:
            raise PacsError(f"node {self.name}: the timeout must be positive (got {self.timeout})")
        if self.url and not re.match(r"^https?://", self.url, re.IGNORECASE):
            raise PacsError(f"node {self.name}: the DICOMweb URL must start with http(s)://")
        self._validate_security()
        if self.url:
            return self
        if not self.host or not 0 < self.port < 65536:
            raise PacsError(f"node {self.name}: give --host and --port (1-65535), or --url")
        for label, value in (("called AE title", self.called_aet), ("our AE title", self.aet)):
            if not _AET.match(value) or not value.strip():
                raise PacsError(
                    f"node {self.name}: invalid {label} {value!r} (1-16 characters, no '\\')"
                )
        if self.retrieve not in ("get", "move"):
            raise PacsError(f"node {self.name}: retrieve must be 'get' or 'move'")
        if self.retrieve == "move" and self.tls:
            raise PacsError(
                f"node {self.name}: C-MOVE over TLS would need our own TLS storage SCP; "
                "retrieve with C-GET (--retrieve get), which stays on the TLS association"
            )
        if self.retrieve == "move" and not 0 < self.move_port < 65536:
            raise PacsError(
                f"node {self.name}: C-MOVE needs --move-port, the port our storage SCP "
                "listens on (the PACS must know our AE title with this host and port)"
            )
        return self


def _path() -> Path:
    return config_dir() / _FILE


def load_nodes() -> list[Node]:
    """Read the configured nodes, in the order they were added (empty when none)."""
    path = _path()
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(Node)}
        return [Node(**{k: v for k, v in item.items() if k in known}) for item in raw["nodes"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PacsError(f"cannot read the PACS node list {path}: {exc}") from exc


def save_nodes(nodes: list[Node]) -> Path:
    """Write ``nodes`` (all of them) atomically; returns the file written."""
    from brainfuse.export.atomic import write_bytes_atomic

    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"nodes": [asdict(n) for n in nodes]}, indent=2).encode("utf-8")
    return write_bytes_atomic(path, data + b"\n", overwrite=True)


def add_node(node: Node, *, replace: bool = False) -> Path:
    """Add (or with ``replace`` update) a node; returns the config file written."""
    node = node.validated()
    nodes = load_nodes()
    names = [n.name for n in nodes]
    if node.name in names:
        if not replace:
            raise PacsError(f"a node named {node.name} exists already (use --replace)")
        nodes[names.index(node.name)] = node
    else:
        nodes.append(node)
    return save_nodes(nodes)


def remove_node(name: str) -> Path:
    """Forget the node ``name`` (and its password or token in the keyring)."""
    from brainfuse.pacs.secrets import forget_secret

    nodes = load_nodes()
    kept = [n for n in nodes if n.name != name]
    if len(kept) == len(nodes):
        raise PacsError(f"no PACS node named {name}")
    path = save_nodes(kept)
    forget_secret(name)
    return path


def get_node(name: str | None = None) -> Node:
    """Return the node called ``name``, or the first one when ``name`` is None."""
    nodes = load_nodes()
    if not nodes:
        raise PacsError(
            "no PACS node configured: add one with 'brainfuse pacs add NAME --host H --port P "
            "--called-aet AET' or 'brainfuse pacs add NAME --url URL'"
        )
    if name is None:
        return nodes[0]
    for node in nodes:
        if node.name == name:
            return node
    raise PacsError(f"no PACS node named {name} (known: {', '.join(n.name for n in nodes)})")
