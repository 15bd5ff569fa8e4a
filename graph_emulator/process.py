"""Start the emulator as a child process and learn its URL from its first line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LISTENING = "Graph emulator listening on "


def spawn(*options: str, cwd: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """`python -m graph_emulator --port 0 OPTIONS`; returns the process and its base URL.

    The first stdout line is flushed at once (INTERFACES.md), so reading it is the readiness
    check; a process that prints anything else is killed.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "graph_emulator", "--host", "127.0.0.1", "--port", "0", *options],
        cwd=cwd or Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith(LISTENING):
        process.kill()
        process.wait()
        raise RuntimeError(f"the Graph emulator did not start: {line!r}")
    return process, line[len(LISTENING) :]
