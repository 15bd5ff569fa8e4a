"""Every membership write, with the member's attributes as they were at that moment.

The record keeps a reference to the stored user dict, which the directory never edits in place,
so "the user at that moment" costs no copy even over hundreds of thousands of writes.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WriteRecord:
    seq: int
    time: float
    action: str  # "add" | "remove"
    group_id: str
    member_id: str
    member_type: str | None  # "user" | "group" | "device" | None when it does not exist
    status: int  # the HTTP status of the request (or batch item) that carried the write
    applied: bool
    via: str  # the route template, e.g. "/groups/{id}/members/$ref"
    request_id: str
    batch_id: str | None
    user: dict[str, Any] | None
    manager_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "action": self.action,
            "groupId": self.group_id,
            "memberId": self.member_id,
            "memberType": self.member_type,
            "status": self.status,
            "applied": self.applied,
            "via": self.via,
            "requestId": self.request_id,
            "batchId": self.batch_id,
            "user": None if self.user is None else {**self.user, "managerId": self.manager_id},
        }


class WriteLog:
    def __init__(self, limit: int = 1_000_000) -> None:
        self.entries: deque[WriteRecord] = deque(maxlen=limit)
        self.seq = 0

    def record(self, **fields: Any) -> WriteRecord:
        self.seq += 1
        entry = WriteRecord(seq=self.seq, time=time.time(), **fields)
        self.entries.append(entry)
        return entry

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.entries if entry.seq > seq]

    def clear(self) -> None:
        self.entries.clear()
