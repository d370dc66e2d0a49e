"""BrainFuse: fusion of brain CT and MRI with an unsupervised CNN decision map.

The package reads as the path a scan takes::

    io (files -> ImageVolume) -> grid (one grid) -> fusion -> metrics -> export

with ``cli`` and ``gui`` as thin shells over that core. Nothing outside
``brainfuse.gui`` imports Qt (checked by import-linter, see ``pyproject.toml``).
"""

from brainfuse._runtime.threads import prefer_passive_wait
from brainfuse._version import __version__

# Before anything imports torch: OpenMP threads sleep at barriers instead of spinning,
# which keeps the fusion fast beside other jobs (see brainfuse._runtime.threads).
prefer_passive_wait()


__all__ = ["__version__"]
