"""Work from the PACS: query, retrieve, send back, over DIMSE or DICOMweb (no Qt).

``connect(node)`` gives a :class:`~brainfuse.pacs.model.PacsClient` for a configured
:class:`~brainfuse.pacs.nodes.Node` (:mod:`~brainfuse.pacs.dimse` on pynetdicom, or
:mod:`~brainfuse.pacs.web` on dicomweb-client); :func:`~brainfuse.pacs.transfer.get` and
:func:`~brainfuse.pacs.transfer.send` move whole series, all or nothing on the way in.
"""

from __future__ import annotations

from typing import cast

from brainfuse.pacs.cache import (
    CacheUsage,
    cache_dir,
    cache_limit,
    cache_usage,
    cached_series,
    clear_cache,
    set_cache_limit,
)
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
    "CacheUsage",
    "Node",
    "PacsClient",
    "Query",
    "Retrieved",
    "SendResult",
    "SeriesInfo",
    "StudyInfo",
    "add_node",
    "cache_dir",
    "cache_limit",
    "cache_usage",
    "cached_series",
    "clear_cache",
    "config_dir",
    "connect",
    "get",
    "get_node",
    "load_nodes",
    "remove_node",
    "send",
    "set_cache_limit",
]


def connect(node: Node) -> PacsClient:
    """Return the client for ``node``: DICOMweb when it has a URL, else DIMSE.

    The client is wrapped in :class:`~brainfuse.pacs.audit.AuditedClient`, so every query,
    retrieve and send is written to the local audit log.
    """
    from brainfuse.pacs.audit import AuditedClient

    client: PacsClient
    if node.url:
        from brainfuse.pacs.web import DicomWebClient

        client = DicomWebClient(node)
    else:
        from brainfuse.pacs.dimse import DimseClient

        client = DimseClient(node)
    return cast(PacsClient, AuditedClient(client, node.name))  # the rest is delegated
