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

    @property
    def protocol(self) -> str:
        """``"dicomweb"`` for a node with a URL, else ``"dimse"``."""
        return "dicomweb" if self.url else "dimse"

    def describe(self) -> str:
        """One line: address and titles (no secrets are stored, so all of it may be shown)."""
        if self.url:
            return f"{self.name}: DICOMweb {self.url} (timeout {self.timeout:g} s)"
        move = f", C-MOVE to port {self.move_port}" if self.retrieve == "move" else ", C-GET"
        return (
            f"{self.name}: DIMSE {self.host}:{self.port} called AE {self.called_aet}, "
            f"our AE {self.aet}{move} (timeout {self.timeout:g} s)"
        )

    def validated(self) -> Node:
        """Return ``self`` after checking the fields; raise :class:`PacsError` otherwise."""
        if not self.name or not re.fullmatch(r"[\w.-]+", self.name):
            raise PacsError(f"invalid node name {self.name!r}: use letters, digits, '.', '-', '_'")
        if self.timeout <= 0:
            raise PacsError(f"node {self.name}: the timeout must be positive (got {self.timeout})")
        if self.url:
            if not re.match(r"^https?://", self.url):
                raise PacsError(f"node {self.name}: the DICOMweb URL must start with http(s)://")
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
    """Forget the node ``name``."""
    nodes = load_nodes()
    kept = [n for n in nodes if n.name != name]
    if len(kept) == len(nodes):
        raise PacsError(f"no PACS node named {name}")
    return save_nodes(kept)


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
