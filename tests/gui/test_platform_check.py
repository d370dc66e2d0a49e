"""Start-up on Linux without Qt's xcb libraries: one clear line naming them, exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from brainfuse.cli import main
from brainfuse.gui import platform_check
from brainfuse.gui.platform_check import (
    apt_command,
    explain_qt_error,
    missing_libraries,
    platform_in_use,
    startup_problem,
)

# Qt 6.12's own output, captured on this project's Debian 12 machine with libxcb-cursor.so.0
# hidden from the loader (mount namespace, see test_brainfuse_names_a_really_missing_library).
QT_MESSAGE = """\
qt.qpa.plugin: From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.
qt.qpa.plugin: Could not load the Qt platform plugin "xcb" in "" even though it was found.
This application failed to start because no Qt platform plugin could be initialized. Reinstalling the application may fix this problem.

Available platform plugins are: minimal, linuxfb, offscreen, xcb, wayland-brcm, wayland-egl, wayland, eglfs, vnc, vkkhrdisplay, minimalegl.

Aborted
"""


def _all_present(name: str) -> bool:
    return True


def test_qt_message_is_turned_into_the_library_and_the_apt_command():
    line = explain_qt_error(QT_MESSAGE, can_load=_all_present)
    assert line is not None and "\n" not in line
    assert "libxcb-cursor.so.0" in line
    assert line.endswith(
        "install them with: sudo apt-get install libxcb-cursor0 "
        "(the command-line tools work without them)"
    )


def test_qt_message_adds_every_library_the_probe_cannot_load():
    line = explain_qt_error(QT_MESSAGE, can_load=lambda s: s != "libxcb-icccm.so.4")
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in line


def test_pyside_import_error_names_its_library():
    text = "libEGL.so.1: cannot open shared object file: No such file or directory"
    assert "sudo apt-get install libegl1" in explain_qt_error(text, can_load=_all_present)
    assert explain_qt_error("some other Qt warning", can_load=_all_present) is None


def test_simulated_missing_libraries_are_found_by_the_probe():
    gone = {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    line = startup_problem({"DISPLAY": ":0"}, platform="linux", can_load=lambda s: s not in gone)
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in line
    assert "sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0" in line
    assert startup_problem({"DISPLAY": ":0"}, platform="linux", can_load=_all_present) is None


def test_no_display_is_one_line_before_qt_aborts():
    line = startup_problem({}, platform="linux", can_load=_all_present)
    assert line is not None and "no display (DISPLAY is not set)" in line and "\n" not in line


def test_only_linux_and_only_the_xcb_platform_are_probed():
    def never(name):
        raise AssertionError("probed")

    assert startup_problem({}, platform="darwin", can_load=never) is None
    assert (
        startup_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux", can_load=never) is None
    )
    wayland = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}
    assert platform_in_use(wayland) == "wayland"
    assert platform_in_use({"QT_QPA_PLATFORM": "xcb;wayland"}) == "xcb"
    assert platform_in_use({"QT_QPA_PLATFORM": "vnc:size=800x600"}) == "vnc"
    assert apt_command(["libX11.so.6", "libX11.so.6"]) == "sudo apt-get install libx11-6"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux only")
def test_this_machine_has_the_xcb_libraries():
    assert missing_libraries() == []  # the dlopen probe finds what ldd libqxcb.so finds


def test_the_window_start_prints_one_line_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    monkeypatch.setattr(platform_check, "_can_load", lambda s: s != "libxcb-cursor.so.0")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("brainfuse: error: the window cannot start")
    assert "sudo apt-get install libxcb-cursor0" in err
    assert main(["view", "--demo"]) == 2
    monkeypatch.delenv("DISPLAY")  # no display at all: one line too, before Qt aborts
    assert main(["bench", "--first-slice", "--repeat", "1"]) == 2
    assert "no display (DISPLAY is not set)" in capsys.readouterr().err


def test_the_module_imports_without_pyside6():
    path = Path(platform_check.__file__)
    code = (
        "import sys, importlib.util\n"
        "sys.modules['PySide6'] = None\n"
        f"spec = importlib.util.spec_from_file_location('pc', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.apt_command(['libxcb-cursor.so.0']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(path.parents[2])}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "sudo apt-get install libxcb-cursor0"


HIDE = """\
set -e
mount --bind "$LIBDIR" "$REAL"
for f in "$REAL"/* ; do
  n=${f##*/}
  case "$n" in libxcb-cursor*) ;; *) ln -s "$f" "$HIDDEN/$n" ;; esac
done
mount --bind "$HIDDEN" "$LIBDIR"
exec "$@"
"""


@pytest.mark.slow
def test_brainfuse_names_a_really_missing_library(tmp_path):
    """``env -i PATH=... brainfuse`` with libxcb-cursor hidden (private mount namespace)."""
    libdir = Path("/usr/lib/x86_64-linux-gnu")
    if not (libdir / "libxcb-cursor.so.0").exists() or shutil.which("unshare") is None:
        pytest.skip("needs Debian's multiarch library folder with libxcb-cursor and unshare")
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("user mount namespaces are not allowed here")
    (tmp_path / "real").mkdir()
    (tmp_path / "hidden").mkdir()
    script = tmp_path / "hide.sh"
    script.write_text(HIDE)
    app = Path(platform_check.__file__).parents[2]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LIBDIR": str(libdir),
        "REAL": str(tmp_path / "real"),
        "HIDDEN": str(tmp_path / "hidden"),
        "PYTHONPATH": str(app),
        "QT_QPA_PLATFORM": "xcb",
        "DISPLAY": ":99",
    }
    run = subprocess.run(
        ["unshare", "-rm", "sh", str(script), sys.executable, "-m", "brainfuse"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1
    assert "libxcb-cursor.so.0" in run.stderr
    assert "sudo apt-get install libxcb-cursor0" in run.stderr
