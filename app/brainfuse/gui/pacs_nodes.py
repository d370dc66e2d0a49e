"""File › PACS nodes…: add, edit, remove and test PACS nodes, and see the retrieve cache.

The form has the fields of ``brainfuse pacs add`` (DIMSE or DICOMweb, TLS with a CA file and
an optional client certificate, Basic or bearer login) and the same checks
(:meth:`brainfuse.pacs.Node.validated`). A password or token typed here goes to the system
keyring when one works (else it is kept for this session only) and never into the node file.
Test runs an echo in a worker thread; its answer or its one-line failure is shown in the
dialog. The cache group shows where retrieved series are kept, how much they take and the
bound, and empties the cache.

:func:`ensure_secret` asks once per session for the password or token of a node that needs
one and has none stored (the Open/Send from PACS dialogs call it before connecting).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from brainfuse.errors import BrainFuseError
from brainfuse.gui.pacs_dialog import _PacsDialogBase

__all__ = ["PacsNodesDialog", "ensure_secret"]

_PROTOCOLS = (("DIMSE (DICOM network)", "dimse"), ("DICOMweb (HTTP/HTTPS)", "dicomweb"))
_AUTH = (("none", "none"), ("HTTP Basic (user name + password)", "basic"),
         ("Bearer token (OAuth2)", "bearer"))  # fmt: skip
_MB = 1000**2


def ensure_secret(parent: QtWidgets.QWidget | None, node) -> bool:
    """Make sure ``node``'s password or token is known; ask once per session if not.

    Returns False when the user cancelled (the caller then does not connect).
    """
    from brainfuse.pacs.secrets import find_secret, remember_for_session

    if node.auth == "none" or find_secret(node.name) is not None:
        return True
    what = "token" if node.auth == "bearer" else f"password of {node.username}"
    text, ok = QtWidgets.QInputDialog.getText(
        parent,
        "PACS login",
        f"The {what} for PACS node {node.name} (kept for this session only):",
        QtWidgets.QLineEdit.EchoMode.Password,
    )
    if not ok or not text:
        return False
    remember_for_session(node.name, text)
    return True


def _file_row(edit: QtWidgets.QLineEdit, caption: str, parent) -> QtWidgets.QWidget:
    """``edit`` with a "…" button that picks a PEM file into it."""
    box = QtWidgets.QWidget()
    row = QtWidgets.QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit)
    browse = QtWidgets.QPushButton("…")
    browse.setFixedWidth(32)

    def pick() -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            parent, caption, "", "PEM (*.pem *.crt *.key);;All files (*)"
        )
        if path:
            edit.setText(path)

    browse.clicked.connect(pick)
    row.addWidget(browse)
    return box


class PacsNodesDialog(_PacsDialogBase):
    """The list of nodes, a form for one, Save / Remove / Test, and the cache's use.

    Signals
    -------
    nodes_changed() : a node was saved or removed.
    tested(ok, message) : a Test ended (``message``: the answer time or the failure line).
    """

    nodes_changed = QtCore.Signal()
    tested = QtCore.Signal(bool, str)

    def __init__(self, parent=None) -> None:
        self.list = QtWidgets.QListWidget()
        self._outcome: tuple[bool, str] | None = None
        super().__init__("PACS nodes", parent)
        self.name = QtWidgets.QLineEdit()
        self.protocol = QtWidgets.QComboBox()
        for label, value in _PROTOCOLS:
            self.protocol.addItem(label, value)
        self.host = QtWidgets.QLineEdit()
        self.port = QtWidgets.QSpinBox()
        self.port.setRange(0, 65535)
        self.called_aet = QtWidgets.QLineEdit()
        self.aet = QtWidgets.QLineEdit("BRAINFUSE")
        self.retrieve = QtWidgets.QComboBox()
        self.retrieve.addItems(["get", "move"])
        self.move_port = QtWidgets.QSpinBox()
        self.move_port.setRange(0, 65535)
        self.url = QtWidgets.QLineEdit()
        self.url.setPlaceholderText("https://pacs.hospital/dicom-web")
        self.timeout = QtWidgets.QDoubleSpinBox()
        self.timeout.setRange(0.5, 600.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(10.0)
        self.tls = QtWidgets.QCheckBox("DICOM TLS")
        self.ca_file, self.cert_file, self.key_file = (QtWidgets.QLineEdit() for _ in range(3))
        self.auth = QtWidgets.QComboBox()
        for label, value in _AUTH:
            self.auth.addItem(label, value)
        self.username = QtWidgets.QLineEdit()
        self.secret = QtWidgets.QLineEdit()
        self.secret.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("unchanged when empty")
        self.new_button = QtWidgets.QPushButton("New")
        self.save_button = QtWidgets.QPushButton("Save")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.test_button = QtWidgets.QPushButton("Test")
        self.cache_folder = QtWidgets.QLabel()
        self.cache_folder.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.cache_used = QtWidgets.QLabel()
        self.cache_limit = QtWidgets.QSpinBox()
        self.cache_limit.setRange(1, 10_000_000)
        self.cache_limit.setSuffix(" MB")
        self.clear_cache_button = QtWidgets.QPushButton("Clear cache")
        self._layout()
        self._connect()
        self.reload_nodes()
        self.show_cache()
        self._protocol_changed()

    # -- layout -----------------------------------------------------------------------
    def _layout(self) -> None:
        form = QtWidgets.QFormLayout()
        for label, widget in (
            ("Name", self.name), ("Protocol", self.protocol), ("Host", self.host),
            ("Port", self.port), ("Called AE title", self.called_aet), ("Our AE title", self.aet),
            ("Retrieve", self.retrieve), ("C-MOVE port", self.move_port), ("URL", self.url),
            ("Timeout", self.timeout), ("", self.tls),
            ("CA file", _file_row(self.ca_file, "CA certificate", self)),
            ("Client certificate", _file_row(self.cert_file, "Client certificate", self)),
            ("Client key", _file_row(self.key_file, "Client key", self)),
            ("Login", self.auth), ("User name", self.username), ("Password / token", self.secret),
        ):  # fmt: skip
            form.addRow(label, widget)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.new_button, self.save_button, self.remove_button, self.test_button):
            buttons.addWidget(b)
        cache = QtWidgets.QGroupBox("Retrieve cache (patient data on this computer)")
        cache_form = QtWidgets.QFormLayout(cache)
        cache_form.addRow("Folder", self.cache_folder)
        cache_form.addRow("In use", self.cache_used)
        cache_form.addRow("At most", self.cache_limit)
        cache_form.addRow("", self.clear_cache_button)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(form)
        right.addLayout(buttons)
        right.addWidget(self.status)
        right.addWidget(self.progress)
        right.addWidget(cache)
        top = QtWidgets.QHBoxLayout(self)
        top.addWidget(self.list, 1)
        top.addLayout(right, 2)

    def _connect(self) -> None:
        self.list.currentItemChanged.connect(lambda item, _prev: self._show_node(item))
        self.protocol.currentIndexChanged.connect(self._protocol_changed)
        self.new_button.clicked.connect(self.new_node)
        self.save_button.clicked.connect(self.save_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.test_button.clicked.connect(self.test_node)
        self.cache_limit.editingFinished.connect(self._limit_changed)
        self.clear_cache_button.clicked.connect(self.clear_cache)
        self.job_done.connect(self._report_test)

    def _protocol_changed(self) -> None:
        web = self.protocol.currentData() == "dicomweb"
        for widget in (self.host, self.port, self.called_aet, self.aet, self.retrieve,
                       self.move_port, self.tls):  # fmt: skip
            widget.setEnabled(not web)
        for widget in (self.url, self.auth, self.username, self.secret):
            widget.setEnabled(web)

    # -- nodes ------------------------------------------------------------------------
    def reload_nodes(self) -> None:
        """Fill the list from the node file (the form keeps what it shows)."""
        from brainfuse.pacs import load_nodes

        current = self.list.currentItem().text() if self.list.currentItem() else None
        self.list.blockSignals(True)
        self.list.clear()
        try:
            names = [n.name for n in load_nodes()]
        except BrainFuseError as exc:
            names = []
            self.show_error(str(exc))
        self.list.addItems(names)
        if current in names:
            self.list.setCurrentRow(names.index(current))
        self.list.blockSignals(False)

    def select(self, name: str) -> bool:
        """Show the node ``name`` in the form; False if there is none."""
        found = self.list.findItems(name, QtCore.Qt.MatchFlag.MatchExactly)
        if found:
            self.list.setCurrentItem(found[0])
        return bool(found)

    def _show_node(self, item: QtWidgets.QListWidgetItem | None) -> None:
        from brainfuse.pacs import get_node

        if item is None:
            return
        try:
            node = get_node(item.text())
        except BrainFuseError as exc:
            self.show_error(str(exc))
            return
        self.name.setText(node.name)
        self.protocol.setCurrentIndex(1 if node.url else 0)
        self.host.setText(node.host)
        self.port.setValue(node.port)
        self.called_aet.setText(node.called_aet)
        self.aet.setText(node.aet)
        self.retrieve.setCurrentText(node.retrieve)
        self.move_port.setValue(node.move_port)
        self.url.setText(node.url)
        self.timeout.setValue(node.timeout)
        self.tls.setChecked(node.tls)
        self.ca_file.setText(node.ca_file)
        self.cert_file.setText(node.cert_file)
        self.key_file.setText(node.key_file)
        self.auth.setCurrentIndex(max(self.auth.findData(node.auth), 0))
        self.username.setText(node.username)
        self.secret.clear()
        self.show_info(node.describe())

    def node_from_form(self):
        """Return the form as a checked :class:`brainfuse.pacs.Node` (PacsError if wrong)."""
        from brainfuse.pacs import Node

        web = self.protocol.currentData() == "dicomweb"
        auth = self.auth.currentData() if web else "none"
        return Node(
            name=self.name.text().strip(),
            host="" if web else self.host.text().strip(),
            port=0 if web else self.port.value(),
            called_aet="" if web else self.called_aet.text().strip(),
            aet=self.aet.text().strip() or "BRAINFUSE",
            url=self.url.text().strip() if web else "",
            retrieve="get" if web else self.retrieve.currentText(),
            move_port=0 if web else self.move_port.value(),
            timeout=float(self.timeout.value()),
            tls=False if web else self.tls.isChecked(),
            ca_file=self.ca_file.text().strip(),
            cert_file=self.cert_file.text().strip(),
            key_file=self.key_file.text().strip(),
            auth=auth,
            username=self.username.text().strip() if auth == "basic" else "",
        ).validated()

    def new_node(self) -> None:
        """Clear the form for a new node."""
        self.list.setCurrentRow(-1)
        for edit in (self.name, self.host, self.called_aet, self.url, self.ca_file,
                     self.cert_file, self.key_file, self.username, self.secret):  # fmt: skip
            edit.clear()
        self.port.setValue(0)
        self.move_port.setValue(0)
        self.show_info("A new node: fill in the form and Save.")

    def _keep_secret(self, node, *, store: bool) -> str:
        """Keep a typed password/token: the keyring when saving (if one works), else session."""
        from brainfuse.pacs.secrets import keyring_works, remember_for_session, store_secret

        text = self.secret.text()
        if node.auth == "none" or not text:
            return ""
        if store and keyring_works():
            store_secret(node.name, text)
            return " (login kept in the system keyring)"
        remember_for_session(node.name, text)
        return " (login kept for this session only: no system keyring works here)"

    def save_node(self) -> bool:
        """Add the form's node, or update the node of that name; False (reason shown) if not."""
        from brainfuse.pacs import add_node, load_nodes

        try:
            node = self.node_from_form()
            exists = node.name in [n.name for n in load_nodes()]
            add_node(node, replace=exists)
            where = self._keep_secret(node, store=True)
        except BrainFuseError as exc:
            self.show_error(str(exc))
            return False
        self.reload_nodes()
        self.select(node.name)
        self.show_info(f"Saved {node.describe()}{where}")
        self.nodes_changed.emit()
        return True

    def remove_node(self) -> bool:
        """Forget the selected node (and its stored login)."""
        from brainfuse.pacs import remove_node

        item = self.list.currentItem()
        if item is None:
            self.show_error("Choose the node to remove in the list.")
            return False
        name = item.text()
        try:
            remove_node(name)
        except BrainFuseError as exc:
            self.show_error(str(exc))
            return False
        self.reload_nodes()
        self.new_node()
        self.show_info(f"Removed {name}.")
        self.nodes_changed.emit()
        return True

    def test_node(self) -> None:
        """Echo the node in the form (saved or not) in a worker; the answer is shown."""
        from brainfuse.pacs import connect

        try:
            node = self.node_from_form()
            self._keep_secret(node, store=False)
        except BrainFuseError as exc:
            self.show_error(str(exc))
            self.tested.emit(False, str(exc))
            return
        if not ensure_secret(self, node):
            self.show_error("No password or token given: nothing was tested.")
            return

        def job(_progress, _cancel) -> float:
            return connect(node).echo()

        def done(ms: float) -> None:
            message = f"{node.name} answered in {ms:.0f} ms."
            self.show_info(message)
            self._outcome = (True, message)

        self._outcome = None
        self.run_job(f"Testing {node.name}", job, done)

    def _failed(self, exc: BaseException) -> None:
        super()._failed(exc)
        self._outcome = (False, self.status.text())

    def _report_test(self) -> None:
        """Emit :attr:`tested` once the job is over (the dialog is idle again by then)."""
        if self._outcome is not None:
            outcome, self._outcome = self._outcome, None
            self.tested.emit(*outcome)

    def _set_enabled(self, enabled: bool) -> None:
        for b in (self.new_button, self.save_button, self.remove_button, self.test_button):
            b.setEnabled(enabled)

    # -- cache ------------------------------------------------------------------------
    def show_cache(self) -> None:
        """Show the cache's folder, its use and its bound."""
        from brainfuse.pacs import cache_usage

        usage = cache_usage()
        self.cache_folder.setText(str(usage.folder))
        self.cache_used.setText(
            f"{usage.n_bytes / _MB:.1f} MB in {usage.n_studies} studies ({usage.n_series} series)"
        )
        self.cache_limit.blockSignals(True)
        self.cache_limit.setValue(max(1, round(usage.limit / _MB)))
        self.cache_limit.blockSignals(False)

    def _limit_changed(self) -> None:
        from brainfuse.pacs import set_cache_limit

        try:
            set_cache_limit(self.cache_limit.value() * _MB)
        except BrainFuseError as exc:
            self.show_error(str(exc))
        self.show_cache()

    def clear_cache(self) -> None:
        """Empty the retrieve cache (after a confirmation when the dialog is shown)."""
        from brainfuse.pacs import clear_cache

        if self.isVisible():
            answer = QtWidgets.QMessageBox.question(
                self, "Clear the PACS cache", "Remove every retrieved series from this computer?"
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
        freed = clear_cache()
        self.show_cache()
        self.show_info(f"Cache cleared ({freed / _MB:.1f} MB freed).")

    @classmethod
    def open_for(cls, window: Any) -> PacsNodesDialog:
        """Show the dialog over ``window``."""
        dialog = cls(window)
        dialog.show()
        return dialog
