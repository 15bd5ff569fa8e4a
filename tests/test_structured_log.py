"""The one record helper: every log record (audit, webhook, worker) drops credential-like
fields through it."""

from __future__ import annotations

import json
import logging

import pytest

from reconciler.structured_log import log_json, without_secrets

SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOi-secret"


@pytest.mark.parametrize(
    "name", ["access_token", "clientState", "client_state", "Authorization", "password", "x_SECRET"]
)
def test_a_field_named_like_a_credential_is_dropped(name: str) -> None:
    assert without_secrets({"event": "e", name: SECRET, "status": 401}) == {
        "event": "e",
        "status": 401,
    }


def test_log_json_writes_one_json_line_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.structured_log")
    with caplog.at_level(logging.INFO, logger=logger.name):
        text = log_json(logger, logging.WARNING, {"event": "e", "token": SECRET, "n": 1})
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.getMessage() == text
    assert json.loads(text) == {"event": "e", "n": 1} and SECRET not in caplog.text


def test_the_audit_trail_uses_the_same_stripper() -> None:
    from reconciler.audit import audit

    record = audit("failure", cause="cli", correlation_id="c", clientState=SECRET, status=1)
    assert "clientState" not in record and record["status"] == 1
