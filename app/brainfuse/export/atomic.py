"""Atomic writes: a temporary file in the target folder, then one rename.

Every export goes through :func:`write_bytes_atomic` or :func:`write_stream_atomic` (one
file, whole or written piece by piece) or
:func:`write_folder_atomic` (a folder of files, e.g. a DICOM series or numbered PNG
slices); :func:`folder_atomic` lets other code (a PACS retrieve) fill the temporary
folder. Either the complete new output appears under the target name, or nothing
changes: a failure half-way (disk full, an exception) removes the temporary file and leaves
any previous output intact. An existing output is replaced only with ``overwrite=True``,
and an output that is (or would replace) one of the source files is always refused.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from brainfuse.errors import BrainFuseError, ExportError

__all__ = [
    "check_target",
    "folder_atomic",
    "write_bytes_atomic",
    "write_folder_atomic",
    "write_stream_atomic",
]

_CHUNK = 1 << 20  # bytes written per call, so a full disk fails part-way like a real one


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write ``data`` to the open descriptor ``fd`` in chunks (separate so tests can fail it)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def _temp_path(target: Path, suffix: str) -> Path:
    """Return a fresh hidden name beside ``target`` (same folder, so the rename is atomic)."""
    return target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"


def _resolve(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def _source_paths(sources: Iterable[str | os.PathLike[str]]) -> list[Path]:
    return [_resolve(s) for s in sources if s]


def check_target(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
    is_folder: bool = False,
    replaceable: tuple[str, ...] = (),
) -> Path:
    """Validate an output path before anything is written.

    Parameters
    ----------
    target : path
        File (or folder, with ``is_folder``) to be written.
    overwrite : bool
        Whether an existing output may be replaced.
    sources : iterable of paths
        Files and folders the data came from; the output may not be any of them, and a
        folder output may not contain one of them.
    is_folder : bool
        True when ``target`` is a folder that will be replaced as a whole.
    replaceable : tuple of str
        File suffixes (e.g. ``(".dcm",)``) an existing folder may hold to be replaced; a
        folder holding anything else (sub-folders, other files) is never replaced, so an
        ``overwrite`` aimed at the wrong folder cannot delete unrelated data.

    Returns
    -------
    Path
        The resolved target path.

    Raises
    ------
    ExportError
        The target equals or would replace a source, exists without ``overwrite``, is of
        the wrong kind (file vs folder), or its folder does not exist.
    """
    resolved = _resolve(target)
    for src in _source_paths(sources):
        if resolved == src or (is_folder and resolved in src.parents):
            raise ExportError(
                f"Refusing to export to '{target}': that would overwrite the source "
                f"'{src}'. Choose another output path."
            )
    if not resolved.parent.is_dir():
        raise ExportError(
            f"Cannot export to '{target}': the folder '{resolved.parent}' does not exist."
        )
    if resolved.exists() or resolved.is_symlink():
        if not overwrite:
            raise ExportError(
                f"'{target}' already exists; choose another name or allow overwriting "
                "(--overwrite)."
            )
        if is_folder and not resolved.is_dir():
            raise ExportError(f"Cannot write a folder of images to '{target}': it is a file.")
        if is_folder:
            foreign = [
                p.name
                for p in resolved.iterdir()
                if not (p.is_file() and not p.is_symlink() and p.name.lower().endswith(replaceable))
            ]
            if foreign:
                raise ExportError(
                    f"Will not replace the folder '{target}': it holds other things than "
                    f"{'/'.join(replaceable) or 'nothing'} files (e.g. '{sorted(foreign)[0]}'). "
                    "Choose a new or empty folder."
                )
        if not is_folder and resolved.is_dir():
            raise ExportError(f"Cannot write a file to '{target}': it is a folder.")
    return resolved


def _failure(target: Path, exc: OSError) -> ExportError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    return ExportError(
        f"Could not write '{target}': {reason}. Nothing was written; any previous file "
        "there is unchanged."
    )


class _AtomicStream(io.RawIOBase):
    """Write-only file object over a descriptor; every write goes through :func:`_write_all`.

    ``tell`` works; ``seek`` only to the current position (writers that need a gap, such as
    nibabel's header-to-data offset, fall back to writing zeros).
    """

    def __init__(self, fd: int):
        super().__init__()
        self._fd, self._pos = fd, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        _write_all(self._fd, view)
        self._pos += len(view)
        return len(view)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = {os.SEEK_SET: offset, os.SEEK_CUR: self._pos + offset}.get(whence)
        if target != self._pos:
            raise io.UnsupportedOperation("an atomic export stream only writes forward")
        return self._pos


def write_stream_atomic(
    target: str | os.PathLike[str],
    produce: Callable[[io.RawIOBase], object],
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Let ``produce(fileobj)`` write ``target`` through a temporary file in the same folder.

    The contents are never held whole in memory: a large volume is written slice by slice.

    Parameters
    ----------
    target : path
        Output file.
    produce : callable(file object)
        Writes the complete file contents with ``fileobj.write`` (``tell`` works too).
    overwrite : bool
        Replace an existing ``target``.
    sources : iterable of paths
        Source files the output may not replace.

    Returns
    -------
    Path
        The resolved path written.

    Raises
    ------
    ExportError
        See :func:`check_target`; or the write failed (the temporary file is removed and a
        previous ``target`` is left intact).
    """
    resolved = check_target(target, overwrite=overwrite, sources=sources)
    tmp = _temp_path(resolved, ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        try:
            produce(_AtomicStream(fd))
            os.fsync(fd)
        finally:
            os.close(fd)
        if not overwrite and resolved.exists():  # appeared while we were writing
            raise ExportError(f"'{target}' appeared during the export; not replaced.")
        os.replace(tmp, resolved)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, ExportError):
            raise
        raise _failure(resolved, exc) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return resolved


@contextlib.contextmanager
def folder_atomic(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
    replaceable: tuple[str, ...] = (),
) -> Iterator[Path]:
    """Fill a temporary folder beside ``target``; rename it to ``target`` when the block ends.

    The block receives the temporary folder (hidden, ``.NAME.xxxx.part``) and writes into it
    (files or sub-folders). When the block ends normally, a previous ``target`` (with
    ``overwrite``) is moved aside, the temporary folder is renamed to ``target`` in one step,
    and the old folder is deleted; if that rename fails the old folder is restored. When the
    block raises (error, cancel, Ctrl-C), the temporary folder is deleted and ``target`` is
    untouched, so a half-written or half-received series never appears.

    Parameters
    ----------
    target : path
        Output folder.
    overwrite, sources, replaceable
        See :func:`check_target`.

    Yields
    ------
    Path
        The temporary folder to fill.
    """
    resolved = check_target(
        target, overwrite=overwrite, sources=sources, is_folder=True, replaceable=replaceable
    )
    tmp_dir = _temp_path(resolved, ".part")
    os.mkdir(tmp_dir, 0o777)  # umask applies, as for any folder the user creates
    backup: Path | None = None
    try:
        yield tmp_dir
        if resolved.exists():
            if not overwrite:
                raise ExportError(f"'{target}' appeared during the export; not replaced.")
            backup = _temp_path(resolved, ".old")
            os.replace(resolved, backup)
        try:
            os.replace(tmp_dir, resolved)
        except OSError:
            if backup is not None:
                os.replace(backup, resolved)
                backup = None
            raise
    except OSError as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if isinstance(exc, BrainFuseError):  # e.g. a PACS error while filling the folder
            raise
        raise _failure(resolved, exc) from exc
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def write_bytes_atomic(
    target: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write ``data`` (the complete file contents) to ``target`` atomically.

    See :func:`write_stream_atomic` for the parameters, return value and errors.
    """
    return write_stream_atomic(
        target, lambda fh: fh.write(data), overwrite=overwrite, sources=sources
    )


def write_folder_atomic(
    target: str | os.PathLike[str],
    files: Mapping[str, bytes] | Iterable[tuple[str, bytes]],
    *,
    overwrite: bool = False,
    sources: Iterable[str | os.PathLike[str]] = (),
    replaceable: tuple[str, ...] = (),
) -> list[Path]:
    """Write a set of files as a new folder ``target``, all or nothing.

    The files go into a temporary folder beside ``target``, which is then renamed (see
    :func:`folder_atomic`).

    Parameters
    ----------
    target : path
        Output folder.
    files : mapping or iterable of (name, bytes)
        File names (no folders) and contents; an iterable is consumed lazily so a long
        series need not be held in memory at once.
    overwrite : bool
        Replace an existing ``target`` folder.
    sources : iterable of paths
        Source files the output may not equal or contain.
    replaceable : tuple of str
        Suffixes of the files an existing ``target`` may hold to be replaced (see
        :func:`check_target`).

    Returns
    -------
    list of Path
        The files written, in order.
    """
    items = files.items() if isinstance(files, Mapping) else files
    names: list[str] = []
    with folder_atomic(
        target, overwrite=overwrite, sources=sources, replaceable=replaceable
    ) as tmp_dir:
        for name, data in items:
            if Path(name).name != name or name in ("", ".", ".."):
                raise ExportError(f"Invalid output file name '{name}' for folder '{target}'.")
            fd = os.open(tmp_dir / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            names.append(name)
    resolved = _resolve(target)
    return [resolved / name for name in names]
