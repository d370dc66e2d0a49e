"""Two kinds of failure at the command's boundary: a bug exits 1 with its log, bad input 2."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from brainfuse.cli import main
from brainfuse.errors import UnreadableInputError, is_internal_error
from tests.hostile.factory import stderr_lines


def _pngs(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for name in ("ct.png", "mr.png"):
        path = tmp_path / name
        Image.fromarray((255 * rng.random((32, 32))).astype(np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_a_bug_in_an_exporter_is_reported_as_one(tmp_path, monkeypatch, capsys):
    import brainfuse.export.result as result

    def broken(*args, **kwargs):
        raise AttributeError("'PairResult' object has no attribute 'fused_volume'")

    monkeypatch.setattr(result, "write_png", broken)
    state = tmp_path / "state"
    monkeypatch.setenv("BRAINFUSE_STATE_DIR", str(state))
    ct, mr = _pngs(tmp_path)
    status = main(["fuse", ct, mr, "-o", str(tmp_path / "f.png"), "--method", "average"])
    err = capsys.readouterr().err
    assert status == 1
    lines = stderr_lines(err)  # a progress bar of a slow run aside
    assert len(lines) == 1, err
    logs = list((state / "logs").glob("brainfuse-*.log"))
    assert len(logs) == 1
    assert lines[0] == (
        "brainfuse: internal error: AttributeError: 'PairResult' object has no attribute "
        f"'fused_volume'; details in {logs[0]}, please report"
    )
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "while: fuse" in text
    assert not (tmp_path / "f.png").exists()


def test_bad_input_still_exits_2_without_a_log(tmp_path, monkeypatch, capsys):
    state = tmp_path / "state"
    monkeypatch.setenv("BRAINFUSE_STATE_DIR", str(state))
    ct, _ = _pngs(tmp_path)
    junk = tmp_path / "scan.dcm"
    junk.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f")  # cut short
    status = main(["fuse", ct, str(junk), "-o", str(tmp_path / "f.png")])
    err = capsys.readouterr().err
    assert status == 2
    lines = stderr_lines(err)
    assert len(lines) == 1 and lines[0].startswith("brainfuse: error: "), err
    assert "internal error" not in err
    assert not state.exists()


def test_which_failures_are_bugs():
    from brainfuse._runtime.threads import choose_threads

    def here() -> None:
        raise KeyError("rule")

    with pytest.raises(KeyError) as mine:
        here()
    assert is_internal_error(mine.value)  # a bug type, outside any reader
    assert not is_internal_error(mine.value, in_decoder=True)  # not raised by brainfuse's code
    with pytest.raises(TypeError) as own:
        choose_threads(load=object())  # type: ignore[arg-type]
    assert is_internal_error(own.value, in_decoder=True)  # raised in brainfuse's own code
    for exc in (UnreadableInputError("bad"), OSError(28, "No space left"), ValueError("x")):
        assert not is_internal_error(exc)
    # raised inside a library while reading: the file's fault
    import pydicom

    with pytest.raises(Exception) as caught:
        pydicom.dcmread(__file__)
    assert not is_internal_error(caught.value, in_decoder=True)


def test_a_bug_report_that_cannot_be_written_says_how_to_see_it(tmp_path, monkeypatch):
    from brainfuse._runtime.bugreport import report_internal_error

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("BRAINFUSE_STATE_DIR", str(blocked))  # logs/ cannot be made under it
    try:
        raise TypeError("unsupported operand")
    except TypeError as exc:
        error = report_internal_error(exc)
    assert error.log is None and "Traceback" in error.details
    assert str(error) == (
        "internal error: TypeError: unsupported operand; run it again with --debug for "
        "details, please report"
    )
    assert report_internal_error(error) is error  # reported once, not twice
