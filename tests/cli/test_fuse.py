"""``brainfuse fuse`` end to end on PNGs made here (and the shared dev pair when present)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from brainfuse.cli import main


def _png(path, seed, shape=(48, 48)):
    rng = np.random.default_rng(seed)
    arr = ndimage.gaussian_filter(rng.random(shape), 1.2)
    arr = np.round(255 * (arr - arr.min()) / np.ptp(arr)).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def test_fuse_two_pngs(tmp_path, capsys):
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    out, dm = tmp_path / "fused.png", tmp_path / "dm.png"
    assert main(["fuse", str(a), str(b), "-o", str(out), "--decision-map", str(dm),
                 "--device", "cpu"]) == 0  # fmt: skip
    fused = np.asarray(Image.open(out))
    assert fused.shape == (48, 48) and fused.dtype == np.uint8
    lo = np.minimum(np.asarray(Image.open(a)), np.asarray(Image.open(b))).astype(int)
    hi = np.maximum(np.asarray(Image.open(a)), np.asarray(Image.open(b))).astype(int)
    assert np.all((fused >= lo - 1) & (fused <= hi + 1))  # same 0-255 scale as the sources
    assert set(np.unique(np.asarray(Image.open(dm)))) <= {0, 255}
    printed = capsys.readouterr().out
    assert "device: CPU" in printed and "timings:" in printed


@pytest.mark.parametrize("method", ["average", "pixel-sf"])
def test_fuse_baseline_methods(tmp_path, method):
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    assert main(["fuse", str(a), str(b), "-o", str(tmp_path / "f.png"), "--method", method]) == 0


def test_refuses_to_write_over_an_input(tmp_path, capsys):
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    before = a.read_bytes()
    assert main(["fuse", str(a), str(b), "-o", str(a), "--overwrite"]) == 2
    assert "refusing" in capsys.readouterr().err
    assert a.read_bytes() == before


def test_different_sizes_are_one_line_error(tmp_path, capsys):
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1, (48, 40))
    assert main(["fuse", str(a), str(b), "-o", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainfuse: error:") and len(err.splitlines()) == 1


def test_forced_cuda_says_it_fell_back(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    assert main(["fuse", str(a), str(b), "-o", str(tmp_path / "f.png"), "--device", "cuda"]) == 0
    cap = capsys.readouterr()
    assert "CUDA" in cap.err and "device: CPU" in cap.out


def test_volume_to_nifti_with_the_grid_affine(tmp_path, capsys, monkeypatch):
    import nibabel as nib

    monkeypatch.setattr("brainfuse._runtime.progress.DELAY_S", 0.0)  # the bar even for a short job

    rng = np.random.default_rng(2)
    aff = np.diag([1.2, 1.2, 3.0, 1.0])
    aff[:3, 3] = (10, -20, 5)
    ct = ndimage.gaussian_filter(rng.normal(40, 60, (32, 36, 3)), 1).astype(np.int16)
    mr = (ndimage.gaussian_filter(rng.random((32, 36, 3)), 1) * 1000).astype(np.int16)
    ct_img = nib.Nifti1Image(ct, aff)
    ct_img.header.set_xyzt_units("mm")
    nib.save(ct_img, tmp_path / "ct.nii.gz")
    nib.save(nib.Nifti1Image(mr, aff), tmp_path / "mr.nii.gz")
    out = tmp_path / "fused.nii.gz"
    assert main(["fuse", str(tmp_path / "ct.nii.gz"), str(tmp_path / "mr.nii.gz"), "-o",
                 str(out), "--register", "none", "--threads", "1"]) == 0  # fmt: skip
    cap = capsys.readouterr()
    assert "device: CPU (1 thread" in cap.out  # the thread choice, shown with the device
    assert "3/3 slices" in cap.err and "slices/s" in cap.err  # the progress bar, throughout:
    for stage in ("loading CT", "loading MRI", "aligning", "fusing", "writing"):
        assert stage in cap.err
    img = nib.load(out)
    assert img.shape[:3] == (32, 36, 3)
    # Same voxel grid in space (the loader may flip axes to LPS; compare canonically).
    canon_out = nib.as_closest_canonical(img).affine
    canon_in = nib.as_closest_canonical(ct_img).affine
    np.testing.assert_allclose(canon_out, canon_in, atol=1e-4)


@pytest.mark.parametrize("rule", ["anatomy", "sesf"])
def test_rule_is_chosen_reported_and_recorded(tmp_path, capsys, rule):
    a, b = _png(tmp_path / "ct.png", 0), _png(tmp_path / "mr.png", 1)
    out = tmp_path / "f.png"
    assert main(["fuse", str(a), str(b), "-o", str(out), "--rule", rule]) == 0
    captured = capsys.readouterr()
    assert f"(rule: {rule})" in captured.out  # a grey 8-bit image 1 is taken for a CT
    assert f"rule {rule}" in Image.open(out).text["Description"]


def test_a_colour_image_1_runs_sesf_and_says_so(tmp_path, capsys):
    a, b = _png(tmp_path / "pet.png", 0), _png(tmp_path / "mr.png", 1)
    grey = np.asarray(Image.open(a))
    Image.fromarray(np.stack([grey, grey // 2, 255 - grey], axis=-1)).save(a)
    assert main(["fuse", str(a), str(b), "-o", str(tmp_path / "f.png")]) == 0
    captured = capsys.readouterr()
    assert "(rule: sesf)" in captured.out and "needs a CT" in captured.out
