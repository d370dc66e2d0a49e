"""Time retrieving and sending a DICOM series with a local Orthanc, against copying its files.

Retrieves over C-GET, C-MOVE and WADO-RS, against copying the same files, and sends over
C-STORE and STOW-RS. Starts a throw-away Orthanc (the tests' helper, tests/pacs/orthanc.py)
on loopback ports, stores the series once, then repeats each retrieve into a fresh folder
(the full ``brainfuse.pacs.get``: C-FIND for the counts, transfer, checks, rename). Prints
the median and the fastest of the runs in seconds. The copy is ``shutil.copytree`` of the
same files (hot in the page cache, as the PACS's are).

Usage::

    python scripts/pacs_timing.py [SERIES_DIR] [--repeat 5]

(default SERIES_DIR: ../shared/data/dicom/ct/cranium_ct_series)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "app")]

from tests.pacs.orthanc import ORTHANC_AET, OUR_AET, start_orthanc  # noqa: E402

from brainfuse.pacs import Node, connect, get, send  # noqa: E402


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Time each retrieve, the copy and each send of the series; print a table (s)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO.parent / "shared" / "data" / "dicom" / "ct" / "cranium_ct_series"
    parser.add_argument("series", nargs="?", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(p for p in args.series.iterdir() if p.is_file())
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    import pydicom

    first = pydicom.dcmread(files[0], stop_before_pixels=True)
    study, series = first.StudyInstanceUID, first.SeriesInstanceUID

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = start_orthanc(tmp / "orthanc")
        try:
            dimse = dict(host="127.0.0.1", port=server.dicom_port, called_aet=ORTHANC_AET)
            nodes = {
                "C-GET": Node("get", aet=OUR_AET, **dimse),
                "C-MOVE": Node(
                    "move", aet=OUR_AET, retrieve="move", move_port=server.move_port, **dimse
                ),
                "WADO-RS": Node("web", url=server.url),
            }
            sends = {
                "C-STORE": _time(lambda: send(connect(nodes["C-GET"]), [args.series])),
                "STOW-RS": _time(lambda: send(connect(nodes["WADO-RS"]), [args.series])),
            }
            runs: dict[str, list[float]] = {"copy": [], **{k: [] for k in nodes}}
            for r in range(args.repeat):
                runs["copy"].append(
                    _time(lambda r=r: shutil.copytree(args.series, tmp / f"copy{r}"))
                )
                for label, node in nodes.items():
                    out = tmp / f"{node.name}{r}"
                    client = connect(node)
                    runs[label].append(
                        _time(lambda c=client, o=out: get(c, study, o, series_uid=series))
                    )
                    assert len(list(out.iterdir())) == len(files)
        finally:
            server.stop()

    print(f"{len(files)} files, {size_mb:.1f} MB, {args.repeat} runs each (loopback Orthanc)")
    print("| transfer | median (s) | fastest (s) |")
    print("|---|---|---|")
    for label, times in runs.items():
        print(f"| retrieve {label} | {statistics.median(times):.2f} | {min(times):.2f} |")
    for label, t in sends.items():
        print(f"| send {label} (once) | {t:.2f} | |")


if __name__ == "__main__":
    main()
