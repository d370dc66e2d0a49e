"""The command line's progress bar (brainfuse._runtime.progress) with a fake clock."""

from __future__ import annotations

import io
import threading

from brainfuse._runtime.progress import TextProgress


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_short_job_shows_nothing_and_long_job_shows_rate_and_eta():
    clock, out = _Clock(), io.StringIO()
    bar = TextProgress(300, "slices", out, clock=clock)
    clock.t += 0.5
    bar(0.5)  # under a second: nothing yet
    assert out.getvalue() == ""
    clock.t += 1.5  # 2 s elapsed, 150 of 300 slices done
    bar(0.5)
    line = out.getvalue().strip()
    assert "150/300 slices" in line and "75.0 slices/s" in line
    assert "0:02 elapsed, 0:02 left" in line


def test_log_stream_gets_one_line_per_tenth_and_the_last():
    clock, out = _Clock(), io.StringIO()
    bar = TextProgress(100, "pairs", out, delay=0, clock=clock)
    for k in range(1, 101):
        clock.t += 0.1
        bar(k / 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("[" + "#" * 30 + "] 100/100 pairs")
    bar(1.0)  # a call after the end adds nothing
    assert len(out.getvalue().splitlines()) == 10


def test_terminal_redraws_in_place_and_close_ends_the_line():
    clock, out = _Clock(), _Tty()
    bar = TextProgress(10, "steps", out, delay=0, clock=clock)
    clock.t += 1.0
    bar(0.3, "loss 0.5000")
    clock.t += 1.0
    bar(0.6, "loss 0.2500")
    text = out.getvalue()
    assert text.count("\r") == 2 and "\n" not in text and text.endswith("loss 0.2500")
    bar.close()
    assert out.getvalue().endswith("\n")


def test_job_progress_moves_through_its_stages():
    from brainfuse._runtime.progress import JobProgress

    out = io.StringIO()
    job = JobProgress({"loading": 1.0, "fusing": 3.0}, out, delay=0)
    with job.stage("loading"):
        assert job.fraction == 0.0
    assert job.fraction == 0.25 and "loading" in out.getvalue()
    with job.stage("fusing"):
        job(0.5, "2/4 slices")
        assert job.fraction == 0.625 and "fusing: 2/4 slices" in job.line()
    job.finish()
    assert " 62%" in out.getvalue() and "100%" in out.getvalue()


def test_the_timer_redraws_while_a_step_reports_nothing(monkeypatch):
    """A file being read reports nothing: only the stage's timer can move the elapsed time."""
    from brainfuse._runtime import progress

    monkeypatch.setattr(progress, "REDRAW_S", 0.01)  # the timer's period, seconds
    clock, out = _Clock(), _Tty()
    job = progress.JobProgress({"loading": 1.0, "fusing": 3.0}, out, delay=0, clock=clock)
    stage = job.stage("loading")
    with stage:
        drawn = out.getvalue()
        assert "0:00 elapsed" in drawn and "0:07 elapsed" not in drawn
        clock.t += 7.0  # seven seconds into the read, and nobody calls the bar
        for _ in range(500):  # the timer thread draws within a few of its 10 ms periods
            if "0:07 elapsed" in out.getvalue():
                break
            threading.Event().wait(0.01)
        assert "0:07 elapsed" in out.getvalue()
        assert job.fraction == 0.0  # the timer redraws; it does not make progress up
    assert not stage.thread.is_alive()  # the timer ended with its stage


def test_a_job_on_a_terminal_starts_at_zero_with_loading():
    """The bar's first line is the loading stage at 0 %, not a later stage part-way through."""
    from brainfuse._runtime.progress import JobProgress

    clock, out = _Clock(), _Tty()
    job = JobProgress({"loading CT": 1.0, "fusing": 3.0}, out, clock=clock)
    with job.stage("loading CT"):
        pass
    first = out.getvalue().split("\r")[1]
    assert "  0%" in first and "loading CT" in first
