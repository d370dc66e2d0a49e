"""PACS nodes in the config folder, command-line checks, and the all-or-nothing retrieve logic
(with a scripted client standing in for a PACS that announces more than it sends)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from brainfuse.cli import main
from brainfuse.errors import BrainFuseError, PacsError
from brainfuse.pacs import Query, SeriesInfo, StudyInfo, get, get_node, load_nodes
from brainfuse.pacs.files import collect_files, instance_path, read_send_header
from tests.dicom_factory import synthetic_mr


def test_add_list_remove_nodes_in_the_config_folder(pacs_config, capsys):
    assert main(["pacs", "list"]) == 0
    assert "no PACS node configured" in capsys.readouterr().out
    assert main(["pacs", "add", "main", "--host", "pacs.example", "--port", "104",
                 "--called-aet", "ARCHIVE"]) == 0  # fmt: skip
    assert main(["pacs", "add", "web", "--url", "https://pacs.example/dicom-web",
                 "--timeout", "4"]) == 0  # fmt: skip
    assert main(["pacs", "add", "mv", "--host", "10.0.0.5", "--port", "11112",
                 "--called-aet", "ARCH2", "--aet", "FUSION1", "--retrieve", "move",
                 "--move-port", "11113"]) == 0  # fmt: skip
    saved = json.loads((pacs_config / "nodes.json").read_text())
    assert [n["name"] for n in saved["nodes"]] == ["main", "web", "mv"]
    capsys.readouterr()
    assert main(["pacs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("main: DIMSE pacs.example:104 called AE ARCHIVE, our AE BRAINFUSE")
    assert lines[0].endswith("[default]")
    assert "DICOMweb https://pacs.example/dicom-web (timeout 4 s)" in lines[1]
    assert "our AE FUSION1, C-MOVE to port 11113" in lines[2]
    assert get_node().name == "main" and get_node("mv").move_port == 11113
    assert main(["pacs", "remove", "main"]) == 0
    assert [n.name for n in load_nodes()] == ["web", "mv"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["add", "x", "--host", "h", "--port", "104"], "invalid called AE title"),
        (["add", "x", "--host", "h", "--called-aet", "A"], "give --host and --port"),
        (["add", "x", "--host", "h", "--port", "1", "--called-aet", "A" * 17], "1-16 characters"),
        (["add", "x", "--url", "ftp://x"], "must start with http"),
        (["add", "x", "--url", "http://x", "--host", "h"], "either --url"),
        (
            ["add", "x", "--host", "h", "--port", "1", "--called-aet", "A", "--retrieve", "move"],
            "needs --move-port",
        ),
        (["add", "bad name", "--url", "http://x"], "invalid node name"),
        (["add", "x", "--url", "http://x", "--timeout", "0"], "timeout must be positive"),
        (["echo"], "no PACS node configured"),
        (["remove", "nobody"], "no PACS node named nobody"),
    ],
)
def test_bad_node_settings_are_one_line(args, words, capsys):
    assert main(["pacs", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("brainfuse: error: ") and words in err[0]


def test_unknown_node_and_duplicate_name(capsys):
    assert main(["pacs", "add", "a", "--url", "http://127.0.0.1:9/dicom-web"]) == 0
    assert main(["pacs", "add", "a", "--url", "http://127.0.0.1:9/x"]) == 2
    assert "exists already (use --replace)" in capsys.readouterr().err
    assert main(["pacs", "add", "a", "--url", "http://127.0.0.1:9/x", "--replace"]) == 0
    assert get_node("a").url == "http://127.0.0.1:9/x"
    assert main(["pacs", "echo", "--node", "b"]) == 2
    assert "no PACS node named b (known: a)" in capsys.readouterr().err


@pytest.mark.parametrize("date", ["2024", "20240101-2024", "2024-01-01"])
def test_bad_study_date_is_refused_before_any_network(date, capsys):
    assert main(["pacs", "add", "a", "--url", "http://127.0.0.1:9/dicom-web"]) == 0
    assert main(["pacs", "find", "--study-date", date]) == 2
    assert "invalid study date" in capsys.readouterr().err


def test_query_accepts_dates_and_ranges():
    for date in ("20240101", "20240101-20240131", "-20240131", "20240101-"):
        assert Query(study_date=date).validated().study_date == date


def test_received_files_cannot_name_paths(tmp_path):
    assert instance_path(tmp_path, "1.2.3", "1.2.3.4") == tmp_path / "1.2.3" / "1.2.3.4.dcm"
    for bad in ("../../etc", "1.2/3", "", "1..2"):
        with pytest.raises(ValueError):
            instance_path(tmp_path, "1.2.3", bad)


def test_files_to_send_from_folders(tmp_path):
    paths = synthetic_mr(tmp_path / "a" / "b", n_slices=3)
    (tmp_path / "a" / ".hidden").write_text("x")
    (tmp_path / "a" / "DICOMDIR").write_text("x")
    assert collect_files([tmp_path / "a"]) == paths
    sop_class, syntax, _uid = read_send_header(paths[0])
    assert sop_class == "1.2.840.10008.5.1.4.1.1.4" and syntax == "1.2.840.10008.1.2.1"
    assert read_send_header(tmp_path / "a" / "DICOMDIR") == "not a DICOM file"
    with pytest.raises(PacsError, match="no such file"):
        collect_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PacsError, match="nothing to send"):
        collect_files([tmp_path / "empty"])


class ScriptedPacs:
    """A PACS that lists ``listed`` images per series and sends ``sends`` of them."""

    def __init__(self, listed: list[int], sends: list[int]):
        self.listed, self.sends = listed, sends

    def find(self, query: Query) -> list[StudyInfo]:
        series = tuple(
            SeriesInfo(f"1.2.{i}", "MR", str(i + 1), f"s{i}", n) for i, n in enumerate(self.listed)
        )
        return [StudyInfo("1.2.9", series=series)] if query.study_uid == "1.2.9" else []

    def retrieve(self, study_uid, series_uids, folder: Path, *, expected=0, progress=None,
                 cancel: threading.Event | None = None) -> int:  # fmt: skip
        done = 0
        for uid in series_uids:
            for k in range(self.sends[int(uid.rsplit(".", 1)[1])]):
                path = instance_path(folder, uid, f"{uid}.{k}")
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(b"DICM")
                done += 1
        return done


def test_study_layout_one_folder_per_series(tmp_path):
    out = tmp_path / "study"
    result = get(ScriptedPacs([2, 3], [2, 3]), "1.2.9", out)
    assert result.n_files == 5
    assert sorted(p.name for p in out.iterdir()) == ["1_MR_s0", "2_MR_s1"]
    assert len(list(result.series["1.2.1"].iterdir())) == 3


def test_one_series_lands_directly_in_out_and_an_empty_out_is_filled(tmp_path):
    out = tmp_path / "series"
    out.mkdir()
    with pytest.raises(PacsError, match="sent 1 of the 3"):
        get(ScriptedPacs([2, 3], [2, 1]), "1.2.9", out, series_uid="1.2.1")
    assert out.is_dir(), "the user's empty folder is still there after a failure"
    result = get(ScriptedPacs([2, 3], [2, 3]), "1.2.9", out, series_uid="1.2.1")
    assert sorted(p.name for p in out.iterdir()) == [f"1.2.1.{k}.dcm" for k in range(3)]
    assert result.series == {"1.2.1": out.resolve()}


@pytest.mark.parametrize(
    "listed, sends, series, words",
    [
        ([4, 4], [4, 2], None, "sent 6 of the 8 images"),
        ([0], [0], None, "has no images on the PACS"),
        ([], [], None, "has no images on the PACS"),
        ([3], [3], "1.2.7", "is not in study"),
        ([-1], [0], None, "sent no images"),
    ],
)
def test_incomplete_retrieve_leaves_nothing(listed, sends, series, words, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(PacsError, match=words):
        get(ScriptedPacs(listed, sends), "1.2.9", out, series_uid=series)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.dcm").write_bytes(b"x")
    with pytest.raises(BrainFuseError, match="already exists"):
        get(ScriptedPacs([1], [1]), "1.2.9", out)
    assert (out / "keep.dcm").read_bytes() == b"x"
