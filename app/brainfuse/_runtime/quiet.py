"""Library chatter (warnings, log records, ITK messages) kept off a normal run's terminal.

pydicom, NumPy, Pillow, nibabel, highdicom and SimpleITK warn and log freely about odd but
readable files (an invalid date, a non-standard value representation, a header field they
repaired). A normal ``brainfuse`` run prints at most its own warning lines and, on failure,
one error line; with ``--debug`` every library message is shown. Whatever BrainFuse itself
wants a user to know about an input travels in :attr:`ImageVolume.warnings`.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OWN_LOGGER", "itk_warnings_follow_logging", "library_output", "native_stderr_to_log"]

OWN_LOGGER = "brainfuse"
# Loggers that write to stderr through their own handler, bypassing the root logger.
_SELF_HANDLED = ("nibabel.global",)


class _OwnRecordsOnly(logging.Filter):
    """Pass BrainFuse's own records; drop every library's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")


def itk_warnings_follow_logging() -> None:
    """Let SimpleITK print its warnings (straight to stderr) only when DEBUG logging is on.

    Called when :mod:`brainfuse.grid` (the only user of SimpleITK) is imported, which for
    the CLI happens inside :func:`library_output`, after it has set the log level.
    """
    import SimpleITK

    SimpleITK.ProcessObject.SetGlobalWarningDisplay(logging.getLogger().isEnabledFor(logging.DEBUG))


@contextmanager
def library_output(debug: bool) -> Iterator[None]:
    """Within the block, show library warnings and log records only when ``debug``.

    Parameters
    ----------
    debug : bool
        ``True``: every record at DEBUG and above and every warning is shown (with its
        source). ``False``: only BrainFuse's own log records at WARNING and above reach
        stderr; Python warnings are recorded as log records and dropped with the rest.
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="brainfuse: %(levelname)s: %(message)s",
    )
    root = logging.getLogger()
    if debug:
        root.setLevel(logging.DEBUG)
        yield
        return
    global _capture_native
    own = _OwnRecordsOnly()
    saved = {name: logging.getLogger(name).handlers[:] for name in _SELF_HANDLED}
    for handler in root.handlers:
        handler.addFilter(own)
    for name in _SELF_HANDLED:
        logging.getLogger(name).handlers = []
    logging.captureWarnings(True)
    _capture_native = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        _capture_native = False
        logging.captureWarnings(False)
        for handler in root.handlers:
            handler.removeFilter(own)
        for name, handlers in saved.items():
            logging.getLogger(name).handlers = handlers


_capture_native = False  # True inside a quiet library_output block (the command's run)
log = logging.getLogger(OWN_LOGGER + ".native")


@contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Within the block, what native code writes to file descriptor 2 goes to the log.

    Decoders written in C or Rust (OpenJPEG, GDCM, the Rust RLE plugin's panic message)
    print to the process's stderr directly, past Python's ``sys.stderr``. fd 2 belongs to
    the whole process, so it is pointed at a temporary file only where nothing else can
    be writing to it meanwhile: in the main thread, inside a quiet :func:`library_output`
    block (the command, which decodes in its main thread). Afterwards the text is logged at
    DEBUG (``brainfuse.native``). Anywhere else - a worker thread of the window, ``--debug``,
    a script - the block changes nothing and native output reaches stderr as written, so a
    decoder in a worker never swallows what another thread writes. Where fd 2 cannot be
    redirected (no such descriptor), nothing changes either.
    """
    if not _capture_native or threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(64 * 1024).decode("utf-8", "replace").strip()
            if text:
                log.debug("native decoder output: %s", text)
