"""Where the command line's audit records go: never into the human report.

The service logs one JSON record per event on the `reconciler.audit` logger (README "Audit
records"). With no handler anywhere, Python's last-resort handler printed the warnings among
them onto stderr, in the middle of the progress line and the report. A command installs one
handler for its run: `--audit-log FILE` appends the records to FILE as JSON lines, `-` writes
them to stderr, one per line; without the option they are dropped (the state store's history
keeps what apply and sync-user wrote, and --json carries every change with its reason).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconciler.cli.output import CommandError

AUDIT_LOGGER = "reconciler.audit"
QUIET_LOGGERS = ("azure", "httpx", "kiota_http", "msgraph")
"""Libraries whose warnings repeat what the command reports itself, once, as its own error."""


@contextmanager
def audit_records(target: str | None) -> Iterator[None]:
    """Route the audit records of one command to `target` (a path, "-" or None)."""
    logger = logging.getLogger(AUDIT_LOGGER)
    handler = _handler(target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = logger.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)
        handler.close()


def _handler(target: str | None) -> logging.Handler:
    if target is None:
        return logging.NullHandler()  # also keeps the last-resort handler off stderr
    if target == "-":
        return logging.StreamHandler(sys.stderr)
    try:
        return logging.FileHandler(target, mode="a", encoding="utf-8")
    except OSError as error:
        raise CommandError(
            f"cannot open --audit-log {target}: {error.strerror or error}",
            "give a writable file (records are appended as JSON lines) or - for stderr",
        ) from error


class ChangeListener(logging.Handler):
    """Calls `on_change(record)` for each audit record of a membership change, for the
    progress line: the service reports progress by group, the records come per write."""

    def __init__(self, on_change: Callable[[dict[str, object]], None]) -> None:
        super().__init__(logging.INFO)
        self.on_change = on_change

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = json.loads(record.getMessage())
        except ValueError:  # not one of the audit helper's records
            return
        if isinstance(data, dict) and data.get("event") == "change":
            self.on_change(data)

    @contextmanager
    def attached(self) -> Iterator[None]:
        logger = logging.getLogger(AUDIT_LOGGER)
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)
