"""Write the third-party notices of a frozen bundle from what the bundle actually holds.

``packaging/brainfuse.spec`` writes a manifest of every Python module, library and data
file it put into the bundle, each with the path it was copied from. Each source path is
traced to the component that installed it: a Python distribution (its ``RECORD``), the
Python interpreter itself, BrainFuse's own tree, or a Debian package (``dpkg -S``) for a
system library the freezer pulled in. The notices give, per component, its version, its
declared licence and the full text of every licence file it ships. A bundled file whose
origin cannot be traced stops the build: no library ships without its notice.

Usage::

    python packaging/notices.py MANIFEST.json REPO_ROOT OUT.txt
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

_LICENCE_NAMES = ("licen", "copying", "notice", "authors", "copyright")


def _distribution_files() -> dict[str, metadata.Distribution]:
    """Map every installed file (resolved path) of the build's Python to its distribution."""
    owner: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        for entry in dist.files or ():
            try:
                owner[str(Path(dist.locate_file(entry)).resolve())] = dist
            except OSError:
                continue
    return owner


def _licence_texts(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """``(file name, text)`` of the licence files a distribution ships."""
    texts = []
    for entry in dist.files or ():
        name = entry.name.lower()
        inside_info = ".dist-info/" in str(entry) and (
            "/licenses/" in str(entry) or name.startswith(_LICENCE_NAMES)
        )
        if inside_info or (
            name.startswith(_LICENCE_NAMES) and entry.suffix in ("", ".txt", ".md", ".rst")
        ):
            path = Path(dist.locate_file(entry))
            if path.is_file() and path.stat().st_size < 2_000_000:
                texts.append((str(entry), path.read_text(encoding="utf-8", errors="replace")))
    return texts


def _declared_licence(dist: metadata.Distribution) -> str:
    """Return the declared licence: SPDX expression, short field or classifiers."""
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression
    declared = (meta.get("License") or "").strip()
    if declared and len(declared) < 120:
        return declared
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or ()
        if c.startswith("License ::")
    ]
    return "; ".join(classifiers) or ("see licence text" if declared else "not declared")


def _debian_package(path: str) -> str | None:
    """Return the Debian package that installed ``path`` (``/lib`` and ``/usr/lib`` tried)."""
    candidates = {path, str(Path(path).resolve())}
    for c in list(candidates):
        if c.startswith("/usr/lib/"):
            candidates.add(c[len("/usr") :])
        elif c.startswith("/lib/"):
            candidates.add("/usr" + c)
    for c in candidates:
        result = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, check=False)
        if result.returncode == 0 and ":" in result.stdout:
            return result.stdout.split(":")[0].strip()
    return None


def _debian_version(package: str) -> str:
    """Return the installed version of a Debian package."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    """Write the notices for ``argv = [manifest, repository root, output]``; 1 on an orphan."""
    manifest_path, root, out = Path(argv[0]), Path(argv[1]).resolve(), Path(argv[2])
    manifest = json.loads(manifest_path.read_text())
    sources = set(manifest["pure"])
    sources |= {src for _, src in manifest["binaries"]} | {src for _, src in manifest["datas"]}
    owner = _distribution_files()
    base = Path(sys.base_prefix).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    components: dict[str, dict] = {}
    orphans = []
    for src in sorted(sources):
        resolved = Path(src).resolve()
        key: str
        if str(resolved) in owner:
            dist = owner[str(resolved)]
            key = f"pypi:{dist.metadata['Name']}"
            components.setdefault(key, {"dist": dist, "files": 0})
        elif resolved.is_relative_to(root):
            continue  # BrainFuse itself: LICENSE at the bundle's top
        elif resolved.is_relative_to(base) or resolved.is_relative_to(stdlib):
            key = "python"
            components.setdefault(key, {"files": 0})
        elif (package := _debian_package(src)) is not None:
            key = f"deb:{package}"
            components.setdefault(key, {"package": package, "files": 0})
        else:
            orphans.append(src)
            continue
        components[key]["files"] += 1
    if orphans:
        print(
            "notices: bundled files of unknown origin (no notice can be written):", file=sys.stderr
        )
        for src in orphans[:40]:
            print(f"  {src}", file=sys.stderr)
        return 1

    summary, bodies = [], []
    for key in sorted(components, key=str.lower):
        c = components[key]
        if key == "python":
            name, version, licence = "Python", sys.version.split()[0], "PSF-2.0"
            texts = [
                (p.name, p.read_text(encoding="utf-8", errors="replace"))
                for p in (stdlib / "LICENSE.txt",)
                if p.is_file()
            ]
        elif key.startswith("pypi:"):
            dist = c["dist"]
            name, version = dist.metadata["Name"], dist.version
            licence, texts = _declared_licence(dist), _licence_texts(dist)
        else:
            package = c["package"]
            name, version, licence = (
                f"{package} (Debian)",
                _debian_version(package),
                "see copyright",
            )
            copyright_file = Path("/usr/share/doc") / package / "copyright"
            texts = (
                [(str(copyright_file), copyright_file.read_text(errors="replace"))]
                if copyright_file.is_file()
                else []
            )
        if not texts:
            texts = [("(no licence file shipped)", f"Declared licence: {licence}\n")]
        summary.append(f"{name:<34} {version:<22} {licence[:60]:<60} {c['files']:>6} files")
        body = [f"{'=' * 78}\n{name} {version}\nLicence: {licence}\n{'=' * 78}"]
        body += [f"--- {label} ---\n{text.rstrip()}\n" for label, text in texts]
        bodies.append("\n".join(body))

    header = (
        f"BrainFuse {manifest['version']}: third-party software in this bundle\n\n"
        "Every component below was copied into this bundle by the build; the file count is how\n"
        "many of its files the bundle holds. Qt (PySide6) is used under the LGPL-3.0: its\n"
        "libraries are separate files in _internal/ and may be replaced by the user.\n\n"
        f"{'component':<34} {'version':<22} {'licence':<60} {'bundled':>12}\n"
    )
    out.write_text(
        header + "\n".join(summary) + "\n\n" + "\n\n".join(bodies) + "\n", encoding="utf-8"
    )
    print(f"notices: {len(components)} components -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
