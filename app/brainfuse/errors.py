"""The BrainFuse exception family.

Every error a user can cause (a bad file, a mismatched pair, a failed export) is a
:class:`BrainFuseError`. Messages are written for a clinician: they name the file and the
offending values and say what to do. The CLI prints the message on one line and exits 2;
the GUI shows it in a dialog.
"""

from __future__ import annotations

__all__ = [
    "BrainFuseError",
    "UnreadableInputError",
    "UnsupportedInputError",
    "AmbiguousInputError",
    "GeometryMismatchError",
    "RegistrationError",
    "ModelError",
    "ExportError",
    "CancelledError",
    "PacsError",
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


class RegistrationError(BrainFuseError, RuntimeError):
    """Registration failed to converge or was given unusable images."""


class ModelError(BrainFuseError, RuntimeError):
    """The fusion network's weights are missing, corrupt or do not match their checksum."""


class ExportError(BrainFuseError, OSError):
    """An export could not be written (target exists, equals a source, disk full)."""


class CancelledError(BrainFuseError):
    """Long work was cancelled by the user."""


class PacsError(BrainFuseError, ConnectionError):
    """A PACS could not be reached, refused us, or did not deliver what was asked for."""
