"""What the window does, without its widgets: open, align, fuse, export through workers.

A :class:`Controller` turns requests into worker tasks (:mod:`brainfuse.gui.tasks`) and their
results into :class:`~brainfuse.reading.workspace.Workspace` calls; it keeps no state of its own
besides the fusion engine (created once per device and rule and reused). The main window and the
scriptable :class:`~brainfuse.gui.viewer.Viewer` both drive it.
"""

from __future__ import annotations

import threading

from PySide6 import QtCore

from brainfuse._runtime.heap import freeze_long_lived, return_free_memory
from brainfuse.errors import DifferentPatientsError
from brainfuse.gui.settings import Settings
from brainfuse.gui.tasks import (
    Aligned,
    ExportRequest,
    FusionRequest,
    SliceDone,
    align_task,
    demo_task,
    export_task,
    fusion_task,
    load_task,
    recompose_task,
    resume_task,
    transform_task,
)
from brainfuse.gui.workers import TaskRunner
from brainfuse.model.image import ImageVolume
from brainfuse.model.overlay import overlay_lut
from brainfuse.model.results import PairResult
from brainfuse.pipeline import PairFusion, check_identity
from brainfuse.pipeline.fusers import Fuser, fuser_for
from brainfuse.reading.workspace import Workspace

__all__ = ["Controller"]


class Controller(QtCore.QObject):
    """Opens, aligns, fuses and exports for one workspace, each step in a worker.

    Parameters
    ----------
    workspace : Workspace
    settings : Settings
    runner : TaskRunner

    Signals
    -------
    fusion_finished() : every slice of the pair is fused.
    loaded(role, path) : a scan was opened (``role`` is ``"ct"`` or ``"mri"``).
    aligned(warnings) : the pair is on one grid; ``warnings`` a list of str.
    exported(paths) : an export wrote these files (list of Path).
    check_requested() : a rigid registration waits to be checked (Accept or Redo).
    identity_checked(check) : the pair's patients were compared
        (:class:`~brainfuse.model.patient.PatientCheck`, fusable).
    different_patients(check) : the pair is of two patients and was not aligned; the user
        may confirm with :meth:`allow_different_patients`.

    Attributes
    ----------
    confirm_rigid : bool
        Hold the fusion after a rigid registration until :meth:`accept_alignment` (a person
        checks it first); otherwise it is accepted at once.
    keep_register_mode : bool
        Keep the alignment mode for the next pair (the user asked for "always"); otherwise a
        new source replacing a pair goes back to ``auto``.
    patients_allowed : bool
        The user confirmed fusing the two patients of the pair on screen (every align,
        prepare and recompose of that pair passes it; a new source clears it).
    """

    fusion_finished = QtCore.Signal()
    check_requested = QtCore.Signal()
    loaded = QtCore.Signal(str, str)
    aligned = QtCore.Signal(list)
    exported = QtCore.Signal(list)
    identity_checked = QtCore.Signal(object)
    different_patients = QtCore.Signal(object)

    def __init__(self, workspace: Workspace, settings: Settings, runner: TaskRunner):
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self.runner = runner
        self.fuser: Fuser | None = None
        self._fuser_key: tuple[str, str] | None = None  # (device, rule) it was made for
        self.confirm_rigid = False
        self.patients_allowed = False
        self.pair_reference: str | None = None  # a reopened session's result grid
        self.keep_register_mode = False  # Fusion › Alignment › "Use for every pair"
        workspace.set_engine(rule=settings.rule(), device=settings.device())
        self._rule = workspace.fusion_rule
        workspace.sources_changed.connect(self._drop_old_work)
        workspace.engine_changed.connect(self._engine_changed)

    # ------------------------------------------------------------------ engine
    def get_fuser(self) -> Fuser:
        """Return the fuser for the workspace's rule and device (loaded on first use, in a worker).

        The fuser is kept with the choice it was made for: one made for a rule or device
        changed while it loaded is not used for the new choice.
        """
        ws = self.workspace
        key = (ws.fusion_device, ws.fusion_rule)
        if self.fuser is None or self._fuser_key != key:
            self.fuser, self._fuser_key = fuser_for(*key), key
        return self.fuser

    def set_rule(self, rule: str) -> None:
        """Choose the fusion rule (``anatomy`` or ``sesf``), remembered for new windows.

        The workspace's ``engine_changed`` then fuses the pair again with it.
        """
        self.settings.set_rule(rule)
        self.workspace.set_engine(rule=rule)

    def use_engine(self, *, rule: str, device: str) -> None:
        """Fuse the next pair with ``rule`` on ``device`` (a reopened session's), not the preference.

        Unlike :meth:`set_rule` it neither stores a preference nor fuses the pair on screen
        again: the session's own pair is about to be fused with it.
        """
        self._rule = rule
        self.workspace.set_engine(rule=rule, device=device)

    def set_reference(self, reference: str) -> None:
        """Choose the result grid (``auto``, ``ct``, ``mri``); re-aligns a loaded pair."""
        self.pair_reference = None
        self.settings.set_reference(reference)
        if self.workspace.has_pair:
            self.align()

    def set_device(self, device: str) -> None:
        """Choose the fusion device (``auto``, ``cpu``, ``cuda``); applies to the next fusion."""
        self.settings.set_device(device)
        self.workspace.set_engine(device=device)

    def _engine_changed(self) -> None:
        """Drop the fuser of the old rule or device; a new rule fuses the pair again."""
        ws = self.workspace
        rule_changed = ws.fusion_rule != self._rule
        self._rule = ws.fusion_rule
        self.fuser = None
        if rule_changed:
            self.start_fusion()

    def warm_up(self) -> None:
        """Load the fusion model in the background now, not when the first pair arrives.

        The overlay's colour table is made there too: it imports matplotlib, which took
        250 ms of the window's own thread when the first 512 x 512 x 300 grid was shown.
        Then what exists is left out of later garbage collections
        (:func:`brainfuse._runtime.heap.freeze_long_lived`).
        """

        def warm(*, cancel: threading.Event) -> Fuser:
            overlay_lut()
            return self.get_fuser()

        def loaded(_fuser: Fuser) -> None:
            freeze_long_lived()

        self.runner.start(
            "model",
            warm,
            label="Loading model",
            subject="the fusion model",
            on_return=loaded,
        )

    # ------------------------------------------------------------------ opening
    def open(self, role: str, path: str, series: int | None = None) -> None:
        """Load ``path`` as the CT (``role="ct"``) or the MRI; align when both are there."""
        self.runner.start(
            f"load-{role}",
            load_task,
            path,
            series,
            label=f"Loading {role.upper()}",
            on_return=lambda volume: self._loaded(role, path, volume),
            subject=path,
        )

    def _loaded(self, role: str, path: str, volume: ImageVolume) -> None:
        self.settings.add_recent(role, path)
        ws = self.workspace
        if ws.has_pair and not self.keep_register_mode and ws.register_mode != "auto":
            ws.set_register_mode("auto")  # a mode chosen for one pair is not the next one's
        if role == "ct":
            self.workspace.set_sources(ct=volume)
        else:
            self.workspace.set_sources(mri=volume)
        self.loaded.emit(role, path)
        if self.workspace.has_pair:
            self.align()

    def open_demo(self) -> None:
        """Load the built-in demo pair (CT and MRI templates on one grid)."""
        self.runner.start(
            "load-demo",
            demo_task,
            label="Loading demo",
            subject="the demo pair",
            on_return=lambda pair: self.set_pair(*pair, demo=True),
        )

    def set_pair(
        self,
        ct: ImageVolume,
        mri: ImageVolume,
        *,
        demo: bool = False,
        transform: object | None = None,
        reference: str | None = None,
    ) -> None:
        """Show a CT–MRI pair already in memory: align, then fuse.

        With ``transform`` (an accepted one, e.g. a reopened session's) it is applied instead
        of aligning again; ``reference`` (a session's result grid, ``ct`` or ``mri``) holds for
        this pair instead of the Fusion › Result grid preference.
        """
        self.workspace.set_sources(ct=ct, mri=mri, demo=demo)
        self.pair_reference = reference
        if transform is None:
            self.align()
        else:
            self.apply_transform(transform, accepted=True)

    def _pair_name(self) -> str:
        """Name the pair as in a failure message: ``<ct> and <mri>``."""
        ws = self.workspace
        return " and ".join(v.name for v in (ws.ct, ws.mri) if v is not None) or "the pair"

    def _drop_old_work(self) -> None:
        self.patients_allowed = False  # a confirmation holds for the pair it named only
        self.pair_reference = None  # so does a session's result grid
        for kind in ("align", "fuse", "metrics", "export"):
            self.runner.cancel(kind)  # their results belong to the previous pair

    # ------------------------------------------------------------------ patients
    def _patients_fusable(self) -> bool:
        """Compare the pair's patients; refuse (signal, problem shown) when they differ."""
        ws = self.workspace
        assert ws.ct is not None and ws.mri is not None
        try:
            check = check_identity(ws.ct, ws.mri, allow_different_patients=self.patients_allowed)
        except DifferentPatientsError as err:
            ws.set_problem(str(err))
            self.different_patients.emit(err.check)
            return False
        self.identity_checked.emit(check)
        return True

    def allow_different_patients(self) -> None:
        """Fuse the pair on screen although its images are of two patients (user confirmed).

        Recorded as an override in the provenance of every export of this pair.
        """
        if self.workspace.has_pair:
            self.patients_allowed = True
            self.align()

    # ------------------------------------------------------------------ align and fuse
    def align(self) -> None:
        """Put the pair on one grid (worker), then fuse."""
        ws = self.workspace
        if not self._patients_fusable():
            return
        self.runner.start(
            "align",
            align_task,
            ws.ct,
            ws.mri,
            ws.register_mode,
            self.pair_reference or self.settings.reference(),
            self.patients_allowed,
            label="Aligning",
            on_return=self._aligned_done,
            subject=self._pair_name(),
        )

    def set_register_mode(self, mode: str) -> None:
        """How to align (``auto``, ``geometry``, ``rigid``, ``none``); re-aligns a loaded pair."""
        self.workspace.set_register_mode(mode)
        if self.workspace.has_pair:
            self.align()

    def apply_transform(self, transform: object, *, accepted: bool = False) -> None:
        """Align the loaded pair by a given rigid transform (MRI grid points -> CT points).

        ``accepted``: the transform was accepted before (a reopened session), so the fusion
        starts without asking for Accept again.
        """
        ws = self.workspace
        if not ws.has_pair or not self._patients_fusable():
            return
        self.runner.start(
            "align",
            transform_task,
            ws.ct,
            ws.mri,
            transform,
            self.patients_allowed,
            label="Aligning",
            on_return=lambda result: self._aligned_done(result, accepted=accepted),
        )

    def _aligned_done(self, result: Aligned, *, accepted: bool = False) -> None:
        pair = result.pair
        hold = self.confirm_rigid and pair.mode == "rigid" and not accepted
        self.workspace.set_grid(
            pair.ct, pair.mri, mr_auto=result.mr_default, alignment=pair, accepted=not hold
        )
        self.aligned.emit(list(pair.warnings))
        if hold:
            self.check_requested.emit()
        else:
            self.start_fusion()

    def fuse_again(self) -> None:
        """Fuse the pair again; after a failed alignment, align it again first (no dead end)."""
        ws = self.workspace
        if ws.has_grid:
            self.start_fusion()
        elif ws.has_pair:
            self.align()

    def accept_alignment(self) -> None:
        """Accept the alignment on screen and fuse on it."""
        if self.workspace.has_grid:
            self.workspace.accept_alignment()
            self.start_fusion()

    def start_fusion(self, label: str = "Fusing") -> None:
        """Fuse the slice on screen first, then every other slice, in one worker.

        After a Cancel with the same windows, only the slices left are fused. ``label`` is
        the progress bar's text (a fusion started again for a new window says so, so that
        the bar going back to 0 % reads as a new run, not as lost progress).
        """
        ws = self.workspace
        if not ws.has_grid or ws.alignment is None or not ws.alignment_accepted:
            return
        if ws.fusion_cancelled and not ws.windows_changed_since_fusion():
            ws.resume_fusion()
            self.runner.start(
                "fuse",
                resume_task,
                ws.fusion,
                ws.slice_index,
                label="Fusing",
                on_yield=self._fusion_step,
                on_return=self._fusion_done,
            )
            return
        ct_window, mr_window = ws.fusion_windows()
        ws.invalidate_fusion()
        request = FusionRequest(
            ws.alignment,
            ct_window,
            mr_window,
            ws.slice_index,
            self.patients_allowed,
            mr_default=ws.mr_auto_window,
        )
        self.runner.start(
            "fuse",
            fusion_task,
            request,
            self.get_fuser,
            label=label,
            subject=self._pair_name(),
            on_yield=self._fusion_step,
            on_return=self._fusion_done,
        )

    def _fusion_done(self, _fusion: object) -> None:
        return_free_memory()
        self.fusion_finished.emit()

    def _fusion_step(self, payload: SliceDone) -> None:
        ws = self.workspace
        if payload.step is None:
            ws.start_fusion(payload.fusion)
        elif payload.fusion is ws.fusion:
            ws.slice_fused(payload.step.index, payload.ms)

    def refuse_if_windows_changed(self) -> None:
        """Follow the windows on screen when they differ from those of the last fusion.

        A finished CNN fusion is recomposed with the new windows in a worker (its decision map
        does not depend on them: no encoder run); otherwise the pair is fused again.
        """
        ws = self.workspace
        if not ws.windows_changed_since_fusion():
            return
        fusion = ws.fusion
        if fusion is not None and fusion.fuser.method == "cnn" and fusion.done.all():
            ct_window, mr_window = ws.fusion_windows()

            def recomposed(new: PairFusion) -> None:
                if ws.fusion is fusion:  # not a new pair or fusion meanwhile
                    ws.start_fusion(new)
                    self.fusion_finished.emit()

            self.runner.start(
                "fuse",
                recompose_task,
                fusion,
                ws.alignment,
                ct_window,
                mr_window,
                self.patients_allowed,
                label="Recomposing",
                subject=self._pair_name(),
                on_return=recomposed,
            )
            return
        self.start_fusion("New window, fusing again")

    # ------------------------------------------------------------------ export
    def pair_result(self) -> PairResult:
        """Return the finished fusion as a :class:`~brainfuse.model.results.PairResult`.

        The reader's edits are applied (the automatic maps stay in its ``fusion``).

        Raises
        ------
        RuntimeError
            Nothing is fused yet.
        """
        fusion = self.workspace.fusion
        if fusion is None or not fusion.done.any():
            raise RuntimeError("nothing has been fused yet")
        return self.workspace.edited_result(fusion.result())

    def export(self, request: ExportRequest) -> None:
        """Write an export in a worker; :attr:`exported` tells the files."""
        self.runner.start(
            "export",
            export_task,
            request,
            label="Exporting",
            subject=str(request.path),
            on_return=lambda written: self.exported.emit(list(written)),
        )
