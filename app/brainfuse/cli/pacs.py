"""``brainfuse pacs``: configure PACS nodes, query, retrieve and send (DIMSE or DICOMweb).

Nodes are kept in the user's config folder (``brainfuse pacs list`` shows where);
``--node NAME`` picks one, the first by default. ``get`` writes into a hidden temporary
folder and renames it to ``--out`` only when every image has arrived.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from brainfuse._runtime.progress import TextProgress
from brainfuse.errors import PacsError

__all__ = ["register", "run"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node", metavar="NAME", help="configured node (default: the first)")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds to wait for the PACS (node's setting)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``brainfuse pacs`` and its subcommands and its options to ``subparsers``."""
    p = subparsers.add_parser(
        "pacs",
        help="query, retrieve from and send to a PACS (DIMSE or DICOMweb)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="configure a node (DIMSE: --host/--port/--called-aet; or --url)")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--host", default="", help="DIMSE: PACS host name or address")
    a.add_argument("--port", type=int, default=0, help="DIMSE: PACS port")
    a.add_argument("--called-aet", default="", help="DIMSE: the PACS's AE title")
    a.add_argument("--aet", default=None, help="DIMSE: our AE title (default BRAINFUSE)")
    a.add_argument(
        "--retrieve",
        choices=("get", "move"),
        default="get",
        help="DIMSE retrieval: C-GET (default) or C-MOVE to our own storage SCP",
    )
    a.add_argument("--move-port", type=int, default=0, help="port our C-MOVE storage SCP uses")
    a.add_argument("--url", default="", help="DICOMweb root URL, e.g. http://pacs:8042/dicom-web")
    a.add_argument("--timeout", type=float, default=None, metavar="S", help="default 10 s")
    a.add_argument("--tls", action="store_true", help="DIMSE: DICOM TLS on every association")
    a.add_argument("--ca-file", default="", metavar="PEM", help="CA that signed the PACS (TLS)")
    a.add_argument("--cert", default="", metavar="PEM", help="our client certificate (mutual TLS)")
    a.add_argument("--key", default="", metavar="PEM", help="the client certificate's key")
    a.add_argument(
        "--auth",
        choices=("none", "basic", "bearer"),
        default="none",
        help="DICOMweb login; the password or token goes to the system keyring",
    )
    a.add_argument("--username", default="", help="DICOMweb: the --auth basic login name")
    a.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the password or token from standard input (else asked when at a terminal)",
    )
    a.add_argument("--replace", action="store_true", help="update a node of the same name")
    a.set_defaults(func=_add)

    sec = sub.add_parser(
        "secret", help="store a node's password or token in the system keyring (asked for)"
    )
    sec.add_argument("name", metavar="NAME")
    sec.add_argument("--stdin", action="store_true", help="read it from standard input")
    sec.set_defaults(func=_secret)

    lst = sub.add_parser("list", help="list the configured nodes")
    lst.set_defaults(func=_list)

    rm = sub.add_parser("remove", help="forget a node")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(func=_remove)

    e = sub.add_parser("echo", help="check that the node answers (C-ECHO or a QIDO-RS search)")
    _common(e)
    e.set_defaults(func=_echo)

    f = sub.add_parser("find", help="list matching studies and their series")
    _common(f)
    f.add_argument("--patient-id", default="")
    f.add_argument("--patient-name", default="", help="DICOM wildcards allowed: DOE^J*")
    f.add_argument("--study-date", default="", metavar="YYYYMMDD[-YYYYMMDD]")
    f.add_argument("--modality", default="", help="CT, MR, PT, ...")
    f.add_argument("--study", default="", metavar="UID", help="Study Instance UID")
    f.set_defaults(func=_find)

    g = sub.add_parser("get", help="retrieve a study or one series into a new folder")
    _common(g)
    g.add_argument("--study", required=True, metavar="UID")
    g.add_argument("--series", metavar="UID", help="only this series (files directly in DIR)")
    g.add_argument("--out", required=True, metavar="DIR", help="new or empty folder")
    g.set_defaults(func=_get)

    c = sub.add_parser(
        "cache", help="show the retrieve cache (where, how big, its bound); --clear empties it"
    )
    c.add_argument("--clear", action="store_true", help="remove every cached series")
    c.add_argument(
        "--limit", metavar="SIZE", help="set the size bound, e.g. 500M or 2G (default 2G)"
    )
    c.set_defaults(func=_cache)

    s = sub.add_parser("send", help="store DICOM files (or folders of them) on the node")
    _common(s)
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.set_defaults(func=_send)


def run(args: argparse.Namespace) -> int:
    """Run the chosen ``brainfuse pacs`` subcommand; return the exit status."""
    return int(args.func(args) or 0)


def _client(args: argparse.Namespace):
    from brainfuse.pacs import connect, get_node

    node = get_node(args.node)
    if args.timeout is not None:
        node = replace(node, timeout=args.timeout)
    return node, connect(node)


def _add(args: argparse.Namespace) -> int:
    from brainfuse.pacs import DEFAULT_AET, DEFAULT_TIMEOUT_S, Node, add_node

    if args.url and (args.host or args.port or args.called_aet):
        raise PacsError("give either --url (DICOMweb) or --host/--port/--called-aet (DIMSE)")
    node = Node(
        name=args.name,
        host=args.host,
        port=args.port,
        called_aet=args.called_aet,
        aet=args.aet or DEFAULT_AET,
        url=args.url,
        retrieve=args.retrieve,
        move_port=args.move_port,
        timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_S,
        tls=args.tls,
        ca_file=_absolute(args.ca_file),
        cert_file=_absolute(args.cert),
        key_file=_absolute(args.key),
        auth=args.auth,
        username=args.username,
    ).validated()
    from brainfuse.pacs.secrets import SECRET_ENV, keyring_works

    secret = None
    if node.auth != "none" and (args.secret_stdin or (sys.stdin.isatty() and keyring_works())):
        if not keyring_works():
            raise PacsError(
                f"no system keyring works here to keep the {_what(node.auth)}: add the node "
                f"without --secret-stdin and set {SECRET_ENV}"
            )
        secret = _read_secret(node.name, node.auth, from_stdin=args.secret_stdin)
    if secret is not None:  # stored first: a keyring that refuses leaves no node without it
        from brainfuse.pacs import load_nodes

        if not args.replace and node.name in [n.name for n in load_nodes()]:
            raise PacsError(f"a node named {node.name} exists already (use --replace)")
        _store(node.name, secret)
    path = add_node(node, replace=args.replace)
    print(f"saved {node.describe()} in {path}")
    if secret is None and node.auth != "none":
        print(
            f"no {_what(node.auth)} stored: run 'brainfuse pacs secret {node.name}' or set "
            f"{SECRET_ENV}"
        )
    return 0


def _absolute(path: str) -> str:
    from pathlib import Path

    return str(Path(path).expanduser().resolve()) if path else ""


def _what(auth: str) -> str:
    return "token" if auth == "bearer" else "password"


def _read_secret(name: str, auth: str, *, from_stdin: bool) -> str:
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        secret = getpass.getpass(f"{_what(auth)} for PACS node {name}: ")
    if not secret:
        raise PacsError(f"node {name}: no {_what(auth)} given")
    return secret


def _store(name: str, secret: str) -> None:
    from brainfuse.pacs.secrets import store_secret

    store_secret(name, secret)
    print(f"the secret of {name} is in the system keyring (not in the node file)")


def _secret(args: argparse.Namespace) -> int:
    from brainfuse.pacs import get_node

    node = get_node(args.name)
    if node.auth == "none":
        raise PacsError(f"node {node.name} has no login (add it again with --auth basic|bearer)")
    _store(node.name, _read_secret(node.name, node.auth, from_stdin=args.stdin))
    return 0


def _list(args: argparse.Namespace) -> int:
    from brainfuse.pacs import config_dir, load_nodes

    nodes = load_nodes()
    if not nodes:
        print(f"no PACS node configured (config folder {config_dir()})")
        return 0
    for i, node in enumerate(nodes):
        print(node.describe() + ("  [default]" if i == 0 else ""))
    return 0


def _remove(args: argparse.Namespace) -> int:
    from brainfuse.pacs import remove_node

    remove_node(args.name)
    print(f"removed {args.name}")
    return 0


def _echo(args: argparse.Namespace) -> int:
    node, client = _client(args)
    ms = client.echo()
    print(f"{node.name}: answered in {ms:.0f} ms")
    return 0


def _count(n: int) -> str:
    return "?" if n < 0 else str(n)


def _find(args: argparse.Namespace) -> int:
    from brainfuse.pacs import Query

    query = Query(
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        study_date=args.study_date,
        modality=args.modality,
        study_uid=args.study,
    )
    _, client = _client(args)
    studies = client.find(query)
    if not studies:
        print("no study matches", file=sys.stderr)
        return 0
    for study in studies:
        print(
            f"study  {study.study_uid}  {study.date or '-'}  {study.patient_id or '-'}  "
            f"{study.patient_name or '-'}  {study.modalities or '-'}  "
            f"{_count(study.n_instances)} images  {study.description}".rstrip()
        )
        for s in study.series:
            print(
                f"  series {s.series_uid}  {s.modality or '-'}  #{s.number or '-'}  "
                f"{_count(s.n_instances)} images  {s.description}".rstrip()
            )
    return 0


class _Bar:
    """``progress(done, total)`` drawn with the shared stderr progress bar."""

    def __init__(self, label: str):
        self.label = label
        self.bar: TextProgress | None = None

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        if self.bar is None:
            self.bar = TextProgress(total, self.label)
        self.bar(min(done / total, 1.0))

    def close(self) -> None:
        """End the bar's line (if one was drawn)."""
        if self.bar is not None:
            self.bar.close()


def _get(args: argparse.Namespace) -> int:
    from brainfuse.pacs import get

    node, client = _client(args)
    bar = _Bar("images")
    try:
        result = get(client, args.study, args.out, series_uid=args.series, progress=bar)
    finally:
        bar.close()
    print(f"received {result.n_files} images from {node.name}")
    for path in result.series.values():
        print(f"wrote {path}")
    return 0


def _send(args: argparse.Namespace) -> int:
    from brainfuse.pacs import send

    node, client = _client(args)
    bar = _Bar("files")
    try:
        results = send(client, args.paths, progress=bar)
    finally:
        bar.close()
    refused = [r for r in results if not r.ok]
    for r in results:
        print(f"{'sent' if r.ok else 'REFUSED'}  {r.path}" + ("" if r.ok else f": {r.message}"))
    print(f"{len(results) - len(refused)} of {len(results)} files stored on {node.name}")
    if refused:
        first = refused[0]
        raise PacsError(
            f"{len(refused)} of {len(results)} files were not stored on {node.name} "
            f"(first: {first.path}: {first.message})"
        )
    return 0


_UNITS = {"": 1, "B": 1, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number with an optional K/M/G/T (powers of 1000, a ``B`` allowed)."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*", text.upper())
    if not match or float(match.group(1)) <= 0:
        raise PacsError(f"invalid size {text!r}: give a number with K, M or G, e.g. 500M or 2G")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def _megabytes(n: int) -> str:
    return f"{n / 1000**2:.1f} MB"


def _cache(args: argparse.Namespace) -> int:
    from brainfuse.pacs import cache_usage, clear_cache, set_cache_limit

    if args.limit is not None:
        set_cache_limit(parse_size(args.limit))
    if args.clear:
        freed = clear_cache()
        print(f"cleared the PACS cache ({_megabytes(freed)} freed)")
    usage = cache_usage()
    print(f"PACS cache: {usage.folder}")
    print(
        f"{usage.n_studies} studies, {usage.n_series} series, {_megabytes(usage.n_bytes)} "
        f"of at most {_megabytes(usage.limit)}"
    )
    return 0
