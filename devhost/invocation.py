"""One function invocation, as the Python worker runs it: arguments by binding name, `func.Out`
objects for outputs, an optional `context`, async functions on devhost's loop and sync ones on a
thread pool, the host's functionTimeout, and the "Executing/Executed" log lines around it."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.functions as func
from azure.functions import _abc as azf_abc

from devhost.catalog import FunctionSpec

log = logging.getLogger("devhost")
_DEVHOST_DIR = os.path.dirname(os.path.abspath(__file__))
current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "devhost_function", default=None
)


def user_traceback(exc: BaseException) -> str:
    """The traceback from the function's own frames on (devhost and asyncio frames dropped)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith(_DEVHOST_DIR) or f"{os.sep}asyncio{os.sep}" in filename):
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


class Out(func.Out):
    """The object behind a `func.Out[...]` parameter: the function sets, devhost reads."""

    def __init__(self) -> None:
        self._value: Any = None
        self.was_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.was_set = True

    def get(self) -> Any:
        return self._value


class _TraceContext(azf_abc.TraceContext):
    def __init__(self) -> None:
        self._traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._traceparent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(azf_abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> None:
        return None


class Context(func.Context):
    """What a `context` parameter receives."""

    _thread_local = threading.local()

    def __init__(self, function_name: str, invocation_id: str) -> None:
        self._function_name = function_name
        self._invocation_id = invocation_id
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return os.getcwd()

    @property
    def trace_context(self) -> azf_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> azf_abc.RetryContext:
        return self._retry


@dataclass
class Outcome:
    """What came back: the return value, every output value that was set, or the failure."""

    invocation_id: str
    value: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Invoker:
    def __init__(self, *, timeout: timedelta | None = None, max_threads: int | None = None):
        self.timeout = timeout.total_seconds() if timeout else None
        threads = max_threads or int(os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "0") or 0)
        self.pool = ThreadPoolExecutor(max_workers=threads or None, thread_name_prefix="function")

    async def invoke(self, spec: FunctionSpec, trigger_value: Any, reason: str) -> Outcome:
        invocation_id = str(uuid.uuid4())
        outcome = Outcome(invocation_id)
        outs = {o.name: Out() for o in spec.outputs if o.name != "$return"}
        kwargs: dict[str, Any] = {spec.trigger_arg: trigger_value, **outs}
        if spec.wants_context:
            kwargs["context"] = Context(spec.name, invocation_id)
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", spec.name, reason, invocation_id)
        started = time.perf_counter()
        token = current_function.set(spec.name)
        try:
            if spec.is_async:
                call = spec.user_function(**kwargs)
            else:
                ctx = contextvars.copy_context()
                loop = asyncio.get_running_loop()
                bound = functools.partial(ctx.run, spec.user_function, **kwargs)
                call = loop.run_in_executor(self.pool, bound)
            outcome.value = await asyncio.wait_for(call, self.timeout)
        except TimeoutError as exc:
            outcome.error = exc
            log.error(
                "Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s')",
                timedelta(seconds=self.timeout or 0),
                spec.name,
                invocation_id,
            )
        except Exception as exc:
            outcome.error = exc
        finally:
            current_function.reset(token)
        outcome.outputs = {name: out.get() for name, out in outs.items() if out.was_set}
        if any(o.name == "$return" for o in spec.outputs) and outcome.value is not None:
            outcome.outputs["$return"] = outcome.value
        duration = int((time.perf_counter() - started) * 1000)
        if outcome.error is None:
            log.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
                spec.name,
                invocation_id,
                duration,
            )
        elif not isinstance(outcome.error, TimeoutError):
            log.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)\n%s",
                spec.name,
                invocation_id,
                duration,
                user_traceback(outcome.error).rstrip(),
            )
        return outcome

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
