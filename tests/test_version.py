import re
from pathlib import Path

import pytest

import brainfuse
from brainfuse._runtime.version import __version__
from brainfuse.cli import main
from brainfuse.export.provenance import make_provenance

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_reads_the_version_from_the_one_module():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "brainfuse._runtime.version.__version__"


def test_version_is_a_release_number_and_the_package_says_it():
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", __version__)
    assert brainfuse.__version__ == __version__


def test_cli_and_provenance_show_the_same_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"brainfuse {__version__}"
    assert make_provenance(method="cnn")["software"] == f"BrainFuse {__version__}"


def test_changelog_has_a_section_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog
