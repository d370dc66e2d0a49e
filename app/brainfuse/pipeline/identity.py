"""The patient check before fusing: one function for the command line and the window.

:func:`check_identity` compares the patients of the two sources
(:func:`brainfuse.model.patient.compare_patients`) and refuses a pair of different patients
with :class:`~brainfuse.errors.DifferentPatientsError` (one line naming both), unless the
user explicitly allowed it (``--allow-different-patients``; in the window a confirmation
naming both). Either way the check rides with the fusion
(:attr:`brainfuse.pipeline.PreparedPair.identity`, :attr:`brainfuse.model.results.PairResult.identity`)
into the provenance of every export.
"""

from __future__ import annotations

from brainfuse.errors import DifferentPatientsError
from brainfuse.model.image import ImageVolume
from brainfuse.model.patient import PatientCheck, compare_patients

__all__ = ["check_identity"]


def check_identity(
    ct: ImageVolume, mri: ImageVolume, *, allow_different_patients: bool = False
) -> PatientCheck:
    """Compare the two sources' patients; refuse different ones unless allowed.

    Parameters
    ----------
    ct, mri : ImageVolume
        The two sources as loaded (or on one grid: resampling keeps their identity).
    allow_different_patients : bool
        The user's explicit override: different patients are fused, and recorded so.

    Returns
    -------
    PatientCheck
        ``status`` ``same``, ``unchecked`` (say :meth:`~PatientCheck.notice` where it
        cannot be missed) or ``different`` with ``allowed`` True.

    Raises
    ------
    DifferentPatientsError
        Different patients and no override; the message is :meth:`PatientCheck.refusal`.
    """
    check = compare_patients(ct, mri, allowed=allow_different_patients)
    if not check.fusable:
        raise DifferentPatientsError(check.refusal(), check)
    return check
