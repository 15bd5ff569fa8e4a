"""Table rows to and from the state's dataclasses (pure, so the layout is unit-tested).

A string property holds at most 64 KiB (32 K UTF-16 characters), so long lists are JSON cut
into parts `Name`, `Name_1`, ...; an entity holds at most 1 MiB. Held users share their
reasons (an HR blank gives a few hundred users the same reason), about 45 bytes a user:
a pending hold fits some 20,000 users (MAX_HELD_USERS), more than any budget lets pile up
between two operator decisions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from reconciler.plan.budget import BudgetWindow
from reconciler.state.model import (
    BurstPass,
    GroupState,
    GroupStateUpdate,
    HeldRemoval,
    HistoryEntry,
    Hold,
)

PART_CHARS = 30_000
MAX_HELD_USERS = 20_000
PENDING = "pending"
BUDGET_PARTITION = "budget"
GROUP_PARTITION = "group"
BURST_PARTITION, BURST_ROW = "pass", "burst"  # the burst pass, beside the group rows


def put_text(entity: dict[str, Any], name: str, text: str) -> None:
    parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
    for index, part in enumerate(parts):
        entity[name if index == 0 else f"{name}_{index}"] = part


def get_text(entity: Mapping[str, Any], name: str) -> str:
    parts, index = [str(entity.get(name, ""))], 1
    while f"{name}_{index}" in entity:
        parts.append(str(entity[f"{name}_{index}"]))
        index += 1
    return "".join(parts)


def encode_removals(removals: Sequence[HeldRemoval]) -> str:
    reasons: dict[str, int] = {}
    users = [[r.user_id, reasons.setdefault(r.reason, len(reasons))] for r in removals]
    return json.dumps({"reasons": list(reasons), "users": users}, separators=(",", ":"))


def decode_removals(text: str) -> tuple[HeldRemoval, ...]:
    if not text:
        return ()
    document = json.loads(text)
    reasons = document["reasons"]
    return tuple(HeldRemoval(user_id, reasons[index]) for user_id, index in document["users"])


def encode_ids(ids: Sequence[str] | frozenset[str]) -> str:
    return json.dumps(sorted(ids), separators=(",", ":"))


def decode_ids(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text)) if text else ()


def when(value: object) -> datetime | None:
    """Table timestamps come back as datetimes (TablesEntityDatetime) or ISO text."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- budget ------------------------------------------------------------------------------------


def budget_row(key: str, window: BudgetWindow) -> dict[str, Any]:
    row: dict[str, Any] = {
        "PartitionKey": BUDGET_PARTITION,
        "RowKey": key,
        "Spent": json.dumps([list(pair) for pair in window.spent], separators=(",", ":")),
    }
    if window.members_at_start is not None:
        row["MembersAtStart"] = window.members_at_start
    return row


def budget_window(row: Mapping[str, Any]) -> BudgetWindow:
    members = row.get("MembersAtStart")
    spent = tuple((int(m), int(c)) for m, c in json.loads(row.get("Spent") or "[]"))
    return BudgetWindow(None if members is None else int(members), spent)


# --- holds -------------------------------------------------------------------------------------


def pending_row(group_id: str, hold: Hold | None, rejected: frozenset[str]) -> dict[str, Any]:
    """The group's one pending-hold row: the open hold (HoldId "" when none) and the users
    whose removal was rejected."""
    if hold is not None and len(hold.removals) > MAX_HELD_USERS:
        raise ValueError(
            f"the pending hold of group {group_id} would hold {len(hold.removals)} users, more "
            f"than {MAX_HELD_USERS}: decide it (holds approve/reject) first"
        )
    row: dict[str, Any] = {"PartitionKey": group_id, "RowKey": PENDING}
    row["HoldId"] = hold.id if hold else ""
    row["GroupName"] = hold.group_name if hold else ""
    row["CreatedAt"] = hold.created_at if hold else ""
    row["UpdatedAt"] = hold.updated_at if hold else ""
    put_text(row, "Users", encode_removals(hold.removals) if hold else "")
    put_text(row, "Rejected", encode_ids(rejected))
    return row


def pending_hold(row: Mapping[str, Any]) -> tuple[Hold | None, frozenset[str]]:
    rejected = frozenset(decode_ids(get_text(row, "Rejected")))
    hold_id = row.get("HoldId") or ""
    if not hold_id:
        return None, rejected
    hold = Hold(
        id=hold_id,
        group_id=row["PartitionKey"],
        group_name=row.get("GroupName") or "",
        status="pending",
        created_at=when(row.get("CreatedAt")) or datetime.now(UTC),
        updated_at=when(row.get("UpdatedAt")) or datetime.now(UTC),
        removals=decode_removals(get_text(row, "Users")),
    )
    return hold, rejected


def decided_row(hold: Hold) -> dict[str, Any]:
    """A hold taken out of pending (approving, approved, rejected), kept under its id."""
    row: dict[str, Any] = {
        "PartitionKey": hold.group_id,
        "RowKey": hold.id,
        "HoldId": hold.id,
        "Status": hold.status,
        "GroupName": hold.group_name,
        "CreatedAt": hold.created_at,
        "UpdatedAt": hold.updated_at,
        "DecidedBy": hold.decided_by,
        "DecidedAt": hold.decided_at or "",
    }
    put_text(row, "Users", encode_removals(hold.removals))
    put_text(row, "Removed", encode_ids(hold.removed))
    put_text(row, "Kept", encode_ids(hold.kept))
    return row


def decided_hold(row: Mapping[str, Any]) -> Hold:
    return Hold(
        id=row["RowKey"],
        group_id=row["PartitionKey"],
        group_name=row.get("GroupName") or "",
        status=row["Status"],
        created_at=when(row.get("CreatedAt")) or datetime.now(UTC),
        updated_at=when(row.get("UpdatedAt")) or datetime.now(UTC),
        removals=decode_removals(get_text(row, "Users")),
        decided_by=row.get("DecidedBy") or "",
        decided_at=when(row.get("DecidedAt")),
        removed=decode_ids(get_text(row, "Removed")),
        kept=decode_ids(get_text(row, "Kept")),
    )


# --- group state -------------------------------------------------------------------------------

_STATE_FIELDS = {
    "name": "Name",
    "members": "Members",
    "last_full_at": "LastFullAt",
    "last_full_result": "LastFullResult",
    "last_full_seconds": "LastFullSeconds",
    "last_full_correlation_id": "LastFullCorrelationId",
    "last_change_at": "LastChangeAt",
    "last_error": "LastError",
    "last_error_at": "LastErrorAt",
}


def group_update_row(update: GroupStateUpdate) -> dict[str, Any]:
    """Only the fields the update sets: merged into the row, the others stay."""
    row: dict[str, Any] = {"PartitionKey": GROUP_PARTITION, "RowKey": update.group_id}
    for field_name, column in _STATE_FIELDS.items():
        value = getattr(update, field_name)
        if value is not None:
            row[column] = value
    if update.last_full_counts is not None:
        row["LastFullCounts"] = json.dumps(dict(update.last_full_counts))
    if update.last_error is not None:
        row["LastError"] = update.last_error[:4000]
    return row


def group_state(row: Mapping[str, Any]) -> GroupState:
    members = row.get("Members")
    seconds = row.get("LastFullSeconds")
    return GroupState(
        group_id=row["RowKey"],
        name=row.get("Name") or "",
        members=None if members is None else int(members),
        last_full_at=when(row.get("LastFullAt")),
        last_full_result=row.get("LastFullResult") or "",
        last_full_counts=json.loads(row.get("LastFullCounts") or "{}"),
        last_full_seconds=None if seconds is None else float(seconds),
        last_full_correlation_id=row.get("LastFullCorrelationId") or "",
        last_change_at=when(row.get("LastChangeAt")),
        last_error=row.get("LastError") or "",
        last_error_at=when(row.get("LastErrorAt")),
    )


# --- history -----------------------------------------------------------------------------------

_FAR = 10**13


def history_partition(moment: datetime) -> str:
    """One partition per UTC day, so HISTORY_DAYS drops whole days."""
    return moment.astimezone(UTC).strftime("%Y%m%d")


def history_row(entry: HistoryEntry, sequence: str) -> dict[str, Any]:
    """Row keys count down from the far future, so a day's partition lists newest first."""
    millis = int(entry.at.timestamp() * 1000)
    return {
        "PartitionKey": history_partition(entry.at),
        "RowKey": f"{_FAR - millis:013d}-{sequence}",
        "At": entry.at,
        "Group": entry.group_id,
        "User": entry.user_id,
        "Action": entry.action,
        "Result": entry.result,
        "Reason": entry.reason[:4000],
        "Cause": entry.cause,
        "CorrelationId": entry.correlation_id,
        "By": entry.by,
    }


def history_entry(row: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        at=when(row.get("At")) or datetime.now(UTC),
        group_id=row.get("Group") or "",
        user_id=row.get("User") or "",
        action=row.get("Action") or "",
        result=row.get("Result") or "",
        reason=row.get("Reason") or "",
        cause=row.get("Cause") or "",
        correlation_id=row.get("CorrelationId") or "",
        by=row.get("By") or "",
    )


def burst_pass(row: Mapping[str, Any] | None, version: str | None) -> BurstPass:
    if row is None:
        return BurstPass()
    return BurstPass(
        last_started_at=row.get("LastStartedAt"),
        running_since=row.get("RunningSince"),
        owner=str(row.get("Owner", "")),
        version=version,
    )


def burst_row(state: BurstPass) -> dict[str, Any]:
    """Absent times are stored as absent properties (the SDK writes no null)."""
    row: dict[str, Any] = {
        "PartitionKey": BURST_PARTITION,
        "RowKey": BURST_ROW,
        "Owner": state.owner,
    }
    if state.last_started_at is not None:
        row["LastStartedAt"] = state.last_started_at
    if state.running_since is not None:
        row["RunningSince"] = state.running_since
    return row
