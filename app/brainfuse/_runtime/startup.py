"""Start-up marks: when the window was shown and when its first fusion ended.

With ``BRAINFUSE_STARTUP_MARKS=1`` in the environment the window writes one line per mark on
stderr, ``brainfuse-startup: <mark> <seconds since the epoch>``, so a script that started the
program (``packaging/smoke``, ``packaging/startup``) can time launch → window → fused demo of an
installed or frozen BrainFuse, which it cannot import or instrument from outside. Without the
variable nothing is written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

__all__ = ["ENV", "startup_mark"]

ENV = "BRAINFUSE_STARTUP_MARKS"


def startup_mark(name: str) -> Callable[[], None]:
    """Return a callable that writes the mark ``name`` once, when the environment asks for it.

    Parameters
    ----------
    name : str
        The mark, one word (``window-shown``, ``first-fusion``).

    Returns
    -------
    callable
        Writes ``brainfuse-startup: <name> <epoch seconds>`` on its first call and nothing
        after (a refusion must not be read as the start-up's); does nothing without the
        variable.
    """
    said = not os.environ.get(ENV)

    def mark() -> None:
        nonlocal said
        if said:
            return
        said = True
        print(f"brainfuse-startup: {name} {time.time():.3f}", file=sys.stderr, flush=True)

    return mark
