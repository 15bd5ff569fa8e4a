"""Timer triggers on their schedules: one invocation at a time per function (the next occurrence
is computed when the previous run ends, so a long run skips occurrences, as the host's
TimerListener does), runOnStartup honoured, schedule status passed as the host passes it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from devhost.binding_data import timer_input
from devhost.catalog import FunctionSpec

log = logging.getLogger("devhost")


class TimerRunner:
    def __init__(self, spec: FunctionSpec, invoke: Any) -> None:
        self.spec = spec
        self.invoke = invoke  # async (spec, trigger value, reason) -> outcome
        self.next_run: datetime | None = None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """No further runs; a run in progress finishes (the caller awaits run())."""
        self._stopping.set()

    async def _sleep_until(self, moment: datetime) -> bool:
        """False when stopped while waiting."""
        delay = (moment - datetime.now(UTC)).total_seconds()
        try:
            await asyncio.wait_for(self._stopping.wait(), max(delay, 0))
        except TimeoutError:
            return True
        return False

    async def run(self) -> None:
        schedule = self.spec.schedule
        assert schedule is not None
        last: datetime | None = None
        if self.spec.run_on_startup:
            await self.invoke(self.spec, timer_input(), "Timer fired at startup (runOnStartup).")
        while not self._stopping.is_set():
            self.next_run = schedule.next_after(datetime.now(UTC))
            if not await self._sleep_until(self.next_run):
                return
            fired = datetime.now(UTC)
            after = schedule.next_after(fired)
            # Late by more than a whole period (a suspended laptop): report it as the host does.
            past_due = fired - self.next_run > after - self.next_run
            await self.invoke(
                self.spec,
                timer_input(past_due, last, after),
                f"Timer fired at {fired.isoformat(timespec='seconds')}",
            )
            last = fired
