"""`python -m devhost` as a process: settings file, start-up table, SIGTERM; and graceful stop."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sample_app  # the module the worker loads (conftest.py puts its directory on sys.path)

from devhost import Azurite, DevHost
from tests.devhost.fixtures import wait_until

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
LISTENING = re.compile(r"devhost listening on (http://127\.0\.0\.1:\d+)")
HOST_JSON = HERE / "host.json"


def test_cli_loads_local_settings_serves_and_stops_on_sigterm(
    azurite: Azurite, tmp_path: Path, queue_name: str
) -> None:
    settings = tmp_path / "local.settings.json"
    values = {
        "AzureWebJobsStorage": azurite.connection_string,
        "QUEUE_NAME": queue_name,
        "OUT_QUEUE": f"{queue_name}-out",
        "TICK_SCHEDULE": "0 0 0 1 1 *",
        "GREETING": "from the settings file",
    }
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    env = {k: v for k, v in os.environ.items() if k not in values}
    env["GREETING"] = "hi"  # the environment wins over the file
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devhost",
            "--port",
            "0",
            "--app",
            "sample_app",
            "--app-dir",
            str(HERE),
            "--settings",
            str(settings),
            "--host-json",
            str(HOST_JSON),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(r"devhost listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        table = []
        while not table or not table[-1].startswith("Press Ctrl+C"):
            line = process.stdout.readline()
            assert line, "devhost exited before printing its start-up table"
            table.append(line)
        assert any("enqueue_item" in line and "/api/items/{id:int}" in line for line in table)
        assert any(f"queue '{queue_name}' (poison: {queue_name}-poison)" in line for line in table)
        assert any("tick" in line and "0 0 0 1 1 *" in line for line in table)
        with httpx.Client(trust_env=False, timeout=20) as http:
            assert http.get(f"{match.group(1)}/api/hello/x").text == "hi x from hello"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Executing 'Functions.hello'" in output
    assert "devhost: stopped" in output


def test_cli_starts_without_the_functions_whose_settings_do_not_resolve(
    azurite: Azurite, tmp_path: Path
) -> None:
    """As the Functions host does: "The 'X' function is in error", and the others run."""
    env = {k: v for k, v in os.environ.items() if k not in ("QUEUE_NAME", "OUT_QUEUE")}
    env.update(AzureWebJobsStorage=azurite.connection_string, TICK_SCHEDULE="0 0 0 1 1 *")
    env["BROKEN_STORAGE"] = azurite.connection_string
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devhost",
            "--port",
            "0",
            "--app",
            "sample_app",
            "--app-dir",
            str(HERE),
            "--settings",
            str(tmp_path / "none.json"),
            "--host-json",
            str(HOST_JSON),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl+C"):
            line = process.stdout.readline()
            assert line, f"devhost exited early: {''.join(lines)}"
            lines.append(line)
        base = next(m.group(1) for m in map(LISTENING.search, lines) if m)
        output = "".join(lines)
        for name in ("enqueue_item", "process_item", "enqueue_broken"):
            assert f"The '{name}' function is in error:" in output
        assert "'%QUEUE_NAME%' does not resolve to a value" in output
        with httpx.Client(trust_env=False, timeout=20) as http:
            assert http.get(f"{base}/api/hello/x").status_code == 200  # the others run
            assert http.put(f"{base}/api/items/1", content=b"x").status_code == 404
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0


def test_stop_lets_a_running_message_finish_and_completes_it(
    start_devhost: Callable[..., DevHost], azurite: Azurite, queue_name: str
) -> None:
    from tests.devhost.test_queues import queue_is_empty, sender

    host = start_devhost()
    client = sender(azurite, queue_name)
    client.send_message("slow:1")
    wait_until(lambda: sample_app.received, what="the invocation to start")
    host.stop()
    assert sample_app.in_flight["now"] == 0  # it ran to the end before stop returned
    assert queue_is_empty(client)  # and was deleted, not left to reappear
    client.close()


def test_stop_finishes_an_http_request_in_flight(
    start_devhost: Callable[..., DevHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devhost")
    host = start_devhost()
    with httpx.Client(trust_env=False, timeout=20) as http, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(http.get, f"{host.base_url}/api/hello/late?sleep=0.5")
        wait_until(lambda: "Executing 'Functions.hello'" in caplog.text, what="the request")
        host.stop()
        response = pending.result(timeout=20)
    assert response.status_code == 200
    assert response.text == "hello late from hello"
