"""One function invocation as the host runs it: an InvocationRequest to the worker (which
converts the data, runs the function on its loop or thread pool and encodes the outputs), bounded
by host.json's functionTimeout, with the host's "Executing/Executed" log lines around it."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from devhost import rpc
from devhost.binding_data import TriggerInput
from devhost.catalog import FunctionSpec
from devhost.worker import Worker, current_invocation_id

log = logging.getLogger("devhost")
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "devhost_function", default=None
)
# Invocation id -> function name, so a sync function's log records (from the worker's thread
# pool, where the context variable above is not set) are still named after their function.
_running: dict[str, str] = {}


def function_of_current_record() -> str | None:
    """The function whose code is logging right now, if any."""
    name = current_function.get()
    if name is None:
        invocation_id = current_invocation_id()
        name = _running.get(invocation_id) if invocation_id else None
    return name


@dataclass
class Outcome:
    """What came back: the outputs the worker encoded and the `$return` data, or the failure."""

    invocation_id: str
    outputs: dict[str, rpc.TypedData] = field(default_factory=dict)
    return_value: rpc.TypedData | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Invoker:
    def __init__(self, worker: Worker, *, timeout: timedelta | None = None) -> None:
        self.worker = worker
        self.timeout = timeout.total_seconds() if timeout else None

    async def invoke(
        self, spec: FunctionSpec, trigger: TriggerInput, reason: str, retry_count: int = 0
    ) -> Outcome:
        invocation_id = str(uuid.uuid4())
        outcome = Outcome(invocation_id)
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", spec.name, reason, invocation_id)
        started = time.perf_counter()
        token = current_function.set(spec.name)
        _running[invocation_id] = spec.name
        try:
            answer = await asyncio.wait_for(
                self.worker.invoke(
                    spec.function_id,
                    invocation_id,
                    {spec.trigger_arg: trigger.data},
                    trigger.metadata,
                    retry_count,
                ),
                self.timeout,
            )
        except TimeoutError:
            outcome.error = f"Timeout value of {timedelta(seconds=self.timeout or 0)} exceeded"
            log.error(
                "Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s')",
                timedelta(seconds=self.timeout or 0),
                spec.name,
                invocation_id,
            )
            return outcome
        finally:
            current_function.reset(token)
            _running.pop(invocation_id, None)
        duration = int((time.perf_counter() - started) * 1000)
        if answer.succeeded:
            outcome.outputs, outcome.return_value = answer.outputs, answer.return_value
            log.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
                spec.name,
                invocation_id,
                duration,
            )
        else:
            outcome.error = answer.error
            log.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)\n"
                "Result: Failure\nException: %s\nStack: %s",
                spec.name,
                invocation_id,
                duration,
                answer.error,
                answer.stack_trace.rstrip(),
            )
        return outcome
