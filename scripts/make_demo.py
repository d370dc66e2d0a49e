"""Build the shipped demo CT/MRI pair in ``resources/demo/`` from ``../shared/demo-sources/``.

The two sources are real-derived head templates in MNI space (they are **not one patient**):

* ``scct.nii.gz`` -- CT template of older adults (Rorden et al. 2012), 2 mm, stored in
  "Cormack units"; converted here to Hounsfield units with the published inverse
  (:func:`cormack_to_hu`).
* ``ch2.nii.gz`` -- "Colin27" single-subject T1 MRI, full head, 1 mm, uint8.

Both are in MNI space, but the two heads differ (the CT template's skull lies well outside the
MRI's scalp): the CT is first brought onto the MRI by an affine registration (12 parameters,
Mattes mutual information, SimpleITK; :func:`register_affine`), so that the CT's skull ring
sits on the MRI's skull. Both are then resampled (trilinear) onto one axial grid of
``SPACING_MM`` isotropic voxels stored in LPS order, cropped to the head, and written as
``demo_ct.nii.gz`` (int16, HU) and ``demo_mri.nii.gz`` (uint8) with the same affine, plus
``README.md`` (provenance, formula, the registration and both licence notices). Where the CT
template has no data (outside its field of view, the face it was cut at) it reads -1024 HU,
which the fusion treats as no data (the MRI is taken there).

Usage::

    python scripts/make_demo.py [--sources ../shared/demo-sources] [--out resources/demo]

References
----------
C. Rorden, L. Bonilha, J. Fridriksson, B. Bender, H.-O. Karnath, "Age-specific CT and MRI
templates for spatial normalization", NeuroImage 61(4):957-965, 2012,
doi:10.1016/j.neuroimage.2012.03.020.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

REPO_ROOT = Path(__file__).resolve().parents[1]
SPACING_MM = 1.5
MARGIN_MM = 6.0
CT_FILE = "demo_ct.nii.gz"
MRI_FILE = "demo_mri.nii.gz"


def cormack_to_hu(c: np.ndarray) -> np.ndarray:
    """Convert the Clinical toolbox's "Cormack units" to Hounsfield units.

    Parameters
    ----------
    c : ndarray of float
        Stored CT-template values (Cormack units).

    Returns
    -------
    ndarray of float64, HU
        With ``x = c - 900``: ``c - 1024`` for ``x <= 0``; ``x / 11 - 124`` for
        ``0 < x <= 2200`` (the brain range -124..76 HU was stretched 11x);
        ``x - 2200 + 76`` above (bone side, unit slope). Continuous at both knees.
    """
    c = np.asarray(c, dtype=np.float64)
    x = c - 900.0
    return np.where(x <= 0, c - 1024.0, np.where(x <= 2200.0, x / 11.0 - 124.0, x - 2124.0))


#: RAS (NIfTI) <-> LPS (ITK) world coordinates: negate the first two axes.
_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def register_affine(sources: Path, ct_hu: np.ndarray, ct_img: nib.Nifti1Image) -> np.ndarray:
    """Find the affine map from MRI-template points to CT-template points (4 x 4, RAS mm).

    SimpleITK: Mattes mutual information (50 bins, 20 % of the voxels, seeded), gradient
    descent on a 12-parameter affine transform, three
    levels (shrink 4, 2, 1; smoothing 2, 1, 0 voxels). The CT is clipped to -200..1500 HU so
    that air, brain and bone weigh as tissue classes, not as the template's -1024 padding.
    """
    import SimpleITK

    fixed = SimpleITK.Cast(SimpleITK.ReadImage(str(sources / "ch2.nii.gz")), SimpleITK.sitkFloat32)
    moving = SimpleITK.ReadImage(str(sources / "scct.nii.gz"))
    hu = np.clip(ct_hu, -200.0, 1500.0).astype(np.float32)
    moving_hu = SimpleITK.GetImageFromArray(hu.transpose(2, 1, 0))  # nibabel (x, y, z) -> ITK
    moving_hu.CopyInformation(moving)
    start = SimpleITK.AffineTransform(3)  # both are in MNI space: start from where they are
    size = np.array(fixed.GetSize()) - 1
    start.SetCenter(fixed.TransformContinuousIndexToPhysicalPoint((size / 2.0).tolist()))
    reg = SimpleITK.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=50)
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    reg.SetMetricSamplingPercentage(0.2, seed=20251207)
    reg.SetInterpolator(SimpleITK.sitkLinear)
    reg.SetOptimizerAsGradientDescent(
        learningRate=1.0, numberOfIterations=200, convergenceMinimumValue=1e-6
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1])
    reg.SetSmoothingSigmasPerLevel([2, 1, 0])
    reg.SetInitialTransform(start, inPlace=False)
    before = reg.MetricEvaluate(fixed, moving_hu)
    found = reg.Execute(fixed, moving_hu)
    affine = SimpleITK.AffineTransform(
        found.GetNthTransform(0) if found.GetName() == "CompositeTransform" else found
    )
    a = np.array(affine.GetMatrix()).reshape(3, 3)
    c, t = np.array(affine.GetCenter()), np.array(affine.GetTranslation())
    lps = np.eye(4)
    lps[:3, :3], lps[:3, 3] = a, c + t - a @ c
    print(
        f"affine registration: Mattes MI {before:.4f} in MNI space -> {reg.GetMetricValue():.4f}, "
        f"{reg.GetOptimizerIteration()} iterations at the last level, "
        f"scales {np.round(np.linalg.svd(a, compute_uv=False), 3).tolist()}"
    )
    del ct_img
    return _FLIP @ lps @ _FLIP


def _resample(
    img: nib.Nifti1Image,
    data: np.ndarray,
    target_affine: np.ndarray,
    shape,
    fill,
    world: np.ndarray | None = None,
):
    """Trilinear resampling of ``data`` (nibabel axis order) onto a target voxel grid.

    ``world`` (4 x 4, RAS mm) maps target-space points to source-space points first (the
    registration); None: the same space.
    """
    world = np.eye(4) if world is None else world
    vox = np.linalg.inv(img.affine) @ world @ target_affine  # target (i, j, k) -> source
    return ndimage.affine_transform(
        data, vox[:3, :3], offset=vox[:3, 3], output_shape=shape, order=1, cval=fill
    )


def _lps_grid(lo_ras: np.ndarray, hi_ras: np.ndarray, spacing: float):
    """Affine (RAS, NIfTI) and shape of a grid whose axes run R->L, A->P, I->S (LPS order)."""
    n = np.ceil((hi_ras - lo_ras) / spacing).astype(int) + 1
    affine = np.diag([-spacing, -spacing, spacing, 1.0])
    affine[:3, 3] = [hi_ras[0], hi_ras[1], lo_ras[2]]  # voxel 0: right, anterior, inferior
    return affine, tuple(int(v) for v in n)


def build(sources: Path, out: Path) -> dict[str, str]:
    """Build both demo files in ``out``; return their SHA-256 digests."""
    ct_img = nib.load(sources / "scct.nii.gz")
    mr_img = nib.load(sources / "ch2.nii.gz")
    ct_hu = cormack_to_hu(np.asanyarray(ct_img.dataobj))
    mr = np.asanyarray(mr_img.dataobj).astype(np.float64)

    # Common field of view (RAS mm) of both sources, then one fine grid over it.
    def corners(img):
        ijk = np.array(np.meshgrid(*[[0, s - 1] for s in img.shape[:3]])).reshape(3, -1)
        return nib.affines.apply_affine(img.affine, ijk.T)

    to_ct = register_affine(sources, ct_hu, ct_img)  # MRI-space points -> CT-template points
    ct_corners = nib.affines.apply_affine(np.linalg.inv(to_ct), corners(ct_img))
    both = np.vstack([ct_corners, corners(mr_img)])
    lo, hi = both.min(axis=0), both.max(axis=0)
    affine, shape = _lps_grid(lo, hi, SPACING_MM)
    ct_r = _resample(ct_img, ct_hu, affine, shape, fill=-1024.0, world=to_ct)
    mr_r = _resample(mr_img, mr, affine, shape, fill=0.0)

    # Crop to the head: MRI scalp or CT tissue, plus a margin.
    head = (mr_r > 15) | (ct_r > -400)
    head = ndimage.binary_opening(head, iterations=2)
    idx = np.argwhere(head)
    margin = round(MARGIN_MM / SPACING_MM)
    a = np.maximum(idx.min(axis=0) - margin, 0)
    b = np.minimum(idx.max(axis=0) + margin + 1, shape)
    crop = tuple(slice(int(s), int(e)) for s, e in zip(a, b, strict=True))
    affine = affine.copy()
    affine[:3, 3] = nib.affines.apply_affine(affine, a)
    ct_c = np.clip(np.round(ct_r[crop]), -1024, 3071).astype(np.int16)
    mr_c = np.clip(np.round(mr_r[crop]), 0, 255).astype(np.uint8)

    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, data, descrip in (
        (CT_FILE, ct_c, "BrainFuse demo CT template (scct) HU"),
        (MRI_FILE, mr_c, "BrainFuse demo MRI template (Colin27 T1)"),
    ):
        img = nib.Nifti1Image(data, affine)
        img.header.set_xyzt_units("mm")
        img.header["descrip"] = descrip.encode()
        img.set_sform(affine, code=4)  # 4 = MNI space
        img.set_qform(affine, code=4)
        path = out / name
        nib.save(img, path)
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path}: {data.shape} {data.dtype} {path.stat().st_size} bytes")
    write_readme(out, ct_c.shape, digests)
    return digests


README = """\
# BrainFuse demo pair: CT and MRI **templates, not one patient**

`demo_ct.nii.gz` and `demo_mri.nii.gz` are two real-derived head **templates** in the same
standard (MNI) space. They are *not* two scans of one patient: they come from different people
(an average of older adults' CTs, and one adult's averaged T1 MRI), aligned only by spatial
normalisation (to within a few millimetres). Use them to try the program, never for diagnosis.

| file | what | grid | values | sha256 |
|---|---|---|---|---|
| `{ct}` | CT template (scct), converted to Hounsfield units | {shape} voxels (x, y, z), {sp} mm isotropic, axial, stored R→L, A→P, I→S (LPS order) | int16, HU | `{ct_sha}` |
| `{mr}` | MRI template (Colin27 T1, full head) | same grid and affine as the CT | uint8, arbitrary MR units | `{mr_sha}` |

Built by `scripts/make_demo.py` from `../shared/demo-sources/` (`scct.nii.gz`, `ch2.nii.gz`):
the CT template, converted to HU, is first brought onto the MRI by an **affine registration**
(SimpleITK, 12 parameters, Mattes mutual information, three resolution levels, started from
their MNI alignment; the two templates are different heads, and without it the CT's skull
ring lies well outside the MRI's scalp), so the CT's skull sits on the MRI's skull. Both are
then resampled (trilinear, `scipy.ndimage.affine_transform`) onto one {sp} mm grid covering
both fields of view, CT filled with −1024 HU and MRI with 0 outside their sources (the fusion
takes the MRI where the CT reads −1024 HU from the border inwards: no data), rounded and stored
as NIfTI-1 (sform/qform code 4, MNI).

## Sources

* **CT template** `scct.nii` — average of head CTs of older adults normalised to MNI space:
  C. Rorden, L. Bonilha, J. Fridriksson, B. Bender, H.-O. Karnath, "Age-specific CT and MRI
  templates for spatial normalization", NeuroImage 61(4):957–965, 2012,
  doi:10.1016/j.neuroimage.2012.03.020. From GitHub `neurolabusc/Clinical` (SPM Clinical
  toolbox), commit 1b6bc35f. 91×109×91, 2 mm, stored in "Cormack units".
* **MRI** `ch2.nii.gz` — "Colin27": one adult scanned 27 times and averaged, T1, full head with
  scalp and skull, MNI space. From the Debian package `mricron-data` 1.2.20211006+dfsg-4,
  `templates/ch2.nii.gz`. 181×217×181, 1 mm.

## CT values: Cormack units → HU

With `c` the stored template value and `x = c − 900` (inverse published in the Clinical
toolbox's `clinical_c2h.m`):

* `x ≤ 0`: HU = c − 1024
* `0 < x ≤ 2200`: HU = x / 11 − 124  (the brain range −124…+76 HU had been stretched 11×)
* `x > 2200`: HU = x − 2200 + 200 − 124

The result reads about −1024 HU in air, 20–40 HU in brain and a few hundred HU in the averaged
(blurred) skull.

## Licences

CT template (`scct.nii`, SPM Clinical toolbox), BSD-2-Clause:

    Copyright (c) 2021, Chris Rorden
    All rights reserved.

    Redistribution and use in source and binary forms, with or without modification, are
    permitted provided that the following conditions are met:

    1. Redistributions of source code must retain the above copyright notice, this list of
       conditions and the following disclaimer.
    2. Redistributions in binary form must reproduce the above copyright notice, this list of
       conditions and the following disclaimer in the documentation and/or other materials
       provided with the distribution.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS
    OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF
    MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE
    COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
    EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
    SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
    HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
    TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
    SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

MRI (`ch2.nii.gz`): Debian lists MRIcron's files as BSD-3-Clause (Chris Rorden); the image itself
is the Montreal Neurological Institute's Colin27, distributed under the MNI notice:

    Copyright (C) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, Montreal
    Neurological Institute, McGill University. Permission to use, copy, modify, and distribute
    this software and its documentation for any purpose and without fee is hereby granted,
    provided that the above copyright notice appear in all copies. The authors and McGill
    University make no representations about the suitability of this software for any
    purpose. It is provided 'as is' without express or implied warranty.
"""


def write_readme(out: Path, shape: tuple[int, int, int], digests: dict[str, str]) -> None:
    """Write ``README.md`` (provenance, HU formula, licence notices) next to the demo files."""
    text = README.format(
        ct=CT_FILE,
        mr=MRI_FILE,
        shape="×".join(str(s) for s in shape),
        sp=SPACING_MM,
        ct_sha=digests[CT_FILE],
        mr_sha=digests[MRI_FILE],
    )
    (out / "README.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Build the demo pair from ``--sources`` into ``--out`` and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sources", type=Path, default=REPO_ROOT.parent / "shared" / "demo-sources"
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "demo")
    args = parser.parse_args(argv)
    build(args.sources, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
