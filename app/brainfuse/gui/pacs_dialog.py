"""File › Open from PACS… and Send to PACS…: the window's side of :mod:`brainfuse.pacs`.

:class:`OpenFromPacsDialog` has a query form, a study/series tree, and buttons to retrieve the
chosen series (progress bar, Cancel) into the local cache and open it as CT or MRI: it emits
:attr:`~OpenFromPacsDialog.series_ready` ``(role, folder)`` and the window loads the folder as
it loads any DICOM folder. :class:`SendToPacsDialog` sends a folder (a DICOM export) and lists
what the PACS refused. All network work runs in a worker thread; errors appear as one line in
the dialog. Neither dialog is modal, so the window stays usable while a series arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets
from superqt.utils import create_worker

from brainfuse.errors import BrainFuseError, CancelledError

__all__ = ["OpenFromPacsDialog", "SendToPacsDialog"]

_MODALITIES = ("", "CT", "MR", "PT", "NM", "SC")
_UID_ROLE = QtCore.Qt.ItemDataRole.UserRole


class _PacsDialogBase(QtWidgets.QDialog):
    """Node chooser, status line, progress bar, Cancel; runs one background job at a time.

    Signals
    -------
    progressed(done, total) : images (or files) transferred so far.
    job_done() : the current job ended (success, error or cancel).
    """

    progressed = QtCore.Signal(int, int)
    job_done = QtCore.Signal()

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(False)
        self.node = QtWidgets.QComboBox()
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self._cancel = threading.Event()
        self._worker: Any = None
        self.progressed.connect(self._show_progress)
        self.reload_nodes()

    # -- nodes ------------------------------------------------------------------------
    def reload_nodes(self) -> None:
        """Fill the node chooser from the configured nodes (the first is the default)."""
        from brainfuse.pacs import load_nodes

        self.node.clear()
        try:
            nodes = load_nodes()
        except BrainFuseError as exc:
            nodes = []
            self.show_error(str(exc))
        for node in nodes:
            self.node.addItem(node.describe(), node.name)
        if not nodes:
            self.show_error(
                "No PACS node configured: add one in File › PACS nodes… (or with "
                "'brainfuse pacs add NAME ...')."
            )

    def client(self):
        """Connect to the chosen node; None (the reason shown) when there is none."""
        from brainfuse.gui.pacs_nodes import ensure_secret
        from brainfuse.pacs import connect, get_node

        name = self.node.currentData()
        try:
            if name is None:
                raise BrainFuseError("no PACS node configured")
            node = get_node(name)
            if not ensure_secret(self, node):
                raise BrainFuseError(f"no password or token given for {name}")
            return connect(node)
        except BrainFuseError as exc:
            self.show_error(str(exc))
            return None

    # -- status -----------------------------------------------------------------------
    def action_row(self, button: QtWidgets.QPushButton) -> QtWidgets.QHBoxLayout:
        """Return the bottom row: progress bar (stretching), Cancel, then ``button``."""
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(button)
        return bottom

    def show_error(self, text: str) -> None:
        self.status.setStyleSheet("color: #c0392b;")
        self.status.setText(text)

    def show_info(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total > 0 else 0)
        self.progress.setFormat(f"{done} of {total}" if total > 0 else f"{done}")

    # -- jobs -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._worker is not None

    def run_job(
        self,
        label: str,
        job: Callable[[Callable[[int, int], None], threading.Event], Any],
        on_done: Callable[[Any], None],
    ) -> None:
        """Run ``job(progress, cancel)`` in a worker; ``on_done(result)`` on the GUI thread."""
        if self.busy:
            return
        self._cancel = threading.Event()
        cancel = self._cancel
        self.show_info(label + "…")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self._set_enabled(False)
        worker = create_worker(
            job, self.progressed.emit, cancel, _start_thread=False, _ignore_errors=True
        )
        results: list = []
        worker.returned.connect(results.append)
        worker.errored.connect(self._failed)
        worker.finished.connect(lambda: self._finished(on_done, results))
        self._worker = worker
        worker.start()

    def cancel(self) -> None:
        """Stop the running job at its next image; nothing partial is kept."""
        self._cancel.set()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, CancelledError):
            self.show_info(f"Cancelled: {exc}")
        elif isinstance(exc, BrainFuseError):
            self.show_error(str(exc))
        else:  # a bug: still one line, not a crash of the window
            self.show_error(f"Unexpected error: {type(exc).__name__}: {exc}")

    def _finished(self, on_done: Callable[[Any], None], results: list) -> None:
        # The dialog is idle again before the result is handed on, so a handler (or the
        # user) may start the next job at once.
        self._worker = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._set_enabled(True)
        if results:
            on_done(results[0])
        self.job_done.emit()

    def _set_enabled(self, enabled: bool) -> None:  # pragma: no cover - overridden
        pass

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.cancel()
        super().closeEvent(event)


class OpenFromPacsDialog(_PacsDialogBase):
    """Query form, study/series list, retrieve with progress and Cancel, open as CT or MRI.

    Signals
    -------
    series_ready(role, folder) : a series is in the local cache; ``role`` is "ct" or "mri".
    searched(n_studies) : a search finished.
    """

    series_ready = QtCore.Signal(str, str)
    searched = QtCore.Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__("Open from PACS", parent)
        self.patient_id = QtWidgets.QLineEdit()
        self.patient_name = QtWidgets.QLineEdit()
        self.patient_name.setPlaceholderText("DOE^J*")
        self.study_date = QtWidgets.QLineEdit()
        self.study_date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.modality = QtWidgets.QComboBox()
        for m in _MODALITIES:
            self.modality.addItem(m or "any", m)
        self.search_button = QtWidgets.QPushButton("Search")
        self.search_button.setDefault(True)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderLabels(["Study / series", "Date", "Patient", "Modality", "Images"])
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.open_ct_button = QtWidgets.QPushButton("Open as CT")
        self.open_mri_button = QtWidgets.QPushButton("Open as MRI")

        form = QtWidgets.QFormLayout()
        form.addRow("PACS", self.node)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Study date", self.study_date)
        form.addRow("Modality", self.modality)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.search_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_ct_button)
        buttons.addWidget(self.open_mri_button)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.status)

        self.search_button.clicked.connect(self.search)
        self.open_ct_button.clicked.connect(lambda: self.retrieve("ct"))
        self.open_mri_button.clicked.connect(lambda: self.retrieve("mri"))
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()
        self.resize(820, 560)

    @classmethod
    def open_for(cls, window) -> OpenFromPacsDialog:
        """Show the dialog over ``window`` and open what it retrieves there.

        ``window`` needs ``open_ct(path)`` and ``open_mri(path)`` (the main window has them).
        """
        dialog = cls(window)
        dialog.series_ready.connect(
            lambda role, folder: (window.open_ct if role == "ct" else window.open_mri)(folder)
        )
        dialog.show()
        return dialog

    def query(self):
        """Read the form as a :class:`brainfuse.pacs.Query`."""
        from brainfuse.pacs import Query

        return Query(
            patient_id=self.patient_id.text().strip(),
            patient_name=self.patient_name.text().strip(),
            study_date=self.study_date.text().strip(),
            modality=self.modality.currentData() or "",
        )

    def search(self) -> None:
        """Search the chosen node in the background and fill the tree."""
        try:
            query = self.query().validated()
        except BrainFuseError as exc:
            self.show_error(str(exc))
            return
        client = self.client()
        if client is None:
            return
        self.tree.clear()
        self.run_job("Searching", lambda _p, _c: client.find(query), self._found)

    def _found(self, studies) -> None:
        self.tree.clear()
        for study in studies:
            top = QtWidgets.QTreeWidgetItem(
                [
                    study.description or study.study_uid,
                    study.date,
                    f"{study.patient_name} ({study.patient_id})",
                    study.modalities,
                    _count(study.n_instances),
                ]
            )
            top.setData(0, _UID_ROLE, (study.study_uid, None))
            top.setToolTip(0, study.study_uid)
            for s in study.series:
                child = QtWidgets.QTreeWidgetItem(
                    [
                        f"#{s.number} {s.description}".strip(),
                        "",
                        "",
                        s.modality,
                        _count(s.n_instances),
                    ]
                )
                child.setData(0, _UID_ROLE, (study.study_uid, s.series_uid))
                child.setToolTip(0, s.series_uid)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        for column in range(self.tree.columnCount()):
            self.tree.resizeColumnToContents(column)
        n = len(studies)
        self.show_info(f"{n} stud{'y' if n == 1 else 'ies'} found." if n else "No study matches.")
        self.searched.emit(n)

    def selected_series(self) -> tuple[str, str] | None:
        """(study UID, series UID) of the selected series row, or None."""
        items = self.tree.selectedItems()
        if not items:
            return None
        study_uid, series_uid = items[0].data(0, _UID_ROLE)
        return (study_uid, series_uid) if series_uid else None

    def select_series(self, series_uid: str) -> bool:
        """Select the row of ``series_uid``; False when it is not listed."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            for j in range(top.childCount()):
                child = top.child(j)
                if child is not None and child.data(0, _UID_ROLE)[1] == series_uid:
                    self.tree.setCurrentItem(child)
                    return True
        return False

    def _selection_changed(self) -> None:
        enabled = self.selected_series() is not None and not self.busy
        self.open_ct_button.setEnabled(enabled)
        self.open_mri_button.setEnabled(enabled)

    def _set_enabled(self, enabled: bool) -> None:
        self.search_button.setEnabled(enabled)
        self.node.setEnabled(enabled)
        if enabled:
            self._selection_changed()
        else:
            self.open_ct_button.setEnabled(False)
            self.open_mri_button.setEnabled(False)

    def retrieve(self, role: str) -> None:
        """Retrieve the selected series into the cache (unless there), then emit it."""
        from brainfuse.pacs import cached_series

        chosen = self.selected_series()
        if chosen is None:
            self.show_error("Choose a series first.")
            return
        client = self.client()
        if client is None:
            return
        study_uid, series_uid = chosen

        def job(progress, cancel):
            return cached_series(client, study_uid, series_uid, progress=progress, cancel=cancel)

        def done(result) -> None:
            folder, from_cache = result
            how = "from the local cache" if from_cache else "retrieved"
            self.show_info(f"Opening as {role.upper()} ({how}): {folder}")
            self.series_ready.emit(role, str(folder))

        self.run_job(f"Retrieving for {role.upper()}", job, done)


class SendToPacsDialog(_PacsDialogBase):
    """Send a folder (e.g. a DICOM export) to a node; lists the files the PACS refused.

    Signals
    -------
    sent(n_stored, n_files) : a send finished.
    """

    sent = QtCore.Signal(int, int)

    def __init__(self, folder: str | Path | None = None, parent=None) -> None:
        super().__init__("Send to PACS", parent)
        self.path = QtWidgets.QLineEdit(str(folder) if folder else "")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.send_button = QtWidgets.QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.refused = QtWidgets.QListWidget()
        self.refused.setVisible(False)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QtWidgets.QFormLayout()
        form.addRow("PACS", self.node)
        form.addRow("DICOM folder", row)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self.action_row(self.send_button))
        layout.addWidget(self.status)
        layout.addWidget(self.refused, 1)
        self.resize(640, 240)

    @classmethod
    def open_for(cls, window, folder: str | Path | None = None) -> SendToPacsDialog:
        """Show the dialog over ``window`` with ``folder`` (e.g. the last DICOM export)."""
        dialog = cls(folder, window)
        dialog.show()
        return dialog

    def _browse(self) -> None:
        chosen = QtWidgets.QFileDialog.getExistingDirectory(self, "DICOM folder to send")
        if chosen:
            self.path.setText(chosen)

    def _set_enabled(self, enabled: bool) -> None:
        self.send_button.setEnabled(enabled)
        self.node.setEnabled(enabled)

    def send(self) -> None:
        """Send the folder's files in the background."""
        from brainfuse.pacs import send

        text = self.path.text().strip()
        if not text:
            self.show_error("Choose the DICOM folder to send.")
            return
        client = self.client()
        if client is None:
            return
        self.refused.clear()
        self.refused.setVisible(False)
        self.run_job(
            "Sending",
            lambda progress, cancel: send(client, [text], progress=progress, cancel=cancel),
            self._sent,
        )

    def _sent(self, results) -> None:
        refused = [r for r in results if not r.ok]
        stored = len(results) - len(refused)
        message = f"{stored} of {len(results)} files stored."
        if refused:
            self.show_error(message + f" {len(refused)} refused:")
            for r in refused:
                self.refused.addItem(f"{r.path.name}: {r.message}")
            self.refused.setVisible(True)
        else:
            self.show_info(message)
        self.sent.emit(stored, len(results))


def _count(n: int) -> str:
    return "?" if n < 0 else str(n)
