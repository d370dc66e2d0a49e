"""Save and load a registration transform as an ITK transform file (``.tfm``, text).

A saved transform lets a session be reproduced: ``resample_to(moving, reference,
transform=load_transform(path))`` puts the moving image exactly where it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import SimpleITK

from brainfuse.errors import ExportError, UnreadableInputError

__all__ = ["load_transform", "save_transform"]

_SUFFIXES = (".tfm", ".txt")


def save_transform(path: str | os.PathLike[str], transform: SimpleITK.Transform) -> Path:
    """Write ``transform`` to ``path`` (ITK text format; a temporary file is renamed into place).

    Parameters
    ----------
    path : path-like
        Target file, ending in ``.tfm`` (or ``.txt``).
    transform : SimpleITK.Transform
        E.g. :attr:`RegistrationResult.transform`.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ExportError
        Wrong suffix, missing folder, or the file could not be written.
    """
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise ExportError(f"Cannot save the transform to '{path}': use a file name ending in .tfm.")
    if not path.parent.is_dir():
        raise ExportError(f"Cannot save the transform: folder '{path.parent}' does not exist.")
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, prefix=".brainfuse-", dir=path.parent)
    os.close(fd)
    try:
        SimpleITK.WriteTransform(transform, tmp)
        os.replace(tmp, path)
    except (RuntimeError, OSError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"Cannot save the transform to '{path}': {exc}") from exc
    return path


def load_transform(path: str | os.PathLike[str]) -> SimpleITK.Transform:
    """Read an ITK transform file written by :func:`save_transform` (or by ITK/3D Slicer).

    A composite file holding a single transform is returned as that transform.

    Raises
    ------
    UnreadableInputError
        The file is missing or is not an ITK transform file.
    """
    path = Path(path)
    if not path.is_file():
        raise UnreadableInputError(f"Transform file '{path}' does not exist.")
    try:
        transform = SimpleITK.ReadTransform(str(path))
    except RuntimeError as exc:
        raise UnreadableInputError(
            f"'{path}' is not a readable ITK transform file (.tfm)."
        ) from exc
    if isinstance(transform, SimpleITK.CompositeTransform) or (
        transform.GetName() == "CompositeTransform"
    ):
        composite = SimpleITK.CompositeTransform(transform)
        if composite.GetNumberOfTransforms() == 1:
            transform = composite.GetNthTransform(0)
    return _downcast(transform)


def _downcast(transform: SimpleITK.Transform) -> SimpleITK.Transform:
    """Return the concrete SimpleITK class (e.g. Euler3DTransform) where there is one."""
    cls = getattr(SimpleITK, transform.GetName(), None)
    if cls is not None and isinstance(cls, type) and issubclass(cls, SimpleITK.Transform):
        try:
            return cls(transform)
        except (RuntimeError, TypeError):
            return transform
    return transform
