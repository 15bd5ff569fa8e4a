"""host.json options, local.settings.json loading, %SETTING% expressions, the function catalog."""

import json
from datetime import timedelta
from pathlib import Path

import azure.functions as func
import pytest

from devhost.catalog import build_catalog
from devhost.config import ConfigError, HostOptions, load_local_settings, parse_timespan, resolve
from tests.devhost import sample_app

REPO = Path(__file__).resolve().parents[2]


def test_timespans_as_host_json_writes_them() -> None:
    assert parse_timespan("00:00:01", "x") == timedelta(seconds=1)
    assert parse_timespan("00:00:00.500", "x") == timedelta(milliseconds=500)
    assert parse_timespan("1.02:00:00", "x") == timedelta(days=1, hours=2)
    with pytest.raises(ConfigError, match="not a TimeSpan"):
        parse_timespan("5s", "extensions.queues.visibilityTimeout")


def test_queue_defaults_are_the_extension_defaults() -> None:
    options = HostOptions.from_json({})
    q = options.queues
    assert (q.batch_size, q.max_dequeue_count, q.message_encoding) == (16, 5, "base64")
    assert q.visibility_timeout == timedelta(0)
    assert q.max_polling_interval == timedelta(minutes=1)
    assert options.route_prefix == "api"


def test_repository_host_json_is_read() -> None:
    options = HostOptions.load(REPO / "host.json")
    assert options.queues.batch_size == 16
    assert options.queues.new_batch_threshold == 8
    assert options.queues.max_polling_interval == timedelta(seconds=1)
    assert options.queues.visibility_timeout == timedelta(seconds=30)
    assert options.function_timeout == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("queues", "fragment"),
    [
        ({"batchSize": 33}, "batchSize must be 1 to 32"),
        ({"maxDequeueCount": 0}, "maxDequeueCount"),
        ({"messageEncoding": "utf8"}, "messageEncoding"),
        ({"maxPollingInterval": "00:00:00.050"}, "maxPollingInterval"),
    ],
)
def test_bad_queue_options_are_refused(queues: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        HostOptions.from_json({"extensions": {"queues": queues}})


def test_local_settings_values_load_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "file", "B": "file"}}))
    environ = {"A": "env"}
    added = load_local_settings(path, environ)
    assert environ == {"A": "env", "B": "file"}
    assert added == ["B"]
    assert load_local_settings(tmp_path / "missing.json", environ) == []


def test_binding_expressions_resolve_from_the_environment() -> None:
    assert resolve("%Q%-poison", {"Q": "work"}, "f") == "work-poison"
    with pytest.raises(ConfigError, match=r"'%MISSING%' does not resolve.*set MISSING"):
        resolve("%MISSING%", {}, "function f")


def test_catalog_reads_the_indexed_binding_metadata() -> None:
    environ = {
        "QUEUE_NAME": "work-items",
        "OUT_QUEUE": "out-items",
        "TICK_SCHEDULE": "0 */5 * * * *",
    }
    catalog = build_catalog(sample_app.app, environ)
    http = catalog["enqueue_item"]
    assert (http.trigger, http.route, http.methods, http.auth_level) == (
        "http",
        "items/{id:int}",
        ("POST", "PUT"),
        "FUNCTION",
    )
    assert [(o.name, o.queue, o.connection) for o in http.outputs] == [
        ("out", "out-items", "AzureWebJobsStorage")
    ]
    assert not http.is_async and catalog["hello"].is_async and catalog["hello"].wants_context
    assert catalog["hello"].auth_level == "ANONYMOUS"
    queue = catalog["process_item"]
    assert (queue.queue, queue.poison_queue) == ("work-items", "work-items-poison")
    assert catalog["tick"].schedule is not None
    assert catalog["tick"].schedule.minutes == frozenset(range(0, 60, 5))


def test_catalog_refuses_an_unresolved_queue_name() -> None:
    with pytest.raises(ConfigError, match="QUEUE_NAME"):
        build_catalog(sample_app.app, {"OUT_QUEUE": "out-q", "TICK_SCHEDULE": "0 0 * * * *"})


def test_catalog_refuses_bindings_it_cannot_run() -> None:
    app = func.FunctionApp()

    @app.blob_trigger(arg_name="blob", path="in/{name}", connection="AzureWebJobsStorage")
    def on_blob(blob: func.InputStream) -> None: ...

    with pytest.raises(ConfigError, match="blobTrigger"):
        build_catalog(app, {})


def test_a_poison_queue_has_no_poison_queue() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="work-poison", connection="AzureWebJobsStorage")
    def dead(msg: func.QueueMessage) -> None: ...

    assert build_catalog(app, {})["dead"].poison_queue is None
