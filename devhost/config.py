"""What devhost reads before it starts: host.json's options and local.settings.json's Values."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$")
BINDING_EXPRESSION = re.compile(r"%([^%]+)%")
LOG_LEVELS = {
    "trace": 5,
    "debug": 10,
    "information": 20,
    "warning": 30,
    "error": 40,
    "critical": 50,
    "none": 100,
}


class ConfigError(ValueError):
    """host.json, local.settings.json or a binding expression is wrong; names the file or key."""


def parse_timespan(text: object, what: str) -> timedelta:
    """A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fffffff]`."""
    match = TIMESPAN.match(str(text).strip())
    if not match:
        raise ConfigError(f"{what}: {text!r} is not a TimeSpan (hh:mm:ss)")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds) + (float(f"0.{fraction}") if fraction else 0.0),
    )


@dataclass(frozen=True)
class QueueOptions:
    """extensions.queues in host.json, with the queues extension 5.x defaults."""

    batch_size: int = 16
    new_batch_threshold: int | None = None  # None: batch_size / 2 * processor count
    max_polling_interval: timedelta = timedelta(minutes=1)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @property
    def effective_new_batch_threshold(self) -> int:
        if self.new_batch_threshold is not None:
            return self.new_batch_threshold
        return (self.batch_size // 2) * (os.cpu_count() or 1)


def _section(parent: Mapping[str, object], key: str, where: str) -> Mapping[str, Any]:
    """A host.json object by key (absent or null reads as empty), so a value of another type
    is a clear error rather than an AttributeError."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be an object")
    return value


@dataclass(frozen=True)
class HostOptions:
    queues: QueueOptions = field(default_factory=QueueOptions)
    route_prefix: str = "api"
    function_timeout: timedelta | None = None
    function_log_level: int = 20

    @classmethod
    def from_json(cls, document: Mapping[str, object], source: str = "host.json") -> HostOptions:
        extensions = _section(document, "extensions", f"{source}: extensions")
        where = f"{source}: extensions.queues"
        q = _section(extensions, "queues", where)
        batch_size = int(q.get("batchSize", 16))
        if not 1 <= batch_size <= 32:
            raise ConfigError(f"{where}.batchSize must be 1 to 32, not {batch_size}")
        threshold = q.get("newBatchThreshold")
        max_dequeue = int(q.get("maxDequeueCount", 5))
        if max_dequeue < 1:
            raise ConfigError(f"{where}.maxDequeueCount must be at least 1")
        encoding = str(q.get("messageEncoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise ConfigError(f"{where}.messageEncoding must be base64 or none, not {encoding!r}")
        polling = parse_timespan(
            q.get("maxPollingInterval", "00:01:00"), f"{where}.maxPollingInterval"
        )
        if polling < timedelta(milliseconds=100):
            raise ConfigError(f"{where}.maxPollingInterval must not be less than 00:00:00.1")
        queues = QueueOptions(
            batch_size=batch_size,
            new_batch_threshold=int(threshold) if threshold is not None else None,
            max_polling_interval=polling,
            visibility_timeout=parse_timespan(
                q.get("visibilityTimeout", "00:00:00"), f"{where}.visibilityTimeout"
            ),
            max_dequeue_count=max_dequeue,
            message_encoding=encoding,
        )
        http = _section(extensions, "http", f"{source}: extensions.http")
        timeout = document.get("functionTimeout")
        logging = _section(document, "logging", f"{source}: logging")
        levels = _section(logging, "logLevel", f"{source}: logging.logLevel")
        level_name = str(levels.get("Function", levels.get("default", "Information"))).lower()
        return cls(
            queues=queues,
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            function_timeout=(
                parse_timespan(timeout, f"{source}: functionTimeout")
                if timeout not in (None, "-1")
                else None
            ),
            function_log_level=LOG_LEVELS.get(level_name, 20),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> HostOptions:
        if path is None or not Path(path).exists():
            return cls()
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_json(document, str(path))


def read_values(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """local.settings.json's Values (none when the file is absent)."""
    if path is None or not Path(path).exists():
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected an object with Values")
    if document.get("IsEncrypted"):
        raise ConfigError(f"{path}: IsEncrypted is true; devhost reads only plain settings")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: Values must be an object of NAME: value pairs")
    return {name: "" if value is None else str(value) for name, value in values.items()}


def load_local_settings(values: Mapping[str, str], environ: MutableMapping[str, str]) -> list[str]:
    """Copy Values into the app's environment where not already set (the environment wins), as
    Core Tools starts the worker. Returns the names it added, so an in-process host can undo
    them."""
    added = []
    for name, value in values.items():
        if name not in environ:
            environ[name] = value
            added.append(name)
    return added


class AppSettings(Mapping[str, str]):
    """The settings the host resolves bindings from: local.settings.json Values and the host's
    own environment (which wins), by name in any case, as .NET configuration looks them up.
    Taken before the app is imported: what the app's code sets in its own process is never
    seen, as the real host (another process) never sees it."""

    def __init__(self, values: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self._by_key: dict[str, tuple[str, str]] = {}
        for source in (values, environ):
            for name, value in source.items():
                self._by_key[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._by_key[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_key


def resolve(text: str, settings: Mapping[str, str], where: str) -> str:
    """Replace `%SETTING%` binding expressions; an unknown setting is an error, as in the host."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in settings:
            raise ConfigError(
                f"{where}: '%{name}%' does not resolve to a value (add {name} to the app "
                "settings: local.settings.json Values locally, Application settings in Azure)"
            )
        return settings[name]

    return BINDING_EXPRESSION.sub(lookup, text)
