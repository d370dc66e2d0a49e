"""The BrainFuse version: the one place it is written.

``pyproject.toml`` reads it (``[tool.setuptools.dynamic]``), ``brainfuse --version``, the
About box, every export's provenance and the desktop bundle's file names
(``packaging/build-linux``) show it. A plain module rather than installed metadata, so a
source tree, an editable install whose metadata is older, and a frozen bundle (which carries
no ``.dist-info``) all give the same number.
"""

__version__ = "0.1.0"
