"""The `context` the Functions worker passes to a function, for calling function_app's
functions directly (tests, benches): the worker's own Context class with a host trace
context, as devhost and the real host send one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure_functions_runtime.bindings.context import Context

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ROOT = Path(__file__).resolve().parents[1]


def invocation(traceparent: str = TRACEPARENT, function_name: str = "webhook") -> Context:
    """A Context (azure_functions_runtime's, which declares no azure.functions base)."""
    from azure_functions_runtime.bindings.context import Context
    from azure_functions_runtime.bindings.retrycontext import RetryContext
    from azure_functions_runtime.bindings.tracecontext import TraceContext

    trace = TraceContext(traceparent, "", {})
    retry = RetryContext(retry_count=0, max_retry_count=0, rpc_exception=None)  # type: ignore[arg-type]  # no exception yet
    return Context(function_name, str(ROOT), "invocation-1", threading.local(), trace, retry)
