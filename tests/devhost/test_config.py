"""host.json options, local.settings.json loading, %SETTING% expressions, the function catalog."""

import json
from datetime import timedelta
from pathlib import Path

import azure.functions as func
import pytest
import sample_app  # the module the worker loads (conftest.py puts its directory on sys.path)

from devhost.catalog import build_catalog
from devhost.config import (
    AppSettings,
    ConfigError,
    HostOptions,
    load_local_settings,
    parse_timespan,
    read_values,
    resolve,
)
from devhost.worker import IndexedFunction

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


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"extensions": []}, r"host.json: extensions must be an object"),
        ({"extensions": {"queues": "16"}}, r"host.json: extensions.queues must be an object"),
        ({"extensions": {"http": 1}}, r"host.json: extensions.http must be an object"),
        ({"logging": {"logLevel": "debug"}}, r"host.json: logging.logLevel must be an object"),
    ],
)
def test_a_section_that_is_not_an_object_is_named(document: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        HostOptions.from_json(document)


def test_local_settings_values_load_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "file", "B": "file"}}))
    values = read_values(path)
    environ = {"A": "env"}
    added = load_local_settings(values, environ)
    assert environ == {"A": "env", "B": "file"}
    assert added == ["B"]
    assert read_values(tmp_path / "missing.json") == {}
    settings = AppSettings(values, {"A": "env"})
    assert (settings["A"], settings["b"]) == ("env", "file")  # environment wins; any case


def test_binding_expressions_resolve_from_app_settings_in_any_case() -> None:
    settings = AppSettings({"Queue_Name": "work"}, {})
    assert resolve("%QUEUE_NAME%-poison", settings, "f") == "work-poison"
    with pytest.raises(ConfigError, match=r"'%MISSING%' does not resolve.*add MISSING"):
        resolve("%MISSING%", settings, "function f")


def indexed(app: func.FunctionApp) -> list[IndexedFunction]:
    """The app's functions as the worker reports them (raw bindings), for catalog unit tests."""
    app.functions_bindings = {}
    return [
        IndexedFunction(f.get_function_name(), f.get_function_name(), _raw(f))
        for f in app.get_functions()
    ]


def _raw(function: func.Function) -> tuple[dict, ...]:
    return tuple(json.loads(raw) for raw in function.get_raw_bindings())


SAMPLE_SETTINGS = {
    "QUEUE_NAME": "work-items",
    "OUT_QUEUE": "out-items",
    "TICK_SCHEDULE": "0 */5 * * * *",
    "BROKEN_STORAGE": "UseDevelopmentStorage=true",
}


def test_catalog_reads_the_indexed_binding_metadata() -> None:
    catalog = build_catalog(indexed(sample_app.app), SAMPLE_SETTINGS)
    assert catalog.errors == {}
    functions = catalog.functions
    http = functions["enqueue_item"]
    assert (http.trigger, http.route, http.methods, http.auth_level) == (
        "http",
        "items/{id:int}",
        ("POST", "PUT"),
        "FUNCTION",
    )
    assert [(o.name, o.queue, o.connection) for o in http.outputs] == [
        ("out", "out-items", "AzureWebJobsStorage")
    ]
    assert functions["hello"].auth_level == "ANONYMOUS"
    queue = functions["process_item"]
    assert (queue.queue, queue.poison_queue) == ("work-items", "work-items-poison")
    assert functions["tick"].schedule is not None
    assert functions["tick"].schedule.minutes == frozenset(range(0, 60, 5))


def test_an_unresolved_queue_name_puts_only_its_functions_in_error() -> None:
    settings = {k: v for k, v in SAMPLE_SETTINGS.items() if k != "QUEUE_NAME"}
    catalog = build_catalog(indexed(sample_app.app), settings)
    assert set(catalog.errors) == {"process_item"}
    assert "'%QUEUE_NAME%' does not resolve" in catalog.errors["process_item"]
    assert "enqueue_item" in catalog.functions and "tick" in catalog.functions


def test_a_binding_devhost_cannot_run_puts_that_function_in_error() -> None:
    app = func.FunctionApp()

    @app.blob_trigger(arg_name="blob", path="in/{name}", connection="AzureWebJobsStorage")
    def on_blob(blob: func.InputStream) -> None: ...

    catalog = build_catalog(indexed(app), {})
    assert "blobTrigger" in catalog.errors["on_blob"]
    assert catalog.functions == {}


def test_a_poison_queue_has_no_poison_queue() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="work-poison", connection="AzureWebJobsStorage")
    def dead(msg: func.QueueMessage) -> None: ...

    assert build_catalog(indexed(app), {}).functions["dead"].poison_queue is None
