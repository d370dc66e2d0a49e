"""TLS for PACS nodes: the client context, and what a failed handshake means in words.

One :func:`client_context` serves DICOM TLS (pynetdicom's ``tls_args``) and HTTPS
(``requests`` takes the CA file and client certificate from the same node fields):
certificates are always verified, against the node's CA file or the system store, and the
host name is checked. :func:`tls_failure` turns OpenSSL's reasons into the sentence a user
needs: untrusted, expired, issued for another host, or no TLS spoken at all.
"""

from __future__ import annotations

import socket
import ssl

from brainfuse.errors import PacsError
from brainfuse.pacs.nodes import Node

__all__ = ["client_context", "handshake", "speaks_tls", "tls_failure"]

# OpenSSL X509_V_ERR codes (x509_vfy.h) a user can act on.
_EXPIRED = {10}  # certificate has expired
_NOT_YET_VALID = {9}
_UNTRUSTED = {18, 19, 20, 21, 2}  # self-signed, self-signed in chain, unknown issuer
_HOST_MISMATCH = {62}
# Reasons OpenSSL gives when the other side does not speak TLS at all.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure",
            "PACKET_LENGTH_TOO_LONG", "UNEXPECTED_EOF", "unexpected eof", "EOF occurred",
            "http request")  # fmt: skip


def client_context(node: Node) -> ssl.SSLContext:
    """Return a verifying client context for ``node`` (its CA file or the system store).

    Raises
    ------
    PacsError
        The CA file, certificate or key cannot be read (named, with OpenSSL's reason).
    """
    try:
        context = ssl.create_default_context(cafile=node.ca_file or None)
    except (ssl.SSLError, OSError) as exc:
        raise PacsError(
            f"node {node.name}: cannot read the CA file {node.ca_file} ({_reason(exc)})"
        ) from exc
    if node.cert_file:
        try:
            context.load_cert_chain(node.cert_file, node.key_file)
        except (ssl.SSLError, OSError) as exc:
            raise PacsError(
                f"node {node.name}: cannot use the client certificate {node.cert_file} with "
                f"the key {node.key_file} ({_reason(exc)})"
            ) from exc
    return context


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc)


def tls_failure(exc: BaseException, node: Node, where: str) -> str | None:
    """Return the sentence for a TLS failure found in ``exc`` (or its causes), or None if none."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.append(item)
        todo += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        todo += [x for x in (item.__cause__, item.__context__, getattr(item, "reason", None))
                 if isinstance(x, BaseException)]  # fmt: skip
    for item in seen:
        if isinstance(item, ssl.SSLCertVerificationError):
            return _certificate_sentence(item.verify_code, item.verify_message, node, where)
    text = " ".join(str(item) for item in seen)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return _certificate_sentence(-1, text, node, where)
    if any(marker in text for marker in _NOT_TLS) and any(
        isinstance(item, ssl.SSLError) or "SSL" in type(item).__name__ for item in seen
    ):
        fix = (
            "use an http:// URL or the server's HTTPS port"
            if node.url
            else "remove --tls or use the PACS's DICOM TLS port"
        )
        return f"PACS node {where} does not speak TLS on this port (a plain port? {fix})"
    return None


def _certificate_sentence(code: int, message: str, node: Node, where: str) -> str:
    ca = f"the CA file {node.ca_file}" if node.ca_file else "the system's trusted CAs"
    if code in _EXPIRED or "expired" in message:
        return f"the certificate of PACS node {where} has expired (the PACS must renew it)"
    if code in _NOT_YET_VALID or "not yet valid" in message:
        return f"the certificate of PACS node {where} is not valid yet (check both clocks)"
    if code in _HOST_MISMATCH or "mismatch" in message.lower():
        return (
            f"the certificate of PACS node {where} was not issued for that host name "
            "(use the name written in the certificate)"
        )
    return (
        f"the certificate of PACS node {where} is not trusted: it is not signed by {ca} "
        "(give the hospital's CA with --ca-file)"
    )


def handshake(node: Node) -> None:
    """Open a TCP connection and complete a TLS handshake with ``node``, then close.

    Raises
    ------
    PacsError
        The certificate is untrusted, expired or for another host, the port does not speak
        TLS, or there was no handshake within the node's timeout.
    """
    where = f"{node.name} ({node.host}:{node.port})"
    context = client_context(node)
    try:
        with (
            socket.create_connection((node.host, node.port), timeout=node.timeout) as raw,
            context.wrap_socket(raw, server_hostname=node.host),
        ):
            pass
    except TimeoutError as exc:
        raise PacsError(
            f"PACS node {where} did not complete a TLS handshake within {node.timeout:g} s "
            "(a plain DICOM port? remove --tls or use the PACS's DICOM TLS port)"
        ) from exc
    except (ConnectionResetError, ConnectionAbortedError) as exc:
        raise PacsError(
            f"PACS node {where} closed the connection at the TLS handshake: it does not speak "
            "TLS on this port (a plain DICOM port? remove --tls or use its DICOM TLS port)"
        ) from exc
    except ssl.SSLError as exc:
        raise PacsError(
            tls_failure(exc, node, where)
            or f"PACS node {where}: the TLS handshake failed ({_reason(exc)})"
        ) from exc


def speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers a TLS ClientHello with TLS (a handshake or an alert)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=min(timeout, 3.0)) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except ssl.SSLError as exc:  # an alert is TLS speaking (e.g. "certificate required")
        return "ALERT" in str(exc).upper()
    except OSError:
        return False
