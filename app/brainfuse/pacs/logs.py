"""Keep the network libraries' own logging out of the user's way (and patient data out of logs).

pynetdicom writes query identifiers (patient names and IDs) at INFO and repeats every failure
at ERROR; dicomweb-client repeats refused stores at ERROR. BrainFuse reports each failure once,
as a :class:`~brainfuse.errors.PacsError` naming the node and the fix, so these loggers are
held at CRITICAL unless logging is at DEBUG (``brainfuse --debug``), where everything is shown.
"""

from __future__ import annotations

import logging

__all__ = ["quiet_library_logs"]

_LIBRARIES = ("pynetdicom", "dicomweb_client")


def quiet_library_logs() -> None:
    """Hold the libraries' loggers at CRITICAL unless the root logger is at DEBUG."""
    debugging = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    for name in _LIBRARIES:
        logger = logging.getLogger(name)
        if debugging:
            if logger.level == logging.CRITICAL:
                logger.setLevel(logging.NOTSET)
        elif logger.level in (logging.NOTSET, logging.INFO, logging.WARNING, logging.ERROR):
            logger.setLevel(logging.CRITICAL)
