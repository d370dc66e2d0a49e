"""The batch's parts without a cluster: manifests, the ledger's resume rule, sizing, items."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from brainfuse.batch.cluster import local_size
from brainfuse.batch.item import ITEM_RECORD, BatchSettings, run_item, worker_fuser
from brainfuse.batch.ledger import Ledger
from brainfuse.batch.manifest import Item, input_fingerprint, read_manifest
from brainfuse.batch.runner import plan, remove_leftovers
from brainfuse.cli import main
from brainfuse.errors import BrainFuseError
from brainfuse.pipeline.fuse_files import FuseJob


def _png(path, seed, shape=(40, 40)):
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(path)
    return path


def test_csv_manifest_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "m").mkdir()
    manifest = tmp_path / "m" / "cohort.csv"
    manifest.write_text(
        "ID,CT,MRI,edits,transform\na1,ct.png,/abs/mri.png,,\n\n"
        "b-2,x/ct.nii.gz,mri.nii,e.nii.gz,t.tfm\n"
    )
    items = read_manifest(manifest)
    m = tmp_path / "m"
    assert items == [
        Item("a1", str(m / "ct.png"), "/abs/mri.png"),
        Item(
            "b-2", str(m / "x/ct.nii.gz"), str(m / "mri.nii"), str(m / "e.nii.gz"), str(m / "t.tfm")
        ),
    ]
    assert items[0].plain_images and not items[1].plain_images
    assert items[1].inputs[2:] == [str(m / "e.nii.gz"), str(m / "t.tfm")]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("id,ct\na,b\n", "no column mri"),
        ("id,ct,mri,transfrom\na,b,c,d\n", "unknown column 'transfrom'"),
        ("id,ct,mri\na,b,c\na,d,e\n", "appears twice"),
        ("id,ct,mri\n../up,b,c\n", "cannot name a folder"),
        ("id,ct,mri\na,b\n", "line 2: 2 values for 3 columns"),
        ("id,ct,mri\n", "lists no items"),
        ("", "empty"),
    ],
)
def test_a_bad_manifest_is_one_clear_error(tmp_path, text, said):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(BrainFuseError, match=said):
        read_manifest(manifest)


def test_folder_manifest_takes_one_file_or_the_dicom_folder(tmp_path):
    (tmp_path / "s1" / "ct").mkdir(parents=True)
    (tmp_path / "s1" / "mri").mkdir()
    (tmp_path / "s1" / "ct" / "ct.nii.gz").write_bytes(b"x")
    for k in range(2):
        (tmp_path / "s1" / "mri" / f"{k}.dcm").write_bytes(b"x")
    (tmp_path / "s1" / "edits.nii.gz").write_bytes(b"x")
    (tmp_path / "s1" / "transform.tfm").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    [item] = read_manifest(tmp_path)
    assert item == Item(
        "s1",
        str(tmp_path / "s1/ct/ct.nii.gz"),
        str(tmp_path / "s1/mri"),
        str(tmp_path / "s1/edits.nii.gz"),
        str(tmp_path / "s1/transform.tfm"),
    )


def test_fingerprint_follows_the_files_of_a_folder(tmp_path):
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "1.dcm").write_bytes(b"a")
    item = Item("x", str(tmp_path / "series"), str(_png(tmp_path / "m.png", 0)))
    first = input_fingerprint(item)
    assert input_fingerprint(item) == first
    (tmp_path / "series" / "2.dcm").write_bytes(b"b")
    assert input_fingerprint(item) != first


def test_ledger_redoes_what_changed_and_skips_what_is_done(tmp_path):
    item = Item("a", "ct.png", "mri.png")
    settings = BatchSettings(FuseJob())
    ledger = Ledger(tmp_path)
    assert ledger.redo_reason(item, "S", "M", "I") == "new"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "fused.png").write_bytes(b"png")
    done = {"id": "a", "status": "done", "outputs": {"fused.png": "00"}, "model_sha256": "M"}
    ledger.record(done, "S", "I")
    ledger.save()
    again = Ledger(tmp_path)  # read back from batch.csv
    assert again.redo_reason(item, "S", "M", "I") is None
    assert again.redo_reason(item, settings.text(), "M", "I") == "settings changed"
    assert again.redo_reason(item, "S", "M2", "I") == "model changed"
    assert again.redo_reason(item, "S", "M", "I2") == "inputs changed"
    (tmp_path / "a" / "fused.png").unlink()
    assert again.redo_reason(item, "S", "M", "I") == "outputs missing"
    again.record({"id": "a", "status": "failed", "error": "bad"}, "S", "I")
    assert again.redo_reason(item, "S", "M", "I") == "failed before"


def test_settings_ignore_the_device_and_threads():
    one = BatchSettings(FuseJob(threads=1, device="cpu"))
    two = BatchSettings(FuseJob(threads=4, device="auto"))
    assert one.text() == two.text()
    assert BatchSettings(FuseJob(rule="sesf")).text() != one.text()


def test_output_names_follow_the_inputs_or_the_format():
    flat, volume = Item("a", "c.png", "m.png"), Item("b", "c.nii.gz", "m")
    plain = BatchSettings(FuseJob(), decision_map=True, save_transform=True)
    assert plain.output_names(flat) == ("fused.png", "decision_map.png", "transform.tfm")
    assert plain.output_names(volume) == ("fused.nii.gz", "decision_map.nii.gz", "transform.tfm")
    assert BatchSettings(FuseJob(format="dicom")).output_names(volume) == ("fused", None, None)


def _shape(size):
    return size.workers, size.threads


def test_local_size_uses_the_cores_once_and_fits_memory():
    gib = 1 << 30
    assert _shape(local_size(cores=2, available=64 * gib, memory=3 * gib)) == (2, 1)
    assert _shape(local_size(cores=16, available=7 * gib, memory=3 * gib)) == (2, 8)
    assert _shape(local_size(cores=2, available=gib, memory=3 * gib)) == (1, 2)
    assert _shape(local_size(3, None, cores=8, available=64 * gib)) == (3, 2)
    assert _shape(local_size(None, 4, cores=8, available=64 * gib)) == (8, 4)


def test_a_worker_loads_its_model_once():
    job = FuseJob(device="cpu", threads=1)
    assert worker_fuser(job) is worker_fuser(FuseJob(device="cpu", threads=1, ct="other"))
    assert worker_fuser(job) is not worker_fuser(FuseJob(device="cpu", threads=1, rule="sesf"))


def test_item_writes_its_folder_whole_and_records_it(tmp_path):
    item = Item("one", str(_png(tmp_path / "ct.png", 0)), str(_png(tmp_path / "mr.png", 1)))
    out = tmp_path / "out"
    out.mkdir()
    settings = BatchSettings(FuseJob(device="cpu", threads=1), decision_map=True)
    row = run_item(item, settings, str(out))
    assert row["status"] == "done", row["error"]
    assert sorted(row["outputs"]) == ["decision_map.png", "fused.png"]
    record = json.loads((out / "one" / ITEM_RECORD).read_text())
    assert record["outputs"] == row["outputs"] and record["inputs"] == item.inputs
    again = run_item(item, settings, str(out))  # a redo replaces the folder it wrote
    assert again["status"] == "done" and again["outputs"] == row["outputs"]
    assert sorted(p.name for p in out.iterdir()) == ["one"]
    _png(tmp_path / "mr.png", 1, (40, 30))  # now the pair cannot be fused
    failed = run_item(item, settings, str(out))
    assert failed["status"] == "failed" and "different sizes" in failed["error"]
    assert sorted(p.name for p in out.iterdir()) == ["one"]  # the previous folder, whole
    assert json.loads((out / "one" / ITEM_RECORD).read_text()) == record


def test_item_never_replaces_a_folder_it_did_not_write(tmp_path):
    item = Item("one", str(_png(tmp_path / "ct.png", 0)), str(_png(tmp_path / "mr.png", 1)))
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "notes.txt").write_text("mine")
    row = run_item(item, BatchSettings(FuseJob(device="cpu", threads=1)), str(tmp_path))
    assert row["status"] == "failed" and "not written by brainfuse batch" in row["error"]
    assert (tmp_path / "one" / "notes.txt").read_text() == "mine"


def test_a_failed_item_is_a_record_not_an_exception(tmp_path):
    item = Item(
        "bad", str(_png(tmp_path / "ct.png", 0)), str(_png(tmp_path / "mr.png", 1, (40, 30)))
    )
    row = run_item(item, BatchSettings(FuseJob(device="cpu", threads=1)), str(tmp_path))
    assert row["status"] == "failed" and "different sizes" in row["error"]
    assert not (tmp_path / "bad").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct.png", "mr.png"]


def test_leftovers_of_known_items_only_are_removed(tmp_path):
    for name in (".a.0123456789ab.part", ".a.42.99.old", ".b.0123456789ab.part", "a", ".keep"):
        (tmp_path / name).mkdir()
    assert remove_leftovers(tmp_path, ["a"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.0123456789ab.part", ".keep", "a"]


def test_dry_run_and_bad_manifest_on_the_command_line(tmp_path, capsys):
    ct, mr = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,ct,mri\nx,{ct},{mr}\n")
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    assert "fuse x: new" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
    manifest.write_text("id,ct\nx,y\n")
    assert main(["batch", str(manifest), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainfuse: error:") and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_plan_gives_every_item_its_reason(tmp_path):
    items = [Item("a", str(tmp_path / "ct.png"), str(tmp_path / "mr.png"))]
    [planned] = plan(items, BatchSettings(FuseJob()), Ledger(tmp_path))
    assert planned.reason == "new" and len(planned.inputs) == 64
