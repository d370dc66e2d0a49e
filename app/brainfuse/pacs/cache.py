"""A local cache of retrieved series, for the window's Open from PACS.

Each series is kept in ``<cache>/<SeriesInstanceUID>/`` (``$BRAINFUSE_CACHE_DIR`` or the
platform's user cache folder, ``brainfuse/pacs`` inside it). A folder there is complete by
construction (:func:`brainfuse.pacs.get` renames it into place only when every image
arrived), so a second open of the same series reads it without asking the PACS again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from brainfuse.pacs.files import instance_path
from brainfuse.pacs.model import PacsClient, ProgressCallback
from brainfuse.pacs.transfer import get

__all__ = ["cache_dir", "cached_series"]

_CACHE_ENV = "BRAINFUSE_CACHE_DIR"


def cache_dir() -> Path:
    """Return the folder holding cached series (created when first used)."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("brainfuse", appauthor=False)) / "pacs"


def cached_series(
    client: PacsClient,
    study_uid: str,
    series_uid: str,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[Path, bool]:
    """Return the local folder of one series, retrieved unless already cached.

    Returns
    -------
    (Path, bool)
        The folder, and whether it came from the cache (True) or the PACS (False).
    """
    folder = instance_path(cache_dir(), series_uid, "1").parent  # checks the UID
    if folder.is_dir() and any(folder.iterdir()):
        return folder, True
    folder.parent.mkdir(parents=True, exist_ok=True)
    get(client, study_uid, folder, series_uid=series_uid, progress=progress, cancel=cancel)
    return folder, False
