"""A local cache of retrieved series, for the window's Open from PACS: bounded and private.

Each series is kept in ``<cache>/<SeriesInstanceUID>/`` (``$BRAINFUSE_CACHE_DIR`` or the
platform's user cache folder, ``brainfuse/pacs`` inside it). A folder there is complete by
construction (:func:`brainfuse.pacs.get` renames it into place only when every image
arrived), so a second open of the same series reads it without asking the PACS again.

Patient data at rest: the cache folder and every folder in it are 0700 and every file 0600
(only the user reads them). The cache has a size bound (default 2 GB; ``brainfuse pacs cache
--limit``, kept in ``pacs.json`` in the config folder): after each retrieve the least
recently used *studies* (all their series together, by the newest use of any of them) are
removed until the cache fits, never the study just opened.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from brainfuse._runtime.userdirs import config_dir
from brainfuse.errors import PacsError
from brainfuse.pacs.files import instance_path
from brainfuse.pacs.model import PacsClient, ProgressCallback
from brainfuse.pacs.transfer import get

__all__ = [
    "DEFAULT_CACHE_LIMIT",
    "CacheUsage",
    "cache_dir",
    "cache_limit",
    "cache_usage",
    "cached_series",
    "clear_cache",
    "set_cache_limit",
]

_CACHE_ENV = "BRAINFUSE_CACHE_DIR"
_SETTINGS = "pacs.json"
#: The cache's default size bound in bytes (2 GB).
DEFAULT_CACHE_LIMIT = 2 * 1000**3
_lock = threading.Lock()


def cache_dir() -> Path:
    """Return the folder holding cached series (created 0700 when first used)."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("brainfuse", appauthor=False)) / "pacs"


def _settings_path() -> Path:
    return config_dir() / _SETTINGS


def cache_limit() -> int:
    """Return the cache's size bound in bytes (the setting, else :data:`DEFAULT_CACHE_LIMIT`)."""
    path = _settings_path()
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("cache_limit_bytes")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_CACHE_LIMIT
    return int(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_CACHE_LIMIT


def set_cache_limit(limit_bytes: int) -> Path:
    """Keep ``limit_bytes`` as the cache's bound and apply it now; returns the settings file."""
    from brainfuse.export.atomic import write_bytes_atomic

    if limit_bytes <= 0:
        raise PacsError(f"the cache limit must be positive (got {limit_bytes} bytes)")
    path = _settings_path()
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
        settings = settings if isinstance(settings, dict) else {}
    except (OSError, ValueError):
        settings = {}
    settings["cache_limit_bytes"] = int(limit_bytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(settings, indent=2) + "\n").encode("utf-8")
    written = write_bytes_atomic(path, data, overwrite=True)
    evict(keep=None)
    return written


def _private_root() -> Path:
    root = cache_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def _make_private(folder: Path) -> None:
    """Folders 0700, files 0600, in ``folder`` and below."""
    os.chmod(folder, 0o700)
    for base, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(base, name), 0o700)
        for name in files:
            os.chmod(os.path.join(base, name), stat.S_IRUSR | stat.S_IWUSR)


@dataclass(frozen=True)
class CacheUsage:
    """What the cache holds: its folder, bytes used, studies and series, and the bound."""

    folder: Path
    n_bytes: int
    n_studies: int
    n_series: int
    limit: int


def _series_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _study_of(folder: Path) -> str:
    import pydicom

    for f in sorted(folder.iterdir()):
        try:
            return str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID)
        except Exception:  # an odd file: try the next one
            continue
    return folder.name  # no readable file: the folder is its own group


def _studies(root: Path) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for folder in _series_folders(root):
        groups.setdefault(_study_of(folder), []).append(folder)
    return groups


def cache_usage() -> CacheUsage:
    """Return what the cache holds now."""
    root = cache_dir()
    studies = _studies(root)
    folders = [f for group in studies.values() for f in group]
    n_bytes = sum(_size(f) for f in folders)
    return CacheUsage(root, n_bytes, len(studies), len(folders), cache_limit())


def evict(keep: str | None) -> list[str]:
    """Remove least recently used studies until the cache fits its bound.

    Parameters
    ----------
    keep : str or None
        Study Instance UID never removed (the one just opened).

    Returns
    -------
    list of str
        The Study Instance UIDs removed, oldest first.
    """
    root = cache_dir()
    limit = cache_limit()
    with _lock:
        studies = _studies(root)
        sizes = {uid: sum(_size(f) for f in group) for uid, group in studies.items()}
        total = sum(sizes.values())
        last_use = {uid: max(f.stat().st_mtime for f in group) for uid, group in studies.items()}
        removed = []
        for uid in sorted(studies, key=last_use.__getitem__):
            if total <= limit:
                break
            if uid == keep:
                continue
            for folder in studies[uid]:
                shutil.rmtree(folder, ignore_errors=True)
            total -= sizes[uid]
            removed.append(uid)
    return removed


def clear_cache() -> int:
    """Remove every cached series (the folder itself stays, empty); returns bytes freed."""
    root = cache_dir()
    if not root.is_dir():
        return 0
    freed = 0
    with _lock:
        for entry in root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                freed += _size(entry)
                shutil.rmtree(entry, ignore_errors=True)
            else:
                freed += entry.lstat().st_size
                entry.unlink(missing_ok=True)
    return freed


def cached_series(
    client: PacsClient,
    study_uid: str,
    series_uid: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Path, bool]:
    """Return the local folder of one series, retrieved unless already cached.

    The folder's time stamp records the use (for the bound); after a retrieve the cache is
    made to fit its bound, the study of this series kept.

    Returns
    -------
    (Path, bool)
        The folder, and whether it came from the cache (True) or the PACS (False).
    """
    root = _private_root()
    folder = instance_path(root, series_uid, "1").parent  # checks the UID
    if folder.is_dir() and any(folder.iterdir()):
        os.utime(folder)
        return folder, True
    get(client, study_uid, folder, series_uid=series_uid, progress=progress, cancel=cancel)
    _make_private(folder)
    evict(keep=study_uid)
    return folder, False
