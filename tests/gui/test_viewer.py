"""Parity of the window and the command line, through the scriptable ``Viewer(show=False)``.

What the fused panel draws at slice k must be what ``brainfuse fuse ... --slice k`` writes
(read back /255, within 1/255), the decision map likewise, for a DICOM CT series with a
NIfTI MRI, an 8-bit PNG pair and a colour PET-MRI pair; an exported overlay must be what the
screen draws.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui
from scipy import ndimage as ndi
from skimage import data

from brainfuse.cli import main as cli
from brainfuse.gui import Viewer
from brainfuse.gui.export_dialog import ExportOptions
from brainfuse.io import load

TOL = 1.0 / 255.0 + 1e-6


@pytest.fixture
def viewer(qapp):
    v = Viewer(show=False)
    yield v
    v.close()


def _cli_slice(
    ct: Path | str, mri: Path | str, k: int, tmp: Path, reference: str = "auto"
) -> tuple[np.ndarray, ...]:
    """``brainfuse fuse CT MRI -o f.png --slice k --decision-map dm.png``, read back /255."""
    out, dm = tmp / f"cli_{k}.png", tmp / f"cli_dm_{k}.png"
    argv = ["fuse", str(ct), str(mri), "-o", str(out), "--decision-map", str(dm)]
    argv += ["--reference", reference]
    assert cli([*argv, "--slice", str(k), "--overwrite"]) == 0
    fused = np.asarray(Image.open(out), np.float64) / 255.0
    return fused, np.asarray(Image.open(dm), np.float64) / 255.0


def _assert_parity(v: Viewer, ct, mri, k: int, tmp: Path, reference: str = "auto") -> None:
    v.slice_index = k
    assert v.slice_index == k
    fused, dm = _cli_slice(ct, mri, k, tmp, reference)
    shown = v.fused_slice()
    assert shown.dtype == np.float32 and shown.shape == fused.shape
    assert shown.min() >= 0.0 and shown.max() <= 1.0
    assert np.abs(shown - fused).max() <= TOL, f"fused slice {k} differs from the CLI"
    np.testing.assert_array_equal(v.decision_slice(), dm)
    assert 0.05 < dm.mean() < 0.95  # a real decision, not a constant map


def _mr_like(hu: np.ndarray) -> np.ndarray:
    """A T2-like contrast of the same anatomy: air and bone dark, CSF bright, brain grey."""
    out = np.where(hu < -300, 0.0, 600.0 - 3.0 * np.abs(hu - 10.0))
    out = np.where(hu > 250, 40.0, out)
    return np.clip(out, 0, None).astype(np.int16)


@pytest.mark.shared
def test_dicom_ct_series_with_a_nifti_mri(viewer, shared_data, tmp_path):
    """The CT series (RLE DICOM, shuffled files) against a NIfTI MRI of the same head on a
    coarser RAS grid written here: load, geometry alignment, resampling, fusion."""
    series = shared_data / "dicom" / "ct" / "cranium_ct_series"
    ct = load(series)
    k0, n = 50, 10
    hu = ct.array[k0 : k0 + n, ::2, ::2].astype(np.float64)
    lps = ct.affine @ np.diag([2.0, 2.0, 1.0, 1.0])
    lps[:3, 3] = (ct.affine @ np.array([0.0, 0.0, k0, 1.0]))[:3]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    nii = tmp_path / "mri.nii.gz"
    nib.save(nib.Nifti1Image(_mr_like(hu).transpose(2, 1, 0), ras), nii)

    viewer.window.controller.set_reference("mri")  # Fusion > Result grid: the MRI's
    viewer.open_pair(series, nii)
    viewer.wait(timeout=300)
    ws = viewer.workspace
    assert ws.shape == (n, 128, 128) and ws.registration == "geometry"
    assert ws.fusion.prepared.windows["ct"].kind == "preset:brain"
    for k in (n // 2, 2):  # the slice fused first, and one fused later in a batch
        _assert_parity(viewer, series, nii, k, tmp_path, "mri")


@pytest.mark.shared
def test_8_bit_png_pair_is_never_hu_windowed(viewer, shared_data, tmp_path):
    pairs = shared_data / "pairs" / "ct-mri"
    ct, mri = pairs / "2004_ct.png", pairs / "2004_mri.png"
    viewer.open_pair(ct, mri)
    viewer.wait(timeout=120)
    ws = viewer.workspace
    assert ws.fusion.prepared.windows["ct"].kind == "8-bit"
    assert ws.ct_window.levels == (0.0, 255.0)
    assert viewer.window.viewers.panels["ct"].image.getLevels() == pytest.approx((0.0, 255.0))
    source = np.asarray(Image.open(ct).convert("L"), np.float32) / 255.0
    np.testing.assert_array_equal(ws.fusion.prepared.ct01[0], source)  # as it is, /255
    _assert_parity(viewer, ct, mri, 0, tmp_path)


def _phantom(size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A grey MRI-like slice and a pseudo-colour (hot) PET-like slice of one phantom."""
    ph = ndi.zoom(data.shepp_logan_phantom(), size / 400, order=1)
    head = ndi.binary_fill_holes(ph > 0.05)
    mri = np.where(head, np.round(220 * (1 - np.clip(ph, 0, 1))) + 20, 0).astype(np.uint8)
    uptake = ndi.gaussian_filter(np.clip(ph, 0, 1), 3) * head
    import matplotlib

    rgba = matplotlib.colormaps["hot"](uptake / max(float(uptake.max()), 1e-6))
    pet = np.round(255 * rgba[..., :3]).astype(np.uint8)
    return pet, mri


def test_pet_mri_colour_pair(viewer, tmp_path):
    pet, mri = _phantom()
    Image.fromarray(pet).save(tmp_path / "p_pet.png")
    Image.fromarray(mri).save(tmp_path / "p_mri.png")
    viewer.open_pair(tmp_path / "p_pet.png", tmp_path / "p_mri.png")
    viewer.wait(timeout=120)
    assert viewer.fused_slice().shape == (*mri.shape, 3)
    _assert_parity(viewer, tmp_path / "p_pet.png", tmp_path / "p_mri.png", 0, tmp_path)


def _screen_overlay(v: Viewer) -> np.ndarray:
    """The fused panel as Qt paints it at one pixel per voxel, as RGB uint8."""
    item = v.window.viewers.panels["fused"].image
    item.render()  # pyqtgraph builds the QImage it paints
    h, w = item.image.shape[:2]
    canvas = QtGui.QImage(w, h, QtGui.QImage.Format.Format_RGB32)
    canvas.fill(QtGui.QColor(0, 0, 0))
    painter = QtGui.QPainter(canvas)
    painter.drawImage(QtCore.QRectF(0, 0, w, h), item.qimage)
    painter.end()
    rgb = canvas.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), np.uint8).reshape(h, rgb.bytesPerLine())
    return rows[:, : 3 * w].reshape(h, w, 3).copy()


@pytest.mark.parametrize(
    ("soft", "opacity", "colormap"), [(False, 0.4, "viridis"), (True, 0.7, "inferno")]
)
def test_exported_overlay_is_what_the_screen_draws(viewer, tmp_path, soft, opacity, colormap):
    pet, mri = _phantom()
    grey = np.asarray(Image.fromarray(pet).convert("L"))
    Image.fromarray(grey).save(tmp_path / "c_ct.png")
    Image.fromarray(mri).save(tmp_path / "c_mri.png")
    viewer.open_pair(tmp_path / "c_ct.png", tmp_path / "c_mri.png")
    viewer.wait(timeout=120)
    viewer.workspace.set_overlay(visible=True, soft=soft, opacity=opacity, colormap=colormap)
    out = tmp_path / "overlay.png"
    viewer.window.export(ExportOptions(out, "png", overlay=True, anonymize=False))
    viewer.wait(timeout=60)
    exported = np.asarray(Image.open(out).convert("RGB"), np.int16)
    screen = _screen_overlay(viewer).astype(np.int16)
    h, w = screen.shape[:2]
    legend = np.zeros((h, w), bool)
    legend[h - 24 :, : w // 2] = True  # the colour bar and its labels, export only
    diff = np.abs(exported - screen).max(axis=-1)
    assert diff[~legend].max() <= 1, "the exported overlay differs from the screen's"
    dm = viewer.decision_slice()
    coloured = dm > 0.5
    assert coloured.any() and (~coloured).any()
    # the overlay did colour the CT's side (not a plain copy of the fused image)
    plain = np.round(255 * viewer.fused_slice())[..., None]
    assert np.abs(exported[coloured & ~legend] - plain[coloured & ~legend]).max() > 10
