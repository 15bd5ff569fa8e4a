"""Entry point: `python -m graph_emulator --help`."""

import sys

from graph_emulator.cli import main

sys.exit(main())
