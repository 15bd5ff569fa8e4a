"""The function catalog: what each function of the app is, read from the binding metadata the host
indexes (`app.get_functions()` -> function.json), with `%SETTING%` expressions resolved."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import azure.functions as func

from devhost.config import ConfigError, resolve
from devhost.schedule import Schedule, parse_schedule

DEFAULT_CONNECTION = "AzureWebJobsStorage"
SUPPORTED_OUTPUTS = {"queue", "http"}
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Queue names: 3-63 characters, lower-case letters, digits and single hyphens.
QUEUE_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


@dataclass(frozen=True)
class QueueOutput:
    name: str  # the parameter name, or "$return"
    queue: str
    connection: str


@dataclass(frozen=True)
class FunctionSpec:
    """One function as devhost runs it. `trigger` is "http", "queue" or "timer"."""

    name: str
    trigger: str
    trigger_arg: str
    user_function: Callable[..., Any]
    is_async: bool
    outputs: tuple[QueueOutput, ...] = ()
    wants_context: bool = False
    # http
    route: str = ""
    methods: tuple[str, ...] = ()
    auth_level: str = "FUNCTION"
    # queue
    queue: str = ""
    connection: str = DEFAULT_CONNECTION
    # timer
    schedule: Schedule | None = None
    run_on_startup: bool = False

    @property
    def poison_queue(self) -> str | None:
        """`<queue>-poison`, except where the host has none: a queue that already ends in
        -poison, or whose name would grow past 63 characters."""
        if self.queue.endswith("-poison") or len(self.queue) + len("-poison") > 63:
            return None
        return f"{self.queue}-poison"


def find_app(module_path: str) -> func.FunctionApp:
    """Import `module` (or `module:attribute`) and return its FunctionApp, as the worker indexes
    the first FunctionRegister it finds among the module's globals."""
    module_name, _, attribute = module_path.partition(":")
    module: ModuleType = importlib.import_module(module_name)
    if attribute:
        app = getattr(module, attribute)
        if not isinstance(app, func.FunctionRegister):
            raise ConfigError(f"{module_path} is not a FunctionApp")
        return app
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise ConfigError(f"module {module_name} has no FunctionApp (app = func.FunctionApp())")


def _queue_name(raw: str, environ: Mapping[str, str], where: str) -> str:
    name = resolve(raw, environ, where)
    if not QUEUE_NAME.match(name):
        raise ConfigError(
            f"{where}: queue name {name!r} is invalid (3-63 lower-case letters, digits, hyphens)"
        )
    return name


def describe(function: func.Function, environ: Mapping[str, str]) -> FunctionSpec:
    """Turn one indexed function into a FunctionSpec; ConfigError names what devhost cannot run."""
    name = function.get_function_name()
    bindings = json.loads(function.get_function_json())["bindings"]
    user_function = function.get_user_function()
    parameters = inspect.signature(user_function).parameters
    trigger = next((b for b in bindings if b["type"].endswith("Trigger")), None)
    if trigger is None:
        raise ConfigError(f"function {name} has no trigger")
    outputs = []
    for binding in bindings:
        if binding is trigger or (binding["type"] == "http" and binding["direction"] == "OUT"):
            continue
        if binding["type"] != "queue" or binding["direction"] != "OUT":
            raise ConfigError(
                f"function {name}: devhost does not support the {binding['type']} binding "
                f"({binding['direction'].lower()}); supported: httpTrigger, queueTrigger, "
                "timerTrigger, queue output"
            )
        where = f"function {name}, binding {binding['name']}"
        outputs.append(
            QueueOutput(
                name=binding["name"],
                queue=_queue_name(binding["queueName"], environ, where),
                connection=binding.get("connection") or DEFAULT_CONNECTION,
            )
        )
    common = {
        "name": name,
        "trigger_arg": trigger["name"],
        "user_function": user_function,
        "is_async": inspect.iscoroutinefunction(user_function),
        "outputs": tuple(outputs),
        "wants_context": "context" in parameters,
    }
    where = f"function {name}"
    kind = trigger["type"]
    if kind == "httpTrigger":
        route = trigger.get("route") or name
        return FunctionSpec(
            trigger="http",
            route=resolve(route, environ, where).strip("/"),
            methods=tuple(m.upper() for m in trigger.get("methods") or ALL_METHODS),
            auth_level=str(trigger.get("authLevel", "FUNCTION")).upper(),
            **common,
        )
    if kind == "queueTrigger":
        return FunctionSpec(
            trigger="queue",
            queue=_queue_name(trigger["queueName"], environ, where),
            connection=trigger.get("connection") or DEFAULT_CONNECTION,
            **common,
        )
    if kind == "timerTrigger":
        return FunctionSpec(
            trigger="timer",
            schedule=parse_schedule(resolve(trigger["schedule"], environ, where)),
            run_on_startup=bool(trigger.get("runOnStartup", False)),
            **common,
        )
    raise ConfigError(f"function {name}: devhost does not support the {kind} trigger")


def build_catalog(app: func.FunctionApp, environ: Mapping[str, str]) -> dict[str, FunctionSpec]:
    """Every function of the app by name. Any function devhost cannot run stops the start-up
    with its reason, as an indexing error stops the real host."""
    catalog: dict[str, FunctionSpec] = {}
    # azure-functions 1.26 remembers the names get_functions() has seen (functions_bindings) and
    # refuses them on a second call, so indexing the same app twice in one process (a test
    # suite, a restarted in-process host) would fail: index afresh, then leave the app as it
    # was. Real duplicates are still refused.
    seen = app.functions_bindings
    app.functions_bindings = {}
    try:
        functions = app.get_functions()
    finally:
        app.functions_bindings = seen
    for function in functions:
        spec = describe(function, environ)
        catalog[spec.name] = spec
    return catalog
