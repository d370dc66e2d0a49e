"""Atomic writes: no partial file, previous output intact, sources never written."""

from __future__ import annotations

import errno
import os

import pytest

from brainfuse.errors import ExportError
from brainfuse.export import atomic, write_bytes_atomic, write_folder_atomic


def fail_half_way(monkeypatch, after_calls: int = 0):
    """Make the chunk writer write half its data, then fail as a full disk does."""
    real = atomic._write_all
    calls = {"n": 0}

    def write(fd, data):
        calls["n"] += 1
        if calls["n"] > after_calls:
            os.write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(atomic, "_write_all", write)


def test_failed_write_leaves_no_partial_file_and_keeps_previous(tmp_path, monkeypatch):
    target = tmp_path / "fused.png"
    write_bytes_atomic(target, b"previous output")
    fail_half_way(monkeypatch)
    with pytest.raises(ExportError, match="disk is full"):
        write_bytes_atomic(target, b"x" * 10_000, overwrite=True)
    assert target.read_bytes() == b"previous output"
    assert [p.name for p in tmp_path.iterdir()] == ["fused.png"]


def test_failed_folder_write_keeps_previous_folder(tmp_path, monkeypatch):
    target = tmp_path / "series"
    write_folder_atomic(target, {"0001.dcm": b"old 1", "0002.dcm": b"old 2"})
    fail_half_way(monkeypatch, after_calls=1)  # the second file fails half-way
    with pytest.raises(ExportError, match="disk is full"):
        write_folder_atomic(
            target,
            {"0001.dcm": b"new", "0002.dcm": b"n" * 5000},
            overwrite=True,
            replaceable=(".dcm",),
        )
    assert {p.name: p.read_bytes() for p in target.iterdir()} == {
        "0001.dcm": b"old 1",
        "0002.dcm": b"old 2",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["series"]


def test_exception_in_a_generator_cleans_up(tmp_path):
    def files():
        yield "0001.png", b"ok"
        raise RuntimeError("encoder crashed")

    with pytest.raises(RuntimeError):
        write_folder_atomic(tmp_path / "out", files())
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    target = tmp_path / "a.nii"
    write_bytes_atomic(target, b"1")
    with pytest.raises(ExportError, match=r"already exists.*--overwrite"):
        write_bytes_atomic(target, b"2")
    assert target.read_bytes() == b"1"
    write_bytes_atomic(target, b"2", overwrite=True)
    assert target.read_bytes() == b"2"
    folder = tmp_path / "f"
    write_folder_atomic(folder, {"1.png": b"a", "2.png": b"b"})
    write_folder_atomic(folder, {"1.png": b"c"}, overwrite=True, replaceable=(".png",))
    assert [p.name for p in folder.iterdir()] == ["1.png"]  # replaced as a whole
    with pytest.raises(ExportError, match="is a folder"):
        write_bytes_atomic(folder, b"x", overwrite=True)


def test_source_is_never_the_output(tmp_path):
    source = tmp_path / "scan.dcm"
    source.write_bytes(b"source")
    link = tmp_path / "link.dcm"
    link.symlink_to(source)
    for target in (source, link, tmp_path / "sub" / ".." / "scan.dcm"):
        with pytest.raises(ExportError, match="overwrite the source"):
            write_bytes_atomic(target, b"x", overwrite=True, sources=[source])
    with pytest.raises(ExportError, match="overwrite the source"):  # folder holding a source
        write_folder_atomic(tmp_path, {"1.dcm": b"x"}, overwrite=True, sources=[source])
    assert source.read_bytes() == b"source"


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        write_bytes_atomic(tmp_path / "nope" / "a.png", b"x")


def test_overwrite_never_replaces_a_folder_of_other_things(tmp_path):
    folder = tmp_path / "patient_documents"
    (folder / "sub").mkdir(parents=True)
    (folder / "0001.dcm").write_bytes(b"old")
    (folder / "report.txt").write_bytes(b"keep me")
    with pytest.raises(ExportError, match=r"Will not replace.*report\.txt"):
        write_folder_atomic(folder, {"0001.dcm": b"new"}, overwrite=True, replaceable=(".dcm",))
    assert (folder / "report.txt").read_bytes() == b"keep me" and (folder / "sub").is_dir()
    (folder / "sub" / "0001.dcm").write_bytes(b"old")
    with pytest.raises(ExportError, match="Will not replace"):  # nothing replaceable by default
        write_folder_atomic(folder / "sub", {"0001.dcm": b""}, overwrite=True)
    assert (folder / "sub" / "0001.dcm").read_bytes() == b"old"


def test_outputs_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        f = write_bytes_atomic(tmp_path / "a.png", b"x")
        folder_files = write_folder_atomic(tmp_path / "s", {"1.dcm": b"y"})
    finally:
        os.umask(old)
    assert f.stat().st_mode & 0o777 == 0o644
    assert folder_files[0].stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o755
