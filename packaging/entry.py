"""The frozen bundle's entry point: the ``brainfuse`` command, as the package installs it.

``brainfuse bench`` starts helper processes as ``sys.executable -m brainfuse ...`` and
``sys.executable -c CODE`` (a whole-volume ``fuse`` timed end to end; busy neighbours for
``--contention``). In the bundle ``sys.executable`` is this program, not a Python, so those
two forms are answered here the way Python would answer them.
"""

import sys


def _main() -> int:
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "-m" and argv[1] == "brainfuse":
        argv = argv[2:]
    elif len(argv) >= 2 and argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
        return 0
    from brainfuse.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(_main())
