"""BrainFuse: fusion of brain CT and MRI with an unsupervised CNN decision map.

The package reads as the path a scan takes::

    io (files -> ImageVolume) -> grid (one grid) -> fusion -> metrics -> export

with ``cli`` and ``gui`` as thin shells over that core. Nothing outside
``brainfuse.gui`` imports Qt (checked by import-linter, see ``pyproject.toml``).

Importing the package changes nothing in the process (environment, allocator, garbage
collector): the entry points that need such settings apply them themselves
(:func:`brainfuse.cli.main`, :func:`brainfuse.gui.app.application`).
"""

from brainfuse._runtime.version import __version__

__all__ = ["__version__"]
