"""brainfuse.bench.evaluation: pair discovery, outputs, cancellation, on pairs the tests make."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi
from skimage import data

from brainfuse.bench.evaluation import (
    CSV_COLUMNS,
    discover_pairs,
    evaluate,
    load_pair,
)
from brainfuse.bench.evaluation_report import read_metrics_csv
from brainfuse.errors import CancelledError, GeometryMismatchError, UnreadableInputError
from brainfuse.metrics import fusion_metrics

BASELINES = ("average", "laplacian", "pixel-sf")


def _phantom_pair(size: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """A "CT-like" (bright rim) and "MR-like" (inverted inside the head) uint8 pair."""
    ph = data.shepp_logan_phantom()
    ph = ndi.zoom(np.roll(ph, shift, axis=1), size / ph.shape[0], order=1)
    head = ndi.binary_fill_holes(ph > 0.05)
    ct = np.round(255 * np.clip(ph, 0, 1)).astype(np.uint8)
    mr = np.where(head, np.round(230 * (1 - np.clip(ph, 0, 1))) + 10, 0).astype(np.uint8)
    return ct, mr


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pairs"
    folder.mkdir()
    for pid, shift in (("3", 0), ("12", 5), ("7", -4)):
        ct, mr = _phantom_pair(64, shift)
        Image.fromarray(ct).save(folder / f"{pid}_ct.png")
        Image.fromarray(mr).save(folder / f"{pid}_mri.png")
    # A colour functional pair, a lone image and an unrelated file are handled too.
    ct, mr = _phantom_pair(64, 2)
    pet = np.stack([ct, ct // 2, 255 - ct], axis=-1)
    Image.fromarray(pet).save(folder / "p1_pet.png")
    Image.fromarray(mr).save(folder / "p1_mri.png")
    Image.fromarray(ct).save(folder / "99_ct.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_discover_pairs_sorts_ids_and_skips_lone_images(pairs_dir):
    pairs = discover_pairs(pairs_dir)
    assert [p.id for p in pairs] == ["3", "7", "12", "p1"]
    assert [(p.modality1, p.modality2) for p in pairs][-1] == ("pet", "mri")
    assert pairs[0].path1.name == "3_ct.png" and pairs[0].path2.name == "3_mri.png"


def test_discover_pairs_reports_empty_and_missing_folders(tmp_path):
    with pytest.raises(UnreadableInputError, match="no image pairs"):
        discover_pairs(tmp_path)
    with pytest.raises(UnreadableInputError, match="not a folder"):
        discover_pairs(tmp_path / "missing")


def test_load_pair_keeps_colour_and_checks_sizes(pairs_dir, tmp_path):
    pet_pair = discover_pairs(pairs_dir)[-1]
    im1, im2 = load_pair(pet_pair)
    assert im1.shape == (64, 64, 3) and im2.shape == (64, 64) and im1.dtype == np.uint8
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(pairs_dir / "5_ct.png")
    Image.fromarray(np.zeros((32, 40), np.uint8)).save(pairs_dir / "5_mri.png")
    bad = next(p for p in discover_pairs(pairs_dir) if p.id == "5")
    with pytest.raises(GeometryMismatchError, match=r"5_ct\.png"):
        load_pair(bad)
    (pairs_dir / "6_ct.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(pairs_dir / "6_mri.png")
    broken = next(p for p in discover_pairs(pairs_dir) if p.id == "6")
    with pytest.raises(UnreadableInputError, match=r"6_ct\.png"):
        load_pair(broken)


def test_evaluate_writes_every_output(pairs_dir, tmp_path):
    out = tmp_path / "out"
    seen: list[float] = []
    result = evaluate(pairs_dir, out, methods=BASELINES, grid=3, progress=seen.append)
    assert result.pairs_done == 4 and not result.cancelled
    assert seen[-1] == pytest.approx(1.0) and len(seen) == 4
    for method in BASELINES:
        for pid in ("3", "7", "12", "p1"):
            fused = np.asarray(Image.open(out / method / f"{pid}.png"))
            assert fused.shape == ((64, 64, 3) if pid == "p1" else (64, 64))
        assert (out / method / "3_dm.png").exists() == (method == "pixel-sf")
    rows = read_metrics_csv(out / "metrics.csv")
    assert len(rows) == 4 * 3 and tuple(rows[0]) == CSV_COLUMNS
    # The CSV holds the scores of the PNGs that were written.
    row = next(r for r in rows if r["pair"] == "7" and r["method"] == "laplacian")
    fused = np.asarray(Image.open(out / "laplacian" / "7.png"))
    a, b = (np.asarray(Image.open(pairs_dir / f"7_{m}.png")) for m in ("ct", "mri"))
    expected = fusion_metrics(fused, a, b)
    assert row["qabf"] == pytest.approx(expected["qabf"], rel=1e-5)
    assert row["head_ssim"] == pytest.approx(
        fusion_metrics(fused, a, b, mask="head")["ssim"], rel=1e-5
    )
    # Anatomy retention only where image 1 is a CT (8-bit: bone = CT >= 200).
    as_ct = fusion_metrics(fused, a, b, ct_scale="8-bit")
    assert row["bone_kept"] == pytest.approx(as_ct["bone_kept"], rel=1e-5)
    assert 0.5 < row["bone_kept"] <= 1.0
    pet_row = next(r for r in rows if r["pair"] == "p1" and r["method"] == "laplacian")
    assert np.isnan(pet_row["bone_kept"]) and np.isnan(pet_row["brain_kept"])
    assert "head_bone_kept" not in row  # they have their own masks
    # average is exactly (A + B) / 2 on the 0-255 scale.
    avg = np.asarray(Image.open(out / "average" / "7.png")).astype(int)
    assert np.abs(avg - (a.astype(int) + b) / 2).max() <= 0.5
    summary = (out / "summary.md").read_text()
    assert "4 of 4 pairs" in summary and "## Head only" in summary
    assert summary.count("**") >= 2 * 10  # one bold best per metric column, two tables
    assert "bone kept | brain kept |" in summary
    grid = Image.open(out / "grid.png")
    assert grid.size[0] > 3 * 100 and grid.size[1] > 5 * 100  # 3 columns, 6 rows


def test_evaluate_leaves_finished_rows_readable_when_cancelled(pairs_dir, tmp_path):
    out = tmp_path / "out"
    cancel = threading.Event()
    with pytest.raises(CancelledError):
        evaluate(
            pairs_dir,
            out,
            methods=("average",),
            grid=0,
            progress=lambda f: cancel.set(),
            cancel=cancel,
        )
    rows = read_metrics_csv(out / "metrics.csv")
    assert [r["pair"] for r in rows] == ["3"]
    assert "1 of 4 pairs (interrupted)" in (out / "summary.md").read_text()
    assert not (out / "grid.png").exists()


def test_evaluate_refuses_the_pairs_folder_as_output(pairs_dir):
    from brainfuse.errors import ExportError

    with pytest.raises(ExportError, match="pairs folder"):
        evaluate(pairs_dir, pairs_dir, methods=("average",))


def test_evaluate_with_a_custom_fuser_factory(pairs_dir, tmp_path):
    """Any object with ``fuse`` (as Fuser) can be evaluated; it is created once per method."""
    from brainfuse.fusion.baselines import average

    made: list[str] = []

    class Result:
        def __init__(self, fused):
            self.fused, self.decision_map = fused, np.zeros(fused.shape[:2], np.uint8)

    class MaxFuser:
        device = "test"

        def fuse(self, one, two, *, bone=None):
            # a CT pair comes with its bone prior (8-bit: >= 200), other pairs without
            assert (bone is None) == (one.ndim == 3) and (bone is None or bone.dtype == bool)
            grey = one if one.ndim == 2 else one.mean(axis=-1)
            return Result(np.maximum(grey, two) if one.ndim == 2 else average(grey, two)[0])

    def factory(method):
        made.append(method)
        return MaxFuser()

    result = evaluate(
        pairs_dir, tmp_path / "o", methods=("cnn",), limit=2, grid=0, make_fuser=factory
    )
    assert made == ["cnn"] and result.pairs_done == 2
    assert (tmp_path / "o" / "cnn" / "3_dm.png").exists()


def test_a_blank_pair_and_identical_sources_do_not_break_the_summary(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    blank = np.zeros((32, 32), np.uint8)
    Image.fromarray(blank).save(folder / "1_mr1.png")
    Image.fromarray(blank).save(folder / "1_mr2.png")
    cam = data.camera()[::16, ::16]
    Image.fromarray(cam).save(folder / "2_mr1.png")
    Image.fromarray(cam).save(folder / "2_mr2.png")
    result = evaluate(folder, tmp_path / "out", methods=("average", "laplacian"), grid=0)
    rows = read_metrics_csv(tmp_path / "out" / "metrics.csv")
    blank_row = next(r for r in rows if r["pair"] == "1")
    assert np.isnan(blank_row["head_ssim"]) and blank_row["psnr"] == np.inf
    assert result.pairs_done == 2
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| average | **1.0000 ± 0.0000** | **inf** |" in summary  # whole slice
    assert "| nan" not in summary and "nan ±" not in summary  # head: the blank pair skipped


def test_the_average_baseline_is_the_integer_average(pairs_dir, tmp_path):
    """Odd sums round half to even as ``np.round`` does on integers, not by float luck."""
    result = evaluate(pairs_dir, tmp_path / "out", methods=["average"], grid=0)
    ties = 0
    for pair in discover_pairs(pairs_dir):
        a, b = (x.astype(np.int64) for x in load_pair(pair))
        if a.ndim == 3:  # colour: the luminance is fused
            continue
        fused = np.asarray(Image.open(tmp_path / "out" / "average" / f"{pair.id}.png"))
        np.testing.assert_array_equal(fused, np.round((a + b) / 2))
        ties += int(((a + b) % 2 == 1).sum())
    assert ties > 1000  # the pairs do exercise the half-way case
    assert result.pairs_done == 4


@pytest.mark.shared
@pytest.mark.slow
def test_average_baseline_mi_matches_the_reference_convention(shared_data, tmp_path):
    """MI of the integer average on the 131 development CT-MRI pairs: 3.561 bits."""
    result = evaluate(
        shared_data / "pairs" / "ct-mri", tmp_path / "out", methods=["average"], grid=0
    )
    assert result.pairs_done == 131
    mi = np.mean([float(r["mi"]) for r in result.rows])
    assert mi == pytest.approx(3.561, abs=5e-4)


def test_two_rules_give_two_cnn_columns_and_record_the_rule_that_ran(pairs_dir, tmp_path):
    out = tmp_path / "o"
    result = evaluate(pairs_dir, out, methods=("cnn",), rules=("anatomy", "sesf"), grid=2)
    assert result.methods == ("cnn-anatomy", "cnn-sesf")
    rows = read_metrics_csv(out / "metrics.csv")
    ran = {(r["pair"], r["method"]): r["rule"] for r in rows}
    assert ran[("3", "cnn-anatomy")] == "anatomy" and ran[("3", "cnn-sesf")] == "sesf"
    assert ran[("p1", "cnn-anatomy")] == "sesf"  # a PET pair has no bone prior
    assert (out / "cnn-anatomy" / "3_dm.png").exists() and (out / "grid.png").exists()
    summary = (out / "summary.md").read_text()
    assert "| cnn-anatomy |" in summary and "| cnn-sesf |" in summary
