"""Work from the PACS: query, retrieve, send back, over DIMSE or DICOMweb (no Qt).

``connect(node)`` gives a :class:`~brainfuse.pacs.model.PacsClient` for a configured
:class:`~brainfuse.pacs.nodes.Node` (:mod:`~brainfuse.pacs.dimse` on pynetdicom, or
:mod:`~brainfuse.pacs.web` on dicomweb-client); :func:`~brainfuse.pacs.transfer.get` and
:func:`~brainfuse.pacs.transfer.send` move whole series, all or nothing on the way in.
"""

from __future__ import annotations

from brainfuse.pacs.cache import cache_dir, cached_series
from brainfuse.pacs.model import PacsClient, Query, SendResult, SeriesInfo, StudyInfo
from brainfuse.pacs.nodes import (
    DEFAULT_AET,
    DEFAULT_TIMEOUT_S,
    Node,
    add_node,
    config_dir,
    get_node,
    load_nodes,
    remove_node,
)
from brainfuse.pacs.transfer import Retrieved, get, send

__all__ = [
    "DEFAULT_AET",
    "DEFAULT_TIMEOUT_S",
    "Node",
    "PacsClient",
    "Query",
    "Retrieved",
    "SendResult",
    "SeriesInfo",
    "StudyInfo",
    "add_node",
    "cache_dir",
    "cached_series",
    "config_dir",
    "connect",
    "get",
    "get_node",
    "load_nodes",
    "remove_node",
    "send",
]


def connect(node: Node) -> PacsClient:
    """Return the client for ``node``: DICOMweb when it has a URL, else DIMSE."""
    if node.url:
        from brainfuse.pacs.web import DicomWebClient

        return DicomWebClient(node)
    from brainfuse.pacs.dimse import DimseClient

    return DimseClient(node)
