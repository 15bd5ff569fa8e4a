"""Audit records become log records with custom dimensions, and change and hold metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.audit import audit
from reconciler.telemetry.metrics import lag_counted_from
from tests.telemetry.conftest import Recorded

GROUP = "10000000-0000-4000-8000-000000000001"
USER = "30000000-0000-4000-8000-000000000001"


def _change(result: str, cause: str = "notification") -> None:
    audit(
        "change",
        cause=cause,
        correlation_id="c0ffee",
        group=GROUP,
        user=USER,
        action="remove",
        reason="rule does not match",
        result=result,
        counts={"adds": 1},
        name="Sales - all",
        accessToken="secret-value",
    )


def test_an_audit_record_is_exported_with_its_fields_as_dimensions(recorded: Recorded) -> None:
    _change("done")
    (log,) = recorded.logs.get_finished_logs()
    attributes = dict(log.log_record.attributes)
    assert attributes["event"] == "change"
    assert attributes["group"] == GROUP and attributes["user"] == USER
    assert attributes["correlationId"] == "c0ffee" and attributes["result"] == "done"
    assert attributes["counts"] == '{"adds": 1}'  # nested values as JSON text
    assert attributes["audit.name"] == "Sales - all"  # `name` belongs to the log record
    assert "accessToken" not in attributes
    assert "secret-value" not in str(attributes) + str(log.log_record.body)


def test_changes_are_counted_by_action_result_and_cause(recorded: Recorded) -> None:
    done = frozenset({"action": "remove", "result": "done", "cause": "sweep"}.items())
    held = frozenset({"action": "remove", "result": "held", "cause": "sweep"}.items())
    before = recorded.sums("reconciler.membership.changes")
    _change("done", cause="sweep")
    _change("held", cause="sweep")
    _change("held", cause="sweep")
    after = recorded.sums("reconciler.membership.changes")
    assert after[done] - before.get(done, 0) == 1
    assert after[held] - before.get(held, 0) == 2


def test_a_written_change_records_its_lag_from_the_notification(recorded: Recorded) -> None:
    key = frozenset({"cause": "recheck"}.items())
    before = recorded.histogram_counts("reconciler.write.lag").get(key, 0)
    _change("done", cause="recheck")  # outside a message: no receipt time known
    with lag_counted_from(datetime.now(UTC) - timedelta(seconds=2)):
        _change("held", cause="recheck")  # not written: no lag
        _change("done", cause="recheck")
    assert recorded.histogram_counts("reconciler.write.lag")[key] - before == 1
    lags = [
        dict(log.log_record.attributes).get("lagSeconds")
        for log in recorded.logs.get_finished_logs()
    ]
    assert lags[0] is None and lags[1] is None  # outside a message; not written
    assert 2 <= lags[2] < 60  # the dimension KQL's "lag p95 per hour" reads


def test_guard_holds_are_counted(recorded: Recorded) -> None:
    key = frozenset({"cause": "sweep"}.items())
    before = recorded.sums("reconciler.holds").get(key, 0)
    audit("hold", cause="sweep", correlation_id="c0ffee", group=GROUP, removals=80)
    assert recorded.sums("reconciler.holds")[key] - before == 1
