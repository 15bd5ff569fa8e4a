"""The audit trail: one structured JSON log record per event, through one helper.

Events: "change" (an add or remove, with its result: done, planned, paused or held), "hold"
(a group the guard held, with the numbers), "failure" (a group or a write that failed, with
Graph's reason), "undecided" (a rule that could not decide for a user), "skip" (a user that
no longer exists), "subscription" (a create, renew, reauthorize, delete or keep of our Graph
subscription), "catchup" (a delta catch-up: started, caught-up or resync, with the users
queued) and "summary" (the end of a run). Every record carries the cause and the
correlation id. Field names that look like credentials are dropped, whatever the caller
passes: a token or secret must never reach the logs.

Each record also goes as fields on its log record (`extra`), which the Azure Monitor exporter
turns into custom dimensions (README "Telemetry"), and changes and holds are counted as
metrics.
"""

from __future__ import annotations

import json
import logging
from typing import Literal

from reconciler.structured_log import without_secrets
from reconciler.telemetry import metrics

logger = logging.getLogger("reconciler.audit")

Event = Literal[
    "change", "hold", "failure", "undecided", "skip", "subscription", "catchup", "summary"
]
_LOG_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def audit(
    event: Event,
    *,
    cause: str,
    correlation_id: str,
    group: str | None = None,
    user: str | None = None,
    action: str | None = None,
    reason: str | None = None,
    **details: object,
) -> dict[str, object]:
    """Log one record (INFO; failures and holds at WARNING) and return it."""
    record: dict[str, object] = {"event": event}
    for name, value in (("group", group), ("user", user), ("action", action), ("reason", reason)):
        if value is not None:
            record[name] = value
    record["cause"] = cause
    record["correlationId"] = correlation_id
    record.update(without_secrets(details))
    if event == "change" and record.get("result") == "done":
        lag = metrics.write_lag_seconds()
        if lag is not None:  # in a queue message: since the webhook received the notification
            record["lagSeconds"] = round(lag, 3)
    level = logging.WARNING if event in ("failure", "hold") else logging.INFO
    if logger.isEnabledFor(level):  # a record nobody keeps is not built (the CLI drops them)
        text = json.dumps(record, ensure_ascii=False, default=str, sort_keys=False)
        logger.log(level, text, extra=_dimensions(record))
    _count(record)
    return record


def _dimensions(record: dict[str, object]) -> dict[str, str | int | float | bool]:
    """The record as flat log-record fields (custom dimensions hold flat values: nested ones
    go as JSON text); a name the log record itself uses gets an `audit.` prefix."""
    return {
        f"audit.{name}" if name in _LOG_RECORD_FIELDS else name: value
        if isinstance(value, str | int | float | bool)
        else json.dumps(value, ensure_ascii=False, default=str)
        for name, value in record.items()
        if value is not None
    }


def _count(record: dict[str, object]) -> None:
    if record["event"] == "change":
        action, result = str(record.get("action")), str(record.get("result"))
        lag = record.get("lagSeconds")
        metrics.record_change(
            action, result, str(record["cause"]), lag if isinstance(lag, float) else None
        )
    elif record["event"] == "hold":
        metrics.holds.add(1, {"cause": str(record["cause"])})
