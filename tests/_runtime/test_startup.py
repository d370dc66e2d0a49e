from brainfuse._runtime.startup import ENV, startup_mark


def test_mark_is_written_once_when_asked(monkeypatch, capsys):
    monkeypatch.setenv(ENV, "1")
    mark = startup_mark("window-shown")
    mark()
    mark()  # a second fusion is not the start-up's
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    prefix, name, stamp = lines[0].split()
    assert (prefix, name) == ("brainfuse-startup:", "window-shown")
    assert float(stamp) > 1.6e9  # seconds since the epoch, comparable with the launcher's clock


def test_nothing_is_written_without_the_variable(monkeypatch, capsys):
    monkeypatch.delenv(ENV, raising=False)
    startup_mark("first-fusion")()
    assert capsys.readouterr().err == ""
