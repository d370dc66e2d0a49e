"""Help made from the window's actions: the shortcut list and the guide cannot drift from the
menus; CT presets on keys; About written for the reader."""

from __future__ import annotations

import re

from PySide6 import QtGui

NATIVE = QtGui.QKeySequence.SequenceFormat.NativeText


def test_every_action_with_a_key_is_in_the_shortcuts_dialog(window, qtbot):
    from brainfuse.gui.about import show_shortcuts

    dialog = show_shortcuts(window)
    qtbot.addWidget(dialog)
    text = dialog.text()
    keyed = [a for a in window.findChildren(QtGui.QAction) if not a.shortcut().isEmpty()]
    assert len(keyed) >= 20
    for act in keyed:
        for key in act.shortcuts():
            assert key.toString(NATIVE) in text, act.text()
        assert act.text().replace("&", "").rstrip("…") in text
    for named in ("B", "M", "Esc", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Shift+C", "Ctrl+Q", "F5"):
        assert re.search(rf"(^|\s|/){re.escape(named)}(\s|$)", text, re.M), named


def test_ct_presets_are_on_keys(window):
    from brainfuse.reading.workspace import CT_PRESETS

    ws = window.workspace
    actions = window.menus.preset_actions
    assert set(actions) == set(CT_PRESETS)
    actions["bone"].trigger()
    assert ws.ct_preset == "bone" and window.window_control.preset.currentData() == "bone"
    assert actions["bone"].shortcut().toString(NATIVE) == "F7"


def test_the_guide_covers_every_workflow_by_the_window_s_own_names(window):
    from brainfuse.gui.help_index import guide_html

    guide = guide_html(window)
    assert "<i>" not in guide  # every entry the guide names exists in the menus
    plain = re.sub("<[^>]+>", "", guide)
    for words in (
        "Tools › Decision-map brush (B)",
        "Tools › Ruler (M)",
        "Tools › Region: ellipse",
        "File › Save session",
        "File › Send to PACS",
        "Fusion › Check alignment (Ctrl+K)",
        "View › CT window › Brain 40/80 HU (F5)",
        "not a medical device",
    ):
        assert words in plain, words


def test_about_is_for_a_clinician(window):
    from brainfuse.gui.about import show_about

    dialog = show_about(window)
    text = dialog.text()
    assert "Not a medical device" in text and "Fusion runs on" in text
    assert re.search(r"Qt \d+\.\d+", text) and "PyTorch" in text
    assert re.search(r"\b[0-9a-f]{64}\b", text)  # the weights' checksum


def test_tooltips_speak_plain_words(window):
    from PySide6 import QtWidgets

    tips = [w.toolTip() for w in window.findChildren(QtWidgets.QWidget) if w.toolTip()]
    tips += [a.toolTip() for a in window.findChildren(QtGui.QAction)]
    assert tips
    assert not [t for t in tips if re.search(r"\.\./|\.md\b|\.py\b|shared/", t)]
    ssim = window.readouts.labels["ssim"].toolTip()
    assert "as displayed" in ssim and "window" in ssim
