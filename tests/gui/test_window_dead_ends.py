"""No surprise after the demo or an error: one source over the demo is never fused with a template."""

from __future__ import annotations

from tests.gui.conftest import settle


def test_a_ct_opened_over_the_demo_waits_for_its_mri(qtbot, window, small_pair, shared_data):
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair, demo=True)
    assert window.workspace.is_demo
    ct = shared_data / "pairs" / "ct-mri" / "2004_ct.png"
    with qtbot.waitSignal(window.controller.loaded, timeout=60000):
        window.open_ct(str(ct))
    settle()
    ws = window.workspace
    assert ws.ct is not None and ws.ct.path == str(ct)
    assert ws.mri is None and not ws.is_demo  # the template is gone, not fused with
    assert ws.fusion is None and not ws.has_grid
    assert "now open the MRI" in window.statusBar().currentMessage()


def test_error_text_wraps_inside_the_viewer(qtbot, window, small_pair):
    from tests.gui.dialogs import DialogAnswers
    from tests.gui.patients import CT_PATIENT, OTHER, of_patient

    ct, mri = small_pair
    answers = DialogAnswers("Do not fuse")
    window.set_pair(of_patient(ct, CT_PATIENT), of_patient(mri, OTHER))
    answers.stop()
    settle()
    qtbot.wait(50)
    for panel in window.viewers.shown():
        note = panel.message
        assert "INV-0077" in note.text()
        width = panel.box.boundingRect().width()
        assert note.boundingRect().width() <= width, (note.boundingRect().width(), width)
        assert note.pos().x() >= 0


def test_the_alignment_mode_is_not_carried_to_the_next_pair_unless_asked(
    qtbot, window, small_pair, shared_data
):
    ws = window.workspace
    window.interactive = False  # a PNG CT with the 3-D MRI does not align: kept, not shown
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.set_pair(*small_pair)
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.controller.set_register_mode("none")
    assert ws.register_mode == "none"
    ct = shared_data / "pairs" / "ct-mri" / "2004_ct.png"
    with qtbot.waitSignal(window.controller.loaded, timeout=60000):
        window.open_ct(str(ct))
    settle()
    assert ws.register_mode == "auto" and window.menus.register_actions["auto"].isChecked()
    window.menus.action_keep_register.setChecked(True)  # "always"
    window.controller.set_register_mode("none")
    settle()
    mri = shared_data / "pairs" / "ct-mri" / "2004_mri.png"
    with qtbot.waitSignal(window.controller.loaded, timeout=60000):
        window.open_mri(str(mri))
    settle()
    assert ws.register_mode == "none"


def test_after_a_failed_alignment_fuse_again_aligns_and_fuses(qtbot, window, small_pair):
    from brainfuse.errors import RegistrationError
    from brainfuse.gui import controller as controller_module

    real = controller_module.align_task

    def failing(*args, cancel):
        raise RegistrationError("the registration did not converge")

    controller_module.align_task = failing
    try:
        window.interactive = False  # failures kept, not shown in a box
        window.set_pair(*small_pair)
        settle()
        assert window.workspace.problem and not window.workspace.has_grid
    finally:
        controller_module.align_task = real
    assert window.menus.action_fuse_again.isEnabled()
    assert all(a.isEnabled() for a in window.menus.register_actions.values())
    with qtbot.waitSignal(window.fusion_finished, timeout=120000):
        window.menus.action_fuse_again.trigger()
    assert window.workspace.fusion is not None and window.workspace.problem is None
