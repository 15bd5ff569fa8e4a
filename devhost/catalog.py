"""The function catalog: what each function of the app is, read from the binding metadata the worker
reports (its raw bindings, as the host receives them), with `%SETTING%` expressions resolved from
the app settings. A function the host cannot bind is in error; the others still run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devhost.config import ConfigError, resolve
from devhost.schedule import Schedule, parse_schedule
from devhost.worker import IndexedFunction

DEFAULT_CONNECTION = "AzureWebJobsStorage"
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
    function_id: str
    trigger: str
    trigger_arg: str
    outputs: tuple[QueueOutput, ...] = ()
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


def _queue_name(raw: str, settings: Mapping[str, str], where: str) -> str:
    name = resolve(raw, settings, where)
    if not QUEUE_NAME.match(name):
        raise ConfigError(
            f"{where}: queue name {name!r} is invalid (3-63 lower-case letters, digits, hyphens)"
        )
    return name


def describe(function: IndexedFunction, settings: Mapping[str, str]) -> FunctionSpec:
    """Turn one indexed function into a FunctionSpec; ConfigError says why the host cannot bind
    it (an unknown binding, a setting that does not resolve, an invalid queue name)."""
    name = function.name
    bindings = list(function.bindings)
    trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), None)
    if trigger is None:
        raise ConfigError(f"function {name} has no trigger")
    outputs = []
    for binding in bindings:
        direction = str(binding.get("direction", "")).upper()
        if binding is trigger or (binding["type"] == "http" and direction == "OUT"):
            continue
        if binding["type"] != "queue" or direction != "OUT":
            raise ConfigError(
                f"function {name}: devhost does not support the {binding['type']} binding "
                f"({direction.lower()}); supported: httpTrigger, queueTrigger, "
                "timerTrigger, queue output"
            )
        where = f"function {name}, binding {binding['name']}"
        outputs.append(
            QueueOutput(
                name=binding["name"],
                queue=_queue_name(binding["queueName"], settings, where),
                connection=binding.get("connection") or DEFAULT_CONNECTION,
            )
        )
    common: dict[str, Any] = {
        "name": name,
        "function_id": function.function_id,
        "trigger_arg": trigger["name"],
        "outputs": tuple(outputs),
    }
    where = f"function {name}"
    kind = trigger["type"]
    if kind == "httpTrigger":
        route = trigger.get("route") or name
        return FunctionSpec(
            trigger="http",
            route=resolve(route, settings, where).strip("/"),
            methods=tuple(m.upper() for m in trigger.get("methods") or ALL_METHODS),
            auth_level=str(trigger.get("authLevel", "FUNCTION")).upper(),
            **common,
        )
    if kind == "queueTrigger":
        return FunctionSpec(
            trigger="queue",
            queue=_queue_name(trigger["queueName"], settings, where),
            connection=trigger.get("connection") or DEFAULT_CONNECTION,
            **common,
        )
    if kind == "timerTrigger":
        return FunctionSpec(
            trigger="timer",
            schedule=parse_schedule(resolve(trigger["schedule"], settings, where)),
            run_on_startup=bool(trigger.get("runOnStartup", False)),
            **common,
        )
    raise ConfigError(f"function {name}: devhost does not support the {kind} trigger")


@dataclass(frozen=True)
class Catalog:
    """The functions the host runs, and those in error with the reason (not run)."""

    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def build_catalog(functions: list[IndexedFunction], settings: Mapping[str, str]) -> Catalog:
    """Every function by name. One the host cannot bind is in error, and only that one: the
    Functions host skips it and starts the others ("The 'X' function is in error: ...")."""
    catalog = Catalog()
    for function in functions:
        try:
            spec = describe(function, settings)
        except ConfigError as error:
            catalog.errors[function.name] = str(error)
        else:
            catalog.functions[spec.name] = spec
    return catalog
