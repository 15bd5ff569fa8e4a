"""Every Graph call the emulator answered, and counters per method and route.

A `$batch` counts once under "POST /$batch" and each of its items counts again under its own
route, so `graphCalls` (HTTP requests plus batch items) is what benchmarks compare.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestRecord:
    seq: int
    time: float
    method: str
    path: str
    route: str
    status: int
    batch_id: str | None
    duration_ms: float
    fault: str | None
    request_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "status": self.status,
            "batchId": self.batch_id,
            "durationMs": round(self.duration_ms, 3),
            "fault": self.fault,
            "requestId": self.request_id,
        }


class RequestLog:
    """A bounded log (oldest entries fall off) and unbounded counters."""

    def __init__(self, limit: int = 100_000) -> None:
        self.entries: deque[RequestRecord] = deque(maxlen=limit)
        self.seq = 0
        self.by_route: dict[str, dict[str, Any]] = {}
        self.http_requests = 0
        self.batch_items = 0

    def record(
        self,
        *,
        method: str,
        path: str,
        route: str,
        status: int,
        batch_id: str | None,
        started: float,
        fault: str | None,
        request_id: str,
    ) -> None:
        self.seq += 1
        self.entries.append(
            RequestRecord(
                self.seq,
                time.time(),
                method,
                path,
                route,
                status,
                batch_id,
                (time.perf_counter() - started) * 1000,
                fault,
                request_id,
            )
        )
        key = f"{method} {route}"
        counter = self.by_route.get(key)
        if counter is None:
            counter = self.by_route[key] = {"count": 0, "inBatch": 0, "statuses": {}}
        counter["count"] += 1
        statuses = counter["statuses"]
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if batch_id is None:
            self.http_requests += 1
        else:
            counter["inBatch"] += 1
            self.batch_items += 1

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.entries if entry.seq > seq]

    def counters(self) -> dict[str, Any]:
        return {
            "httpRequests": self.http_requests,
            "batchItems": self.batch_items,
            "graphCalls": self.http_requests + self.batch_items,
            "byRoute": {key: dict(value) for key, value in sorted(self.by_route.items())},
        }

    def clear(self) -> None:
        self.entries.clear()
        self.by_route.clear()
        self.http_requests = 0
        self.batch_items = 0
