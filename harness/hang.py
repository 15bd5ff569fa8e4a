"""A hang detector for code that may loop forever on generated input (a parser bug once did,
appending a token per pass: about 75 MB/s, enough to take a 24 GB machine to the OOM killer and
stall every process on it). Shared by the fuzz tests and bench/bench_parse_fuzz.py."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

HANG_SECONDS = 2.0


class Hang(AssertionError):
    pass


@contextmanager
def hang_detector(what: str, seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Interrupt (SIGALRM, main thread) instead of blocking, or filling memory, when a call
    loops."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds}s: {what[:160]!r}")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
