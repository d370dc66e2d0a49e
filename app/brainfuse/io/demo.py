"""The built-in demo pair: CT and MRI head templates on one grid (not one patient)."""

from __future__ import annotations

import numpy as np

from brainfuse._runtime.resources import demo_dir
from brainfuse.errors import UnreadableInputError
from brainfuse.io.nifti import load_nifti
from brainfuse.model.image import ImageVolume

__all__ = ["DEMO_NOTICE", "demo_pair"]

DEMO_NOTICE = "templates, not one patient"


def demo_pair() -> tuple[ImageVolume, ImageVolume]:
    """Load the shipped demo pair from ``resources/demo/``.

    Returns
    -------
    ct, mri : ImageVolume
        ``ct``: CT template (scct, Rorden et al. 2012) in Hounsfield units, int16;
        ``mri``: Colin27 T1 MRI template, uint8. Both are on the same 1.5 mm axial grid
        (same shape and affine, canonical LPS) and their ``description`` says they are
        templates, not one patient. Provenance and licences: ``resources/demo/README.md``.

    Raises
    ------
    UnreadableInputError
        The demo files are missing from this installation.
    """
    try:
        folder = demo_dir()
    except FileNotFoundError as exc:
        raise UnreadableInputError(str(exc)) from exc
    ct_path, mri_path = folder / "demo_ct.nii.gz", folder / "demo_mri.nii.gz"
    for p in (ct_path, mri_path):
        if not p.is_file():
            raise UnreadableInputError(f"The demo file {p} is missing; reinstall BrainFuse.")
    ct = load_nifti(ct_path, modality="CT")
    mri = load_nifti(mri_path, modality="MR")
    ct.description = f"Demo CT template (scct, MNI space) — {DEMO_NOTICE}"
    mri.description = f"Demo MRI template (Colin27 T1, MNI space) — {DEMO_NOTICE}"
    ct.window = (40.0, 80.0)
    # Both files share one affine; make the two volumes share it bit for bit.
    if ct.shape != mri.shape or not np.allclose(ct.affine, mri.affine, atol=1e-4):
        raise UnreadableInputError(f"The demo files in {folder} are not on one grid; rebuild them.")
    mri.spacing, mri.origin, mri.direction = ct.spacing, ct.origin, ct.direction.copy()
    return ct, mri
