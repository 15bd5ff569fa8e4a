"""Secrets never reach logs: the webhook, the worker (real Graph adapter on the emulator) and
the CLI run with distinctive CLIENT_STATE and GRAPH_STATIC_TOKEN values, and every captured
log record, stdout and stderr is scanned for them."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

import function_app
from harness.invocation import invocation
from reconciler.cli import main
from reconciler.settings import Settings
from reconciler.work import message as work
from reconciler.work.worker import process_message
from tests.graph.test_worker_on_emulator import RecordingQueue
from tests.test_function_app import Out, change, post

ROOT = Path(__file__).resolve().parents[2]
CLIENT_STATE = "cs-Zq8vX1-distinctive-client-state"
TOKEN = "tok-Wm4pR7-distinctive-static-token"
USER = "5f3c1b7e-0000-4000-8000-000000000001"


@pytest.fixture
def secrets_env(graph, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "CLIENT_STATE": CLIENT_STATE,
        "GRAPH_STATIC_TOKEN": TOKEN,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_BASE_URL": graph.base_url,
        "RULES_FILE": str(ROOT / "rules.sample.toml"),
    }.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def ours(record: logging.LogRecord) -> bool:
    """Everything but the emulator itself (it plays Graph, which does receive the token)."""
    return not record.name.startswith("graph_emulator")


def test_no_secret_in_any_log_record_stdout_or_stderr(
    graph,
    secrets_env: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    # webhook: genuine, forged (with guesses near the secret), malformed, validation
    body = {"value": [change(USER, CLIENT_STATE), change(USER, CLIENT_STATE[:-1])]}
    function_app.notifications(
        post("notifications", json.dumps(body).encode()), Out(), invocation()
    )
    function_app.notifications(
        post("notifications", b'{"value": [{"clientState": 1}]}'), Out(), invocation()
    )
    function_app.lifecycle(
        post("lifecycle", json.dumps({"value": [{"clientState": CLIENT_STATE}]}).encode()),
        Out(),
        invocation(),
    )
    # worker: a real message through the production Graph adapter, and a poisoned one
    queue = RecordingQueue()
    user_ids = [u["id"] for u in graph.export_tenant()["users"][:3]] + [USER]
    [message] = work.users_messages(user_ids, cause="notification")
    asyncio.run(process_message(work.encode(message), secrets_env, queue))
    asyncio.run(process_message(json.dumps({"v": 1, "token": TOKEN}), secrets_env, queue))
    # CLI: a plan against the emulator, text and JSON
    assert main(["plan", "--rules", str(ROOT / "rules.sample.toml")]) in (0, 1, 2)
    assert main(["plan", "--rules", str(ROOT / "rules.sample.toml"), "--json"]) in (0, 1, 2)

    captured = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records if ours(r))
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    for secret in (CLIENT_STATE, TOKEN, CLIENT_STATE[:-1]):
        assert secret not in logged
        assert secret not in captured.out
        assert secret not in captured.err
    poison = queue.poisoned[-1]
    assert TOKEN in poison  # the poison queue keeps the message as sent; only logs are scanned
