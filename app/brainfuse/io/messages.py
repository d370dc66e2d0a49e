"""Error-message text shared by the readers (the CLI prints each error on one line)."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(exc: BaseException, *, limit: int | None = None) -> str:
    """Return an exception's message with its whitespace (newlines too) collapsed to spaces.

    Parameters
    ----------
    exc : BaseException
    limit : int, optional
        Longest text returned, in characters; a longer message is cut and ends in ``…``.
    """
    text = " ".join(str(exc).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
