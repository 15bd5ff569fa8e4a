"""Graph's per-app write quota (3,000 writes per 150 s in a real tenant), off unless set.

A sliding window: a write is refused while `limit` writes already happened within the window,
and Retry-After says when the oldest of them leaves it. Refused writes do not count.
"""

from __future__ import annotations

import math
import time
from collections import deque


class WriteQuota:
    def __init__(self) -> None:
        self.stamps: deque[float] = deque()

    def try_write(self, limit: int, window: float, now: float | None = None) -> float | None:
        """Record a write and return None, or return the seconds to wait when over quota."""
        now = time.monotonic() if now is None else now
        while self.stamps and self.stamps[0] <= now - window:
            self.stamps.popleft()
        if len(self.stamps) >= limit:
            return max(0.001, self.stamps[len(self.stamps) - limit] + window - now)
        self.stamps.append(now)
        return None

    def clear(self) -> None:
        self.stamps.clear()


def format_retry_after(seconds: float, style: str) -> str:
    """Graph usually sends whole seconds; some responses carry a decimal such as 2.128."""
    if style == "decimal":
        return f"{seconds:.3f}"
    return str(max(1, math.ceil(seconds)))
