"""Native decoder output (:func:`brainfuse._runtime.quiet.native_stderr_to_log`).

fd 2 belongs to the whole process: it is redirected only in the command's quiet run and
only in the main thread, so a decoder running in a worker (the window) cannot swallow what
another thread writes meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading

from brainfuse._runtime.quiet import library_output, native_stderr_to_log


def _fd2() -> tuple[int, int]:
    st = os.fstat(2)
    return st.st_dev, st.st_ino


def test_the_quiet_command_logs_what_native_code_writes(capfd, caplog):
    with (
        caplog.at_level(logging.DEBUG, logger="brainfuse.native"),
        library_output(False),
        native_stderr_to_log(),
    ):
        os.write(2, b"openjpeg: corrupt codestream\n")  # as a C decoder writes
    assert "corrupt codestream" not in capfd.readouterr().err
    assert any("corrupt codestream" in r.getMessage() for r in caplog.records)


def test_a_worker_never_redirects_the_process_stderr(capfd):
    before = _fd2()
    inside = threading.Event()
    release = threading.Event()
    seen: list[tuple[int, int]] = []

    def decode() -> None:
        with native_stderr_to_log():
            inside.set()
            release.wait(10)

    with library_output(False):  # even while the command's quiet block is open
        worker = threading.Thread(target=decode)
        worker.start()
        assert inside.wait(10)
        seen.append(_fd2())  # the decoder is inside its block now
        os.write(2, b"an error of the main thread\n")
        release.set()
        worker.join(10)
    assert seen == [before]
    assert "an error of the main thread" in capfd.readouterr().err


def test_outside_the_quiet_command_nothing_is_redirected(capfd):
    with native_stderr_to_log():
        os.write(2, b"shown as written\n")
    assert "shown as written" in capfd.readouterr().err
