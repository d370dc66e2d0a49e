"""PNG/TIFF/JPEG slices: values kept, modality from the file name, colour, no geometry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brainfuse.errors import GeometryMismatchError, UnreadableInputError
from brainfuse.io import load
from brainfuse.io.raster import modality_from_name

RNG = np.random.default_rng(3)


@pytest.mark.parametrize(
    ("name", "modality"),
    [
        ("21009_ct.png", "CT"),
        ("21009_mri.png", "MR"),
        ("ifcnn_c03_mr1.png", "MR"),
        ("25001_pet.png", "PT"),
        ("4010_spect.png", "NM"),
        ("scct_template.png", "OT"),
        ("photo.png", "OT"),
    ],
)
def test_modality_from_file_name(name, modality):
    assert modality_from_name(Path(name)) == modality


def test_8bit_png_values_are_kept(tmp_path):
    pixels = RNG.integers(0, 256, size=(20, 30), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "7_ct.png")
    v = load(tmp_path / "7_ct.png")
    assert v.array.dtype == np.uint8 and v.shape == (1, 20, 30)
    np.testing.assert_array_equal(v.array[0], pixels)
    assert v.modality == "CT" and v.units == "" and not v.has_geometry
    assert v.spacing == (1.0, 1.0, 1.0) and v.format == "PNG"
    assert load(tmp_path / "7_ct.png", modality="MR").modality == "MR"


def test_colour_png_is_rgb_and_grey_rgb_is_grey(tmp_path):
    rgb = RNG.integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "1_pet.png")
    v = load(tmp_path / "1_pet.png")
    assert v.is_rgb and v.array.shape == (1, 8, 9, 3) and v.modality == "PT"
    np.testing.assert_array_equal(v.array[0], rgb)
    grey = np.repeat(rgb[..., :1], 3, axis=2)
    Image.fromarray(grey).save(tmp_path / "1_mri.png")
    g = load(tmp_path / "1_mri.png")
    assert not g.is_rgb and g.shape == (1, 8, 9)
    np.testing.assert_array_equal(g.array[0], rgb[..., 0])
    Image.fromarray(rgb).save(tmp_path / "x.jpg", quality=95)
    assert load(tmp_path / "x.jpg").format == "JPEG"


def test_16bit_and_multipage_tiff(tmp_path):
    pixels = RNG.integers(0, 4096, size=(6, 7), dtype=np.uint16)
    Image.fromarray(pixels).save(tmp_path / "a.tif")
    v = load(tmp_path / "a.tif")
    assert v.array.dtype == np.uint16 and v.format == "TIFF"
    np.testing.assert_array_equal(v.array[0], pixels)
    pages = [Image.fromarray(RNG.integers(0, 256, (5, 4), dtype=np.uint8)) for _ in range(3)]
    pages[0].save(tmp_path / "stack.tiff", save_all=True, append_images=pages[1:])
    assert load(tmp_path / "stack.tiff").shape == (3, 5, 4)
    mixed = [Image.new("L", (4, 5)), Image.new("L", (6, 5))]
    mixed[0].save(tmp_path / "mixed.tiff", save_all=True, append_images=mixed[1:])
    with pytest.raises(GeometryMismatchError, match="different sizes"):
        load(tmp_path / "mixed.tiff")


def test_corrupt_png(tmp_path):
    path = tmp_path / "broken_ct.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(UnreadableInputError, match="not a readable PNG"):
        load(path)


@pytest.mark.shared
def test_shared_atlas_pair(shared_data):
    folder = shared_data / "pairs" / "ct-mri"
    ct_files = sorted(folder.glob("*_ct.png"))
    if not ct_files:
        pytest.skip("no CT–MRI pairs in shared data")
    ct = load(ct_files[0])
    mri = load(ct_files[0].with_name(ct_files[0].name.replace("_ct", "_mri")))
    assert (ct.modality, mri.modality) == ("CT", "MR")
    assert ct.shape == mri.shape == (1, 256, 256) and ct.array.dtype == np.uint8
    pet = sorted((shared_data / "pairs" / "pet-mri").glob("*_pet.png"))
    if pet:
        p = load(pet[0])
        assert p.is_rgb and p.modality == "PT"
