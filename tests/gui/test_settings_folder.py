"""One configuration folder: the window's preferences beside the PACS nodes and sessions, older
settings moved in; a CT window with a preset's values reads as that preset after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtCore

INI = QtCore.QSettings.Format.IniFormat


def test_window_settings_live_in_the_one_config_folder(tmp_path, monkeypatch):
    from brainfuse._runtime.userdirs import CONFIG_ENV, config_dir
    from brainfuse.gui import settings as module
    from brainfuse.gui.settings import Settings

    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "cfg"))
    old_file = tmp_path / "home" / "BrainFuse" / "BrainFuse.conf"
    old = QtCore.QSettings(str(old_file), INI)
    old.setValue("overlay/colormap", "magma")  # kept by an older version
    old.sync()
    monkeypatch.setattr(module, "_old_qsettings", lambda: QtCore.QSettings(str(old_file), INI))
    settings = Settings()
    assert settings.q.value("overlay/colormap") == "magma"  # moved in
    assert not old_file.exists()  # one folder left
    settings.set_device("cpu")
    settings.q.sync()
    assert Path(settings.q.fileName()).parent == config_dir() == tmp_path / "cfg"
    assert "fusion/device" in Settings().q.allKeys()  # read back from that file


def test_old_settings_are_moved_once(tmp_path):
    from brainfuse.gui.settings import migrate

    old = QtCore.QSettings(str(tmp_path / "BrainFuse" / "BrainFuse.conf"), INI)
    old.setValue("fusion/device", "cpu")
    old.setValue("recent/files", ["ct|/a.nii", "mri|/b.nii"])
    old.sync()
    new = QtCore.QSettings(str(tmp_path / "brainfuse" / "window.ini"), INI)
    assert migrate(old, new)
    assert new.value("fusion/device") == "cpu"
    assert new.value("recent/files") == ["ct|/a.nii", "mri|/b.nii"]
    assert old.allKeys() == []  # not left behind as a second place
    again = QtCore.QSettings(str(tmp_path / "BrainFuse" / "BrainFuse.conf"), INI)
    again.setValue("fusion/device", "cuda")
    assert not migrate(again, new) and new.value("fusion/device") == "cpu"  # newer file wins


@pytest.mark.parametrize(("center", "width", "preset"), [(40, 80, "brain"), (41, 80, None)])
def test_a_stored_window_with_a_presets_values_is_that_preset(tmp_path, center, width, preset):
    from brainfuse.gui.settings import Settings
    from brainfuse.reading.workspace import Workspace

    q = QtCore.QSettings(str(tmp_path / "window.ini"), INI)
    q.setValue("window/ct_preset", "custom")
    q.setValue("window/ct_center", center)
    q.setValue("window/ct_width", width)
    ws = Workspace()
    Settings(q).restore(ws)
    assert ws.ct_preset == preset and (ws.ct_window.center, ws.ct_window.width) == (center, width)
