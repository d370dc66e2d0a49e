"""Geometry-aware resampling and rigid registration (SimpleITK), no Qt.

Public surface::

    resample_to(moving, reference, *, transform=None, interpolation="linear", fill=None)
    register_rigid(fixed, moving, *, progress=None, cancel=None) -> RegistrationResult
    align_pair(ct, mri, *, register="auto", reference="auto", ...) -> AlignedPair
    save_transform(path, transform), load_transform(path)
    to_sitk(volume), from_sitk(image, like)
"""

from brainfuse._runtime.quiet import itk_warnings_follow_logging
from brainfuse.grid.align import REFERENCES, REGISTER_MODES, AlignedPair, align_pair, check_geometry
from brainfuse.grid.register import RegistrationResult, register_rigid, rigid_difference
from brainfuse.grid.resample import AIR_HU, coverage, default_fill, resample_to
from brainfuse.grid.sitk_bridge import from_sitk, to_sitk, to_sitk_2d
from brainfuse.grid.transform_io import load_transform, save_transform

itk_warnings_follow_logging()

__all__ = [
    "AIR_HU",
    "REFERENCES",
    "REGISTER_MODES",
    "AlignedPair",
    "RegistrationResult",
    "align_pair",
    "check_geometry",
    "coverage",
    "default_fill",
    "from_sitk",
    "load_transform",
    "register_rigid",
    "resample_to",
    "rigid_difference",
    "save_transform",
    "to_sitk",
    "to_sitk_2d",
]
