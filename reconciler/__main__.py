"""`python -m reconciler`: the command line (see reconciler/cli/entry.py)."""

import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"


def _missing_package(error: ModuleNotFoundError) -> int:
    """A Python without the project's packages (the system one, usually): say which to use."""
    print(
        f"error: {sys.executable} lacks the package {error.name!r}; run the command line with "
        f"the project's environment: {VENV_PYTHON} -m reconciler ... (or scripts/reconciler "
        "..., from any directory); scripts/setup creates it",
        file=sys.stderr,
    )
    return 1


try:
    from reconciler.cli import main

    code = main()
    sys.stdout.flush()
except ModuleNotFoundError as error:
    if error.name is None or error.name.split(".")[0] == "reconciler":
        raise
    code = _missing_package(error)
except BrokenPipeError:
    # The reader went away (`... | head`): stop quietly, as other command-line tools do.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
sys.exit(code)
