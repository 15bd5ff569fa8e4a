"""Faults to processes, at seeded moments of a scenario's edits: the worker killed with SIGKILL
between a membership write and its message's completion, and Azurite stopped and restarted.

The kill is made exact by the emulator: a `latency` fault with `phase: "after"` lets the next
membership write (an add by PATCH /groups/{id} or POST .../members/$ref, or a removal's DELETE
inside $batch) take effect and then holds its answer back for HOLD_MS. While the rule reports an
answer held back, the worker is waiting for it, so SIGKILL lands after the write and before the
message can complete. The worker is then started again on the same port, as the platform
restarts a crashed host; its leased messages reappear when their lease ends.

Azurite is stopped gracefully (on-disk persistence: the queue survives) for a few edits, during
which the webhook answers 500 and Graph (the emulator) retries the notifications.

The table service runs in an Azurite of its own and is stopped for a few other edits while the
queues run on: the removal budget cannot be read, so no removal may be written (adds still go)
and each such message is queued again until the tables are back.
"""

from __future__ import annotations

import random
import time

from devhost.process import DevHostProcess
from harness.stack import Stack

HOLD_MS = 5000  # the kill happens within ~0.1 s of the rule firing; 5 s is far beyond that
KILL_RULES = (  # the product's membership writes, and nothing else
    {"method": "PATCH", "route": "/groups/*", "scope": "request"},  # adds: members@odata.bind
    {"method": "POST", "route": "/groups/*/members/$ref"},  # adds one by one, direct or batched
    {"method": "DELETE", "route": "/groups/*/members/*/$ref"},  # removals ($batch items)
)


class ProcessFaults:
    def __init__(self, stack: Stack, rng: random.Random, edits: int) -> None:
        if (
            stack.azurite is None
            or stack.tables is None
            or not isinstance(stack.host, DevHostProcess)
        ):
            raise ValueError(
                "process faults need a stack with its own Azurite, its own table service and"
                " a child worker (harness.scenario.process_fault_stack)"
            )
        self.stack = stack
        self.worker: DevHostProcess = stack.host
        self.azurite = stack.azurite
        self.tables = stack.tables
        self.rng = rng
        # In the first two thirds, so later edits make the writes that fire an armed kill.
        early = range(max(1, edits * 2 // 3))
        self.kill_at = set(rng.sample(early, k=min(len(early), rng.randint(1, 3))))
        self.restart_at = rng.randrange(edits)
        self.armed: list[str] = []
        self.down_for = 0  # edits still to make while Azurite is stopped
        self.kills = 0
        self.restarts = 0
        self.tables_out_at = rng.randrange(edits)
        self.tables_down_for = 0  # edits still to make while the table service is stopped
        self.table_outages = 0

    def before_edit(self, index: int) -> None:
        if index in self.kill_at and not self.armed:
            self._arm()
        if index == self.restart_at:
            self.azurite.stop()
            self.down_for = self.rng.randint(1, 3)
        if index == self.tables_out_at:
            self.tables.stop()
            self.tables_down_for = self.rng.randint(2, 4)

    def after_edit(self) -> None:
        if self.down_for:
            self.down_for -= 1
            if not self.down_for:
                self.azurite.start()
                self.restarts += 1
        if self.tables_down_for:
            self.tables_down_for -= 1
            if not self.tables_down_for:
                self._tables_back()
        if self.armed and self._fired():
            self._kill_and_restart()

    def finish(self, timeout: float = 5.0) -> None:
        """Edits are over: bring Azurite back, let an armed kill happen or disarm it."""
        if self.down_for:
            self.down_for = 0
            self.azurite.start()
            self.restarts += 1
        if self.tables_down_for:
            self.tables_down_for = 0
            self._tables_back()
        deadline = time.monotonic() + timeout
        while self.armed and time.monotonic() < deadline:
            if self._fired():
                self._kill_and_restart()
                return
            time.sleep(0.05)  # poll interval, bounded by the deadline
        self._disarm()

    def _arm(self) -> None:
        for rule in KILL_RULES:
            added = self.stack.graph.add_fault(
                {
                    **rule,
                    "kind": "latency",
                    "phase": "after",
                    "latencyMs": HOLD_MS,
                    "times": 1,
                }
            )
            self.armed.append(added["id"])

    def _fired(self) -> bool:
        """A write took effect and its answer is held back: the worker is waiting for it."""
        return any(f["holding"] for f in self.stack.graph.faults() if f["id"] in self.armed)

    def _disarm(self) -> None:
        for rule_id in self.armed:
            self.stack.graph.remove_fault(rule_id)
        self.armed = []

    def _kill_and_restart(self) -> None:
        self.worker.kill()
        self.kills += 1
        self._disarm()
        self.worker.start()

    def _tables_back(self) -> None:
        self.tables.start()
        self.table_outages += 1
