"""``python -m brainfuse`` is the same as the ``brainfuse`` command."""

import sys

from brainfuse.cli import main

sys.exit(main())
