"""Why a DIMSE association was not established, said so that the user knows what to change.

The PACS may reject us (wrong called AE title, unknown calling AE title), accept none of the
services, abort, close the connection at once (often: it speaks DICOM TLS and we did not, or
it wants a client certificate), or stay silent until the timeout.
"""

from __future__ import annotations

from brainfuse.errors import PacsError
from brainfuse.pacs.nodes import Node

__all__ = ["association_error"]


def association_error(
    n: Node, where: str, assoc, answers: list, opened: bool, elapsed: float
) -> PacsError:
    """Return the error for an association that was not established, in the user's words.

    Parameters
    ----------
    n : Node
        The node asked.
    where : str
        ``"NAME (host:port)"`` for the message.
    assoc : pynetdicom.association.Association
        The failed association.
    answers : list
        A-ASSOCIATE / A-ABORT primitives received (captured by an event handler).
    opened : bool
        Whether the TCP connection opened.
    elapsed : float
        Seconds the attempt took (near the timeout: the PACS stayed silent).
    """
    rsp = next((a for a in answers if getattr(a, "result", None) in (1, 2)), None)
    if assoc.is_rejected or rsp is not None:
        reason = rsp.reason_str if rsp is not None else "no reason given"
        hint = ""
        if "Called AE" in reason:
            hint = f": the PACS is not '{n.called_aet}'; set the node's --called-aet"
        elif "Calling AE" in reason:
            hint = f": our AE title '{n.aet}' is not registered on the PACS"
        return PacsError(f"PACS node {where} rejected the association ({reason}){hint}")
    accepted = any(getattr(a, "result", None) == 0 for a in answers)
    if accepted:  # an A-ASSOCIATE-AC with no usable presentation context
        return PacsError(
            f"PACS node {where} accepts none of the services asked for "
            f"(AE title '{n.aet}'): it does not offer them or does not allow us"
        )
    if opened and elapsed < 0.9 * n.timeout and not n.tls:
        from brainfuse.pacs.tls import speaks_tls

        if speaks_tls(n.host, n.port, n.timeout):
            return PacsError(
                f"PACS node {where} expects DICOM TLS on this port: add --tls "
                "(and --ca-file with the hospital's CA), or use its plain DICOM port"
            )
    if opened and elapsed < 0.9 * n.timeout and n.tls:
        hint = "" if n.cert_file else "it may require a client certificate (--cert/--key), "
        return PacsError(
            f"PACS node {where} ended the TLS connection without accepting the "
            f"association request ({hint}or it does not accept our AE title '{n.aet}')"
        )
    if assoc.is_aborted and answers:
        return PacsError(
            f"PACS node {where} aborted the association request from AE title '{n.aet}'"
        )
    if not opened:
        return PacsError(
            f"PACS node {where} is not reachable: the connection failed "
            "(is the PACS running? check host and port)"
        )
    if elapsed < 0.9 * n.timeout:
        return PacsError(
            f"PACS node {where} closed the connection without answering the "
            f"association request (check the called AE title '{n.called_aet}' and that "
            f"the PACS accepts our AE title '{n.aet}')"
        )
    return PacsError(
        f"PACS node {where} did not answer the association request within {n.timeout:g} s"
    )
