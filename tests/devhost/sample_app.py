"""Test-only function app for devhost: one function per behaviour the tests check.

It records what it receives in module-level lists (the tests run devhost in this process);
queue names and the timer schedule come from %SETTING% expressions so each test can use its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import List  # noqa: UP035 (the worker needs typing generics inside func.Out)

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
log = logging.getLogger("sample_app")

received: list[dict] = []  # one record per queue-trigger invocation
ticks: list[dict] = []  # one record per timer invocation
in_flight = {"now": 0, "max": 0}
_lock = threading.Lock()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def reset() -> None:
    with _lock:
        received.clear()
        ticks.clear()
        in_flight.update(now=0, max=0)


@app.route(route="items/{id:int}", methods=["POST", "PUT"])
@app.queue_output(arg_name="out", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
def enqueue_item(
    req: func.HttpRequest,
    out: func.Out[List[str]],  # noqa: UP006
) -> func.HttpResponse:
    """Sync: each line of the body becomes one queue message (one line: a plain str)."""
    lines = [line for line in req.get_body().decode().splitlines() if line]
    out.set(lines[0] if len(lines) == 1 else lines)
    payload = f'{{"id": "{req.route_params["id"]}", "method": "{req.method}", "n": {len(lines)}}}'
    return func.HttpResponse(payload, status_code=202, mimetype="application/json")


@app.route(route="hello/{name?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def hello(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Async, anonymous; echoes a setting so the CLI test can see local.settings.json loaded."""
    await asyncio.sleep(float(req.params.get("sleep", "0")))  # to exceed functionTimeout
    name = req.route_params.get("name") or req.params.get("name") or "world"
    greeting = os.environ.get("GREETING", "hello")
    return func.HttpResponse(f"{greeting} {name} from {context.function_name}")


@app.route(route="secret", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def secret(req: func.HttpRequest) -> str:
    return "admin only"


@app.route(route="broken", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%OUT_QUEUE%", connection="BROKEN_STORAGE")
def enqueue_broken(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    """Its output connection points at a port where nothing listens: the write fails."""
    out.set("never arrives")
    return func.HttpResponse(status_code=202)


@app.route(route="crash", methods=["GET"])
def crash(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom")


@app.route(route="nothing", methods=["GET"])
def returns_nothing(req: func.HttpRequest) -> func.HttpResponse:  # type: ignore[return]
    """Returns None despite its annotation (the worker refuses a `-> None` HTTP function at
    indexing): the worker cannot encode None as an HTTP response."""


@app.queue_trigger(arg_name="msg", queue_name="%QUEUE_NAME%", connection="AzureWebJobsStorage")
async def process_item(msg: func.QueueMessage) -> None:
    """Records each message; a body starting with "fail" raises, "slow:S" takes S seconds."""
    body = msg.get_body().decode()
    with _lock:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        received.append(
            {
                "id": msg.id,
                "body": body,
                "dequeue_count": msg.dequeue_count,
                "pop_receipt": msg.pop_receipt,
                "insertion_time": msg.insertion_time,
                "expiration_time": msg.expiration_time,
                "at": time.monotonic(),
            }
        )
    log.info("processing %s (dequeue %s)", body, msg.dequeue_count)
    try:
        if body.startswith("slow:"):
            await asyncio.sleep(float(body.split(":", 1)[1]))
        if body.startswith("fail"):
            raise RuntimeError(f"failing on purpose: {body}")
    finally:
        with _lock:
            in_flight["now"] -= 1


@app.timer_trigger(arg_name="timer", schedule="%TICK_SCHEDULE%", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    """Sync timer."""
    with _lock:
        ticks.append({"past_due": timer.past_due, "on_event_loop": _on_event_loop()})


@app.route(route="wrong-output", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
def enqueue_wrong_type(
    req: func.HttpRequest,
    out: func.Out[List[str]],  # noqa: UP006
) -> func.HttpResponse:
    """Sets a value the worker's queue converter refuses (str, bytes, QueueMessage or a list).
    (With `func.Out[str]` the worker would pick its generic converter, which takes an int.)"""
    out.set(42)  # type: ignore[arg-type]  # deliberately wrong, to be refused
    return func.HttpResponse(status_code=202)
