"""Print line and branch coverage of the test run, and hold the floor outside the window.

Usage (after ``pytest --cov``; ``.ci/test`` runs it)::

    python scripts/coverage_figures.py [--data .coverage] [--floor 85]

Two rows: the whole package, and the package without ``brainfuse/gui`` (the window is
tested offscreen, but its figure is not the one the floor holds). Each row gives lines and
branches covered, as percentages and counts. Exits 1 when the lines covered outside ``gui``
fall under ``--floor`` percent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import coverage

GUI = "*/brainfuse/gui/*"


def totals(data: str, omit: list[str]) -> dict[str, float]:
    """Coverage totals of the data file ``data`` without the files matching ``omit``."""
    cov = coverage.Coverage(data_file=data)
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(out), omit=omit or None)
        return json.loads(out.read_text())["totals"]


def row(name: str, t: dict[str, float]) -> str:
    """One line of figures: lines and branches, percent and counts."""
    lines = 100.0 * t["covered_lines"] / max(t["num_statements"], 1)
    branches = 100.0 * t["covered_branches"] / max(t["num_branches"], 1)
    return (
        f"{name:<22} lines {lines:5.1f} % ({t['covered_lines']}/{t['num_statements']})   "
        f"branches {branches:5.1f} % ({t['covered_branches']}/{t['num_branches']})"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the figures; return 1 when the floor is not held."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=".coverage", help="coverage data file")
    parser.add_argument("--floor", type=float, default=85.0, help="percent of lines, not gui")
    args = parser.parse_args(argv)
    whole = totals(args.data, [])
    core = totals(args.data, [GUI])
    print(row("brainfuse", whole))
    print(row("brainfuse without gui", core))
    lines = 100.0 * core["covered_lines"] / max(core["num_statements"], 1)
    if lines < args.floor:
        print(
            f"coverage: {lines:.1f} % of the lines outside gui, under the floor of {args.floor} %"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
