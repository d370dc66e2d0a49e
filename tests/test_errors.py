"""The error boundary (:func:`brainfuse.errors.as_user_error`) and quiet library output."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest

from brainfuse.errors import (
    BrainFuseError,
    InputTooLargeError,
    UnreadableInputError,
    as_user_error,
)
from tests.hostile.factory import CASES

REPO = Path(__file__).resolve().parents[1]


def _case(case_id: str):
    return next(c for c in CASES if c.id == case_id)


def test_a_rust_panic_becomes_a_user_error_naming_the_file(tmp_path):
    path = _case("rle/random-seed1").write(tmp_path, np.random.default_rng(0))
    ds = pydicom.dcmread(path)
    with pytest.raises(BaseException) as caught:  # the panic is no Exception
        ds.pixel_array  # noqa: B018
    assert not isinstance(caught.value, Exception)  # why `except Exception` misses it
    error = as_user_error(caught.value, path=path)
    assert isinstance(error, UnreadableInputError)
    assert str(path) in str(error) and "decoder failed on corrupt data" in str(error)
    assert error.__cause__ is caught.value


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (MemoryError(), InputTooLargeError, "not enough memory"),
        (zlib.error("Error -5 while decompressing data"), UnreadableInputError, "cut short"),
        (PermissionError(13, "Permission denied"), UnreadableInputError, "permission denied"),
        (np.linalg.LinAlgError("SVD did not converge"), UnreadableInputError, "LinAlgError"),
        (ValueError("cannot reshape"), UnreadableInputError, "ValueError: cannot reshape"),
    ],
)
def test_library_failures_become_one_clear_sentence(exc, kind, words):
    error = as_user_error(exc, path="scan.dcm")
    assert isinstance(error, kind) and isinstance(error, BrainFuseError)
    assert str(error).startswith("Could not read scan.dcm: ") and words in str(error)
    assert "\n" not in str(error)


def test_own_errors_pass_unchanged_and_interrupts_are_never_converted():
    own = UnreadableInputError("already clear")
    assert as_user_error(own) is own
    for exc in (KeyboardInterrupt(), SystemExit(3), GeneratorExit()):
        with pytest.raises(type(exc)):
            as_user_error(exc)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "app"), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "brainfuse", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_library_chatter_only_with_debug(tmp_path):
    noisy = _case("warnings/invalid-values").write(tmp_path, np.random.default_rng(0))
    panic = _case("rle/random-seed2").write(tmp_path / "p", np.random.default_rng(0))
    quiet = _cli("info", str(noisy))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    failed = _cli("info", str(panic))
    assert failed.returncode == 2
    assert failed.stderr.count("\n") == 1 and "panicked" not in failed.stderr, failed.stderr
    loud = _cli("--debug", "info", str(noisy))
    assert loud.returncode == 0
    assert "Unknown encoding 'ISO_IR 999'" in loud.stderr, loud.stderr
    loud_panic = _cli("--debug", "info", str(panic))
    assert "Traceback" in loud_panic.stderr  # --debug shows where it failed
