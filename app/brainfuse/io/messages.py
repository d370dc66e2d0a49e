"""Error-message text shared by the readers (the CLI prints each error on one line)."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(exc: BaseException) -> str:
    """An exception's message with its whitespace (newlines included) collapsed to spaces."""
    return " ".join(str(exc).split())
