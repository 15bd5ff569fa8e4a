"""devhost loads apps with the Python worker's own indexing (azure-functions-runtime): it refuses
what the worker refuses, with the worker's message; the project's function_app.py loads with no
error or warning; %SETTING% resolves from app settings only, never from what the app's import
sets in its own process."""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from devhost import DevHost
from devhost.catalog import build_catalog
from devhost.config import AppSettings, read_values
from devhost.worker import Worker, WorkerError

REPO = Path(__file__).resolve().parents[2]
HOST_JSON = Path(__file__).parent / "host.json"

APP_TEMPLATE = """\
from __future__ import annotations
{imports}
import azure.functions as func

app = func.FunctionApp()


@app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="msg", queue_name="out-items", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, msg: func.Out[{item_type}]) -> func.HttpResponse:
    msg.set(["a", "b"])
    return func.HttpResponse(status_code=202)
"""
BUILTIN_LIST = {"imports": "", "item_type": "list[str]"}
TYPING_LIST = {"imports": "from typing import List", "item_type": "List[str]"}


def write_app(directory: Path, script: str, **parts: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / script).write_text(APP_TEMPLATE.format(**parts))
    return directory


def run_devhost(app_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m devhost` on an app that either fails to start or is stopped at once: the
    first line tells which (a refused app exits 1 before listening)."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "devhost", "--port", "0", "--app-dir", str(app_dir)),
            *args,
            *("--settings", str(app_dir / "none.json"), "--host-json", str(HOST_JSON)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_devhost_refuses_out_of_builtin_list_with_the_workers_message(tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "bad", "function_app.py", **BUILTIN_LIST)
    result = run_devhost(app_dir)
    assert result.returncode == 1
    assert (
        "Worker failed to index functions: FunctionLoadError: cannot load the enqueue "
        "function: binding msg has invalid non-type annotation "
        "azure.functions._abc.Out[list[str]]"
    ) in result.stderr
    assert "devhost listening" not in result.stdout


async def test_the_same_app_with_typing_list_loads_in_the_worker(tmp_path: Path) -> None:
    """The companion of the test above: only the annotation differs, and it loads."""
    app_dir = write_app(tmp_path / "good", "typing_list_app.py", **TYPING_LIST)
    worker = Worker(app_dir, "typing_list_app.py")
    try:
        functions = await worker.start()
    finally:
        worker.stop()
    assert [f.name for f in functions] == ["enqueue"]


async def test_a_refused_app_raises_worker_error_in_process(tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "bad2", "builtin_list_app.py", **BUILTIN_LIST)
    worker = Worker(app_dir, "builtin_list_app.py")
    try:
        with pytest.raises(WorkerError, match=r"invalid non-type annotation .*Out\[list\[str\]\]"):
            await worker.start()
    finally:
        worker.stop()


async def test_function_app_loads_every_function_with_no_error_or_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="azure.functions")
    worker = Worker(REPO, "function_app.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            functions = await worker.start()
        finally:
            worker.stop()
    assert sorted(f.name for f in functions) == declared_functions(REPO / "function_app.py")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("azure.functions")] == []
    assert [str(w.message) for w in caught] == []
    # With the sample settings, as local.settings.json has them, the host binds every function.
    values = read_values(REPO / "local.settings.sample.json")
    catalog = build_catalog(functions, AppSettings(values, {}))
    assert catalog.errors == {}
    assert catalog.functions["process_user_changes"].queue == values["USER_CHANGES_QUEUE"]


def declared_functions(script: Path) -> list[str]:
    """The names of the functions decorated with `@app....` in a script, read from its source."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    return sorted(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and isinstance(d.func.value, ast.Name)
            and d.func.value.id == "app"
            for d in node.decorator_list
        )
    )


SELF_SETTING_APP = """\
import os

import azure.functions as func

os.environ["SELF_SET_QUEUE"] = "self-set-queue"  # the app's process only: the host never sees it
app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="%SELF_SET_QUEUE%", connection="AzureWebJobsStorage")
def listen(msg: func.QueueMessage) -> None: ...


@app.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
"""


@pytest.fixture
def self_setting_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    app_dir = tmp_path / "self"
    app_dir.mkdir()
    (app_dir / "self_setting_app.py").write_text(textwrap.dedent(SELF_SETTING_APP))
    monkeypatch.delenv("SELF_SET_QUEUE", raising=False)
    yield app_dir
    os.environ.pop("SELF_SET_QUEUE", None)  # the app's import set it in this process


def start(app_dir: Path, settings: Path | None, azurite) -> DevHost:
    environ = {**os.environ, "AzureWebJobsStorage": azurite.connection_string}
    environ.pop("SELF_SET_QUEUE", None)
    return DevHost(
        app="self_setting_app",
        app_dir=app_dir,
        settings=settings,
        host_json=HOST_JSON,
        port=0,
        environ=environ,
    ).start()


def test_a_setting_only_the_apps_import_sets_does_not_resolve(
    self_setting_app: Path, azurite
) -> None:
    host = start(self_setting_app, None, azurite)
    try:
        assert set(host.errors) == {"listen"}
        assert "'%SELF_SET_QUEUE%' does not resolve to a value" in host.errors["listen"]
        with httpx.Client(trust_env=False, timeout=20) as http:
            assert http.get(f"{host.base_url}/api/ping").text == "pong"  # the others still run
            status = http.get(f"{host.base_url}/admin/host/status").json()
        assert status["errors"] == [f"The 'listen' function is in error: {host.errors['listen']}"]
    finally:
        host.stop()


def test_local_settings_values_resolve_by_name_in_any_case(
    self_setting_app: Path, tmp_path: Path, azurite, queue: Callable
) -> None:
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"Values": {"self_set_queue": "from-values"}}))
    host = start(self_setting_app, settings, azurite)
    try:
        assert host.errors == {}
        assert host.catalog["listen"].queue == "from-values"
    finally:
        host.stop()
