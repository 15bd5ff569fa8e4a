"""`python -m devhost`: host function_app.py locally, as `func start` would (see --help)."""

import sys

from devhost.cli import main

sys.exit(main())
