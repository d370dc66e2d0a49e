"""Can the window start here? Name the missing system libraries before Qt aborts (no Qt import).

On Linux, Qt draws windows through its ``xcb`` platform plugin, which needs a dozen X11/xcb
libraries that a fresh or minimal system may lack (most often ``libxcb-cursor0``, required
since Qt 6.5). Without them Qt prints a message that names no package and aborts the
process. :func:`startup_problem` probes the libraries first (only on Linux, only when the
``xcb`` platform will be used) and returns one line naming the missing ones and the
``apt-get`` command that installs them; :func:`explain_qt_error` turns Qt's own message (or
an ``ImportError`` of PySide6) into the same line.

This module must stay importable without PySide6: it runs before Qt is touched.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping

from brainfuse.errors import BrainFuseError

__all__ = [
    "XCB_LIBRARIES",
    "apt_command",
    "check_window_platform",
    "explain_qt_error",
    "missing_libraries",
    "platform_in_use",
    "startup_problem",
]

#: Shared libraries the Qt 6 ``xcb`` platform plugin loads (``ldd libqxcb.so``, Qt 6.12),
#: with the Debian/Ubuntu package that provides each.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}

_SONAME = re.compile(r"(lib[\w.+-]+?\.so(?:\.\d+)*)")
_CURSOR_HINT = re.compile(r"xcb-cursor0 or libxcb-cursor0 is needed")
_XCB_FAILED = re.compile(r'Could not (?:load|find) the Qt platform plugin "xcb"')


def platform_in_use(environ: Mapping[str, str] | None = None) -> str:
    """Name the Qt platform plugin a window will use: ``QT_QPA_PLATFORM`` or Qt's default.

    Qt's default on Linux is ``xcb``, except in a Wayland session (``XDG_SESSION_TYPE``
    ``wayland`` with ``WAYLAND_DISPLAY`` set), where it tries ``wayland`` first.
    """
    env = os.environ if environ is None else environ
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip().lower()
    if env.get("XDG_SESSION_TYPE", "").lower() == "wayland" and env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb"


def _can_load(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(
    names: Iterable[str] = XCB_LIBRARIES, *, can_load: Callable[[str], bool] | None = None
) -> list[str]:
    """List the shared libraries among ``names`` that the dynamic loader cannot open.

    Parameters
    ----------
    names : iterable of str
        Sonames, e.g. ``"libxcb-cursor.so.0"``.
    can_load : callable(str) -> bool, optional
        The probe; default tries ``dlopen`` (:class:`ctypes.CDLL`), which searches exactly
        where Qt's own loading will.
    """
    probe = _can_load if can_load is None else can_load
    return [name for name in names if not probe(name)]


def apt_command(sonames: Iterable[str]) -> str:
    """``sudo apt-get install ...`` for the packages providing ``sonames`` (Debian/Ubuntu).

    Examples
    --------
    >>> apt_command(["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"])
    'sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0'
    """
    packages: list[str] = []
    for name in sonames:
        package = XCB_LIBRARIES.get(name, name.split(".so")[0])
        if package not in packages:
            packages.append(package)
    return "sudo apt-get install " + " ".join(packages)


def _message(sonames: list[str]) -> str:
    return (
        "the window cannot start: Qt's X11 (xcb) display needs system libraries that are "
        f"not installed ({', '.join(sonames)}); install them with: {apt_command(sonames)} "
        "(the command-line tools work without them)"
    )


def explain_qt_error(text: str, *, can_load: Callable[[str], bool] | None = None) -> str | None:
    """One clear line from Qt's start-up failure message, or ``None`` if it is not one.

    Parameters
    ----------
    text : str
        Qt's stderr output (``qt.qpa.plugin: ...``) or the text of an ``ImportError``
        raised by PySide6 (``libEGL.so.1: cannot open shared object file``).
    can_load : callable(str) -> bool, optional
        Probe used when Qt's message names no library (default: ``dlopen``).
    """
    named = [s for s in _SONAME.findall(text) if "cannot open shared object" in text]
    if _CURSOR_HINT.search(text):
        named.insert(0, "libxcb-cursor.so.0")
    if _XCB_FAILED.search(text):
        named += missing_libraries(can_load=can_load)
    named = [s for s in dict.fromkeys(named) if not s.startswith(("libQt6", "libpyside6"))]
    if named:
        return _message(named)
    if _XCB_FAILED.search(text):
        return (
            "the window cannot start: Qt could not load its X11 (xcb) display plugin; "
            f"install the X11 libraries it needs: {apt_command(XCB_LIBRARIES)}"
        )
    return None


def startup_problem(
    environ: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    can_load: Callable[[str], bool] | None = None,
) -> str | None:
    """Why the window cannot start here, in one line, or ``None`` when it can (as far as known).

    Probes only on Linux and only for the ``xcb`` platform (``offscreen``, ``wayland`` and
    other platforms are left to Qt).
    """
    if not (platform or sys.platform).startswith("linux"):
        return None
    if platform_in_use(environ) != "xcb":
        return None
    env = os.environ if environ is None else environ
    if not env.get("DISPLAY"):  # Qt would abort the process with several lines
        return (
            "the window cannot start: there is no display (DISPLAY is not set); run it in a "
            "desktop session, or use the command line (brainfuse fuse …, brainfuse --help)"
        )
    missing = missing_libraries(can_load=can_load)
    return _message(missing) if missing else None


def check_window_platform() -> None:
    """Raise :class:`BrainFuseError` (one line, exit 2 in the CLI) if the window cannot start."""
    problem = startup_problem()
    if problem:
        raise BrainFuseError(problem)
