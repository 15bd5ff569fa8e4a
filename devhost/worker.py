"""The Python worker inside devhost, driven the way the host drives it over gRPC: the
`azure-functions-runtime` package's own worker_init_request (it imports the app's script file and
validates every function with the worker's Registry) and invocation_request (the worker's
converters, `Out` objects, `context`, thread pool). So devhost loads exactly what the worker
loads and refuses what it refuses, with its message.

The runtime keeps its state in module globals, as the worker process does: one app per process.
An in-process DevHost therefore refuses to load a second, different app while one is loaded
(run it with devhost.process.DevHostProcess instead).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
from azure_functions_runtime import (
    handle_event,
    invocation_id_cv,
    start_threadpool_executor,
    stop_threadpool_executor,
)

from devhost import rpc

log = logging.getLogger("devhost")
SCRIPT_FILE_SETTING = "PYTHON_SCRIPT_FILE_NAME"
# What the host announces in WorkerInitRequest.capabilities (the worker only reads a few).
HOST_CAPABILITIES = {"FunctionDataCache": "false"}


class WorkerError(RuntimeError):
    """The worker refused the app; the text is the worker's own exception message."""


@dataclass(frozen=True)
class IndexedFunction:
    """One function as the worker reports it in its metadata response."""

    name: str
    function_id: str
    bindings: tuple[dict[str, Any], ...]  # raw bindings, as the host receives them


@dataclass(frozen=True)
class Invocation:
    """What the worker answered for one invocation."""

    succeeded: bool
    outputs: dict[str, rpc.TypedData]
    return_value: rpc.TypedData | None
    error: str = ""  # "<Type>: message", as the host logs it
    stack_trace: str = ""


_lock = threading.Lock()
_loaded: dict[str, Any] = {"app": None, "users": 0}


class Worker:
    """The worker for one app directory and script file (function_app.py by default)."""

    def __init__(self, app_dir: str | os.PathLike[str], script_file: str) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.script_file = script_file
        self.functions: list[IndexedFunction] = []
        self._started = False

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.app_dir), self.script_file)

    async def start(self) -> list[IndexedFunction]:
        """WorkerInitRequest (which indexes the app), then the metadata request."""
        with _lock:
            if _loaded["app"] not in (None, self.key):
                raise WorkerError(
                    f"this process already hosts {_loaded['app'][1]} from {_loaded['app'][0]}; "
                    "the worker holds one app per process (use devhost.process.DevHostProcess)"
                )
            _loaded["app"] = self.key
            _loaded["users"] += 1
            self._started = True
        if str(self.app_dir) not in sys.path:
            sys.path.insert(0, str(self.app_dir))  # the worker puts the app directory first
        with _script_file_setting(self.script_file):
            _forget_indexed_names(self.script_file)
            init = await handle_event.worker_init_request(
                rpc.Request(
                    rpc.StreamingMessage(
                        worker_init_request=rpc.WorkerInitRequest(
                            capabilities=dict(HOST_CAPABILITIES),
                            function_app_directory=str(self.app_dir),
                        )
                    ),
                    {"host": "127.0.0.1", "protos": rpc},
                )
            )
        if init.result.status != rpc.StatusResult.Success:
            raise WorkerError(init.result.exception.message)
        start_threadpool_executor()
        metadata = await handle_event.functions_metadata_request(None)
        self.functions = [
            IndexedFunction(
                name=m.name,
                function_id=m.function_id,
                bindings=tuple(json.loads(raw) for raw in m.raw_bindings),
            )
            for m in metadata.function_metadata_results or []
        ]
        return self.functions

    async def invoke(
        self,
        function_id: str,
        invocation_id: str,
        inputs: Mapping[str, rpc.TypedData],
        trigger_metadata: Mapping[str, rpc.TypedData] | None = None,
        retry_count: int = 0,
    ) -> Invocation:
        """InvocationRequest -> InvocationResponse through the worker's own handler."""
        request = rpc.Request(
            rpc.StreamingMessage(
                invocation_request=rpc.InvocationRequest(
                    invocation_id=invocation_id,
                    function_id=function_id,
                    input_data=[rpc.ParameterBinding(name=n, data=d) for n, d in inputs.items()],
                    trigger_metadata=dict(trigger_metadata or {}),
                    trace_context=rpc.RpcTraceContext(
                        trace_parent=_traceparent(invocation_id), trace_state="", attributes={}
                    ),
                    retry_context=rpc.RetryContext(
                        retry_count=retry_count, max_retry_count=0, exception=None
                    ),
                )
            )
        )
        response = await handle_event.invocation_request(request)
        if response.result.status == rpc.StatusResult.Success:
            outputs = {b.name: b.data for b in response.output_data if b.data is not None}
            return Invocation(True, outputs, response.return_value)
        exception = response.result.exception
        return Invocation(False, {}, None, exception.message, exception.stack_trace or "")

    def stop(self) -> None:
        with _lock:
            if not self._started:
                return
            self._started = False
            _loaded["users"] -= 1
            if _loaded["users"] == 0:
                _loaded["app"] = None
                stop_threadpool_executor()


def current_invocation_id() -> str | None:
    """The invocation a sync function's thread runs (the worker sets it in its thread pool)."""
    return invocation_id_cv.get()


def _traceparent(invocation_id: str) -> str:
    return f"00-{invocation_id.replace('-', '')}-{invocation_id.replace('-', '')[:16]}-01"


@contextlib.contextmanager
def _script_file_setting(script_file: str) -> Iterator[None]:
    """The worker reads the script file name from PYTHON_SCRIPT_FILE_NAME, an app setting."""
    before = os.environ.get(SCRIPT_FILE_SETTING)
    os.environ[SCRIPT_FILE_SETTING] = script_file
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SCRIPT_FILE_SETTING, None)
        else:
            os.environ[SCRIPT_FILE_SETTING] = before


def _forget_indexed_names(script_file: str) -> None:
    """azure-functions 1.26 remembers the function names get_functions() has returned and
    refuses them on a second call. The worker indexes once per process; devhost may index the
    same, already imported app again (a restarted in-process host, a test suite), so that memory
    is cleared first. Real duplicates within one indexing are still refused."""
    module: ModuleType | None = sys.modules.get(Path(script_file).stem)
    for value in vars(module).values() if module else ():
        if isinstance(value, func.FunctionRegister):
            value.functions_bindings = {}
