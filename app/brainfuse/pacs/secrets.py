"""Passwords and tokens of PACS nodes: in the operating system's keyring, never in nodes.json.

A node with ``auth`` basic or bearer needs a secret. It is looked up, in order:

1. the secret given for this session (the window asks once and keeps it in memory only);
2. the operating system's keyring (the ``keyring`` library: Secret Service, macOS Keychain,
   Windows Credential Locker), under the service ``brainfuse-pacs`` and the node's name;
3. the environment variable ``BRAINFUSE_PACS_SECRET``, for a headless server or CI where no
   keyring works.

A keyring that does not work (no backend, a locked or absent Secret Service) is treated as
empty when reading; storing into it raises a :class:`~brainfuse.errors.PacsError` that names
the environment variable as the way out.
"""

from __future__ import annotations

import logging
import os
import threading

from brainfuse.errors import PacsError

__all__ = [
    "SECRET_ENV",
    "SERVICE",
    "find_secret",
    "forget_secret",
    "keyring_works",
    "remember_for_session",
    "require_secret",
    "store_secret",
]

log = logging.getLogger(__name__)

#: Environment variable read when no keyring holds the node's secret.
SECRET_ENV = "BRAINFUSE_PACS_SECRET"
#: Keyring service name; the node's name is the keyring's user name.
SERVICE = "brainfuse-pacs"

_session: dict[str, str] = {}
_lock = threading.Lock()


def _keyring():
    """Return the keyring module with a usable backend, or None (no library, or the fail backend)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    if isinstance(keyring.get_keyring(), fail.Keyring):
        return None
    try:  # a backend can be chosen and still not work (no D-Bus session, a locked store)
        keyring.get_password(SERVICE, "brainfuse-probe")
    except Exception as exc:
        log.debug("the keyring does not work (%s)", type(exc).__name__)
        return None
    return keyring


def keyring_works() -> bool:
    """Whether an operating-system keyring is available to store secrets in."""
    return _keyring() is not None


def store_secret(node_name: str, secret: str) -> None:
    """Keep ``secret`` for ``node_name`` in the keyring.

    Raises
    ------
    PacsError
        No keyring works here (the message names ``BRAINFUSE_PACS_SECRET``).
    """
    if not secret:
        raise PacsError(f"node {node_name}: the password or token is empty")
    ring = _keyring()
    failure = "no keyring is available"
    if ring is not None:
        try:
            ring.set_password(SERVICE, node_name, secret)
            return
        except Exception as exc:  # every backend has its own errors (D-Bus, locked, denied)
            failure = f"the keyring refused it ({type(exc).__name__})"
    raise PacsError(
        f"cannot keep the password or token of node {node_name}: {failure}; "
        f"set the environment variable {SECRET_ENV} instead"
    )


def forget_secret(node_name: str) -> None:
    """Remove the node's secret from the keyring and this session (no error if none)."""
    with _lock:
        _session.pop(node_name, None)
    ring = _keyring()
    if ring is None:
        return
    try:
        ring.delete_password(SERVICE, node_name)
    except Exception as exc:  # PasswordDeleteError when there is none; backend errors
        log.debug("no keyring entry removed for %s (%s)", node_name, type(exc).__name__)


def remember_for_session(node_name: str, secret: str) -> None:
    """Keep ``secret`` in memory for the rest of this process (the window's "ask once")."""
    with _lock:
        _session[node_name] = secret


def find_secret(node_name: str) -> str | None:
    """Return the node's password or token (session, keyring, environment), or None."""
    with _lock:
        if node_name in _session:
            return _session[node_name]
    ring = _keyring()
    if ring is not None:
        try:
            found = ring.get_password(SERVICE, node_name)
        except Exception as exc:  # a keyring that fails to read is a keyring without it
            log.debug("keyring read failed for %s (%s)", node_name, type(exc).__name__)
            found = None
        if found:
            return found
    return os.environ.get(SECRET_ENV) or None


def require_secret(node_name: str, what: str) -> str:
    """Like :func:`find_secret` but raise a :class:`PacsError` saying how to give it."""
    found = find_secret(node_name)
    if found is None:
        raise PacsError(
            f"no {what} for PACS node {node_name}: store it with 'brainfuse pacs secret "
            f"{node_name}' (the system keyring), or set {SECRET_ENV}"
        )
    return found
