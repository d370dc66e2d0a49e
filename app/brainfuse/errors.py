"""The BrainFuse exception family.

Every error a user can cause (a bad file, a mismatched pair, a failed export) is a
:class:`BrainFuseError`. Messages are written for a clinician: they name the file and the
offending values and say what to do. The CLI prints the message on one line and exits 2;
the GUI shows it in a dialog.

A bug of BrainFuse itself (an ``AttributeError`` in an exporter, say) is not the input's
fault and must not read like it: :func:`is_internal_error` tells the two apart, and the
entry points report a bug as an :class:`InternalError` (one line that says so, the
traceback in a log file, exit status 1; :mod:`brainfuse._runtime.bugreport`).
"""

from __future__ import annotations

import errno
import zlib
from pathlib import Path

__all__ = [
    "AmbiguousInputError",
    "BrainFuseError",
    "CancelledError",
    "DifferentPatientsError",
    "ExportError",
    "GeometryMismatchError",
    "InputTooLargeError",
    "InternalError",
    "ModelError",
    "PacsError",
    "RegistrationError",
    "UnreadableInputError",
    "UnsupportedInputError",
    "as_user_error",
    "is_internal_error",
]


class BrainFuseError(Exception):
    """Base class of every error BrainFuse reports to a user."""


class UnreadableInputError(BrainFuseError, OSError):
    """A file or folder could not be read as an image (corrupt, empty, not an image)."""


class UnsupportedInputError(BrainFuseError, ValueError):
    """An image was read but its kind is not supported (4-D NIfTI, unknown transfer syntax)."""


class AmbiguousInputError(BrainFuseError, ValueError):
    """A folder holds several series and none was chosen.

    Attributes
    ----------
    choices : list of str
        One human-readable line per candidate series, so a GUI can offer a choice.
    """

    def __init__(self, message: str, choices: list[str] | None = None):
        super().__init__(message)
        self.choices = list(choices or [])


class GeometryMismatchError(BrainFuseError, ValueError):
    """Two images cannot be put on one grid (different sizes, no geometry, no overlap)."""


class DifferentPatientsError(BrainFuseError, ValueError):
    """The two sources carry different patients; fused only on an explicit override.

    ``check`` is the :class:`brainfuse.model.patient.PatientCheck` that refused (the window
    names both patients in its confirmation from it).
    """

    def __init__(self, message: str, check: object = None) -> None:
        super().__init__(message)
        self.check = check


class RegistrationError(BrainFuseError, RuntimeError):
    """Registration failed to converge or was given unusable images."""


class ModelError(BrainFuseError, RuntimeError):
    """The fusion network's weights are missing, corrupt or do not match their checksum."""


class ExportError(BrainFuseError, OSError):
    """An export could not be written (target exists, equals a source, disk full)."""


class CancelledError(BrainFuseError):
    """Long work was cancelled by the user."""


class InputTooLargeError(UnsupportedInputError):
    """An image would need more memory than the budget allows (refused before decoding)."""


class InternalError(Exception):
    """A bug of BrainFuse, reported as such (not a :class:`BrainFuseError`: no input's fault).

    Its message is one line, ``internal error: <type>: <what>; details in <log>, please
    report``. Made by :func:`brainfuse._runtime.bugreport.report_internal_error`, which
    writes the traceback to ``log`` first.

    Attributes
    ----------
    log : Path or None
        The file holding the traceback (None when it could not be written).
    details : str
        The traceback and versions, as written to ``log`` (for a "Copy details" button).
    """

    def __init__(self, message: str, *, log: Path | None = None, details: str = ""):
        super().__init__(message)
        self.log = log
        self.details = details


# Exceptions that must never be turned into a user error: they stop the program.
_NEVER_CONVERTED = (KeyboardInterrupt, SystemExit, GeneratorExit)

#: Exception types that, raised by BrainFuse's own code, mean a bug of it, not a bad input
#: (``KeyError`` and ``IndexError`` are ``LookupError``s; ``UnboundLocalError`` a ``NameError``).
_BUG_TYPES = (AttributeError, TypeError, LookupError, NameError, AssertionError)
_PACKAGE = Path(__file__).resolve().parent


def _raised_by_own_code(exc: BaseException) -> bool:
    """Tell whether the innermost frame of ``exc``'s traceback is in the ``brainfuse`` package."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    try:
        return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


def is_internal_error(exc: BaseException, *, in_decoder: bool = False) -> bool:
    """Tell whether ``exc`` is a bug of BrainFuse rather than the fault of an input.

    A :class:`BrainFuseError` never is; an :class:`InternalError` always is. Otherwise a
    bug is an ``AttributeError``, ``TypeError``, ``KeyError``/``IndexError``
    (``LookupError``), ``NameError`` or ``AssertionError``; every other type (``OSError``,
    ``MemoryError``, ``ValueError``, ``zlib.error``, a Rust ``PanicException``, ...) is the
    input's or the system's and stays a user error.

    Parameters
    ----------
    exc : BaseException
        The exception caught at an error boundary.
    in_decoder : bool
        ``True`` at a boundary around a file reader (:func:`brainfuse.io.load_image`). There
        pydicom, nibabel and the pixel decoders raise the same types when a hostile file
        trips them (an ``IndexError`` on a cut-short tag, a ``TypeError`` on a value of the
        wrong kind), so such an exception is a bug only when BrainFuse's own code raised it
        (the innermost frame of its traceback is in the ``brainfuse`` package).
    """
    if isinstance(exc, InternalError):
        return True
    if isinstance(exc, BrainFuseError) or not isinstance(exc, _BUG_TYPES):
        return False
    return not in_decoder or _raised_by_own_code(exc)


def _cause_in_words(exc: BaseException) -> str:
    """Say what went wrong, in words, for an exception raised by a decoder or library."""
    detail = " ".join(str(exc).split())
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return "there is not enough memory to decode it"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "it does not exist (or vanished while being read)"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.strerror or errno.errorcode.get(exc.errno, detail) or detail
    if isinstance(exc, zlib.error | EOFError):
        return f"its compressed or encoded data are cut short or corrupt ({detail or name})"
    if isinstance(exc, RecursionError):
        return "its structure is nested too deeply to be a real image"
    if name == "PanicException":  # pyo3: a Rust decoder (e.g. pylibjpeg-rle) gave up
        return f"the image decoder failed on corrupt data ({detail or 'decoder panic'})"
    return f"{name}: {detail}" if detail else name


def as_user_error(
    exc: BaseException, *, path: str | Path | None = None, doing: str = "read"
) -> BrainFuseError:
    """Turn any failure while reading or processing a file into a :class:`BrainFuseError`.

    The error boundary of every entry point (each CLI command, each window worker): call it
    in ``except BaseException as exc`` and raise what it returns. A :class:`BrainFuseError`
    is returned unchanged; :class:`KeyboardInterrupt`, :class:`SystemExit` and
    :class:`GeneratorExit` are re-raised at once (they are never an input's fault);
    anything else - ``MemoryError``, ``zlib.error``, ``struct.error``, NumPy's
    ``LinAlgError``, pyo3's Rust ``PanicException`` (a :class:`BaseException` subclass) -
    becomes an :class:`UnreadableInputError` naming ``path`` and the cause in words, with
    the original chained as ``__cause__``.

    Parameters
    ----------
    exc : BaseException
        The exception caught.
    path : str or Path, optional
        The file or folder being read, named in the message.
    doing : str
        The verb of the message, ``"Could not <doing> <path>: <cause>."`` (``"read"``,
        ``"fuse"``, ``"export"``).

    Returns
    -------
    BrainFuseError
        Raise it with ``raise as_user_error(exc, path=p) from exc``.

    Raises
    ------
    KeyboardInterrupt, SystemExit, GeneratorExit
        ``exc`` itself, when it is one of these.
    """
    if isinstance(exc, _NEVER_CONVERTED):
        raise exc
    if isinstance(exc, BrainFuseError):
        return exc
    where = f"{path}" if path is not None else "the input"
    if isinstance(exc, MemoryError):
        error: BrainFuseError = InputTooLargeError(
            f"Could not {doing} {where}: {_cause_in_words(exc)} (free memory, or give BrainFuse "
            "more with BRAINFUSE_MEMORY_BUDGET)."
        )
    else:
        error = UnreadableInputError(f"Could not {doing} {where}: {_cause_in_words(exc)}.")
    error.__cause__ = exc
    return error


class PacsError(BrainFuseError, ConnectionError):
    """A PACS could not be reached, refused us, or did not deliver what was asked for."""
