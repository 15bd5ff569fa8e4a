"""The operator's HTTP routes (`GET /api/holds`, `GET /api/holds/{id}`,
`POST /api/holds/{id}/approve|reject`, `GET /api/status`) as plain answers: status code and
JSON body. function_app.py maps them to HttpResponses; the storage and Graph clients are
imported only when a route runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.settings import Settings, SettingsError

PRINCIPAL_HEADER = "x-ms-client-principal-name"
"""Set by App Service authentication (Easy Auth) to the signed-in caller's name."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]

    def text(self) -> str:
        return json.dumps(self.body, ensure_ascii=False, default=str)


async def holds_answer(settings: Settings, status: str | None) -> Answer:
    from reconciler.service.operator import holds_document

    return await _answer(settings, lambda state: holds_document(state, status))


async def hold_answer(settings: Settings, hold_id: str) -> Answer:
    from reconciler.service.operator import hold_document

    return await _answer(settings, lambda state: hold_document(state, hold_id))


async def status_answer(settings: Settings) -> Answer:
    from reconciler.policy import load_policy
    from reconciler.service.operator import status_document
    from reconciler.settings import rules_file

    policy = load_policy(rules_file())
    return await _answer(settings, lambda state: status_document(state, state, policy, settings))


async def history_answer(settings: Settings, group_id: str | None, limit: int = 100) -> Answer:
    """`{"history": [...]}`, newest first (the CLI's `history --json`), for one group or all."""

    async def history(state: Any) -> dict[str, Any]:
        entries = await state.history(group_id=group_id, limit=limit)
        return {"history": [entry.to_json() for entry in entries]}

    return await _answer(settings, history)


def decider(body: bytes, headers: dict[str, str]) -> str | None:
    """Who decides: `{"by": "..."}` in the body, else the Easy Auth principal."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    by = document.get("by") if isinstance(document, dict) else None
    if isinstance(by, str) and by.strip():
        return by.strip()[:200]
    principal = headers.get(PRINCIPAL_HEADER, "").strip()
    return principal[:200] or None


async def decide_answer(settings: Settings, hold_id: str, action: str, by: str | None) -> Answer:
    """approve: re-read the users and remove those the rules still remove; reject: drop it."""
    if action not in ("approve", "reject"):
        return _error(404, "NotFound", f"no action {action!r}: approve or reject")
    if not by:
        return _error(
            400, "MissingDecider", 'say who decides: {"by": "name"} (decisions are audited)'
        )
    from reconciler.service.approval import approve_hold, reject_hold

    if action == "reject":

        async def reject(state: Any) -> dict[str, Any]:
            return (await reject_hold(state, hold_id, by=by)).to_json()

        return await _answer(settings, reject)
    from reconciler.graph import open_directory
    from reconciler.policy import load_policy
    from reconciler.settings import rules_file

    policy = load_policy(rules_file())

    async def approve(state: Any) -> dict[str, Any]:
        async with open_directory(settings) as directory:
            hold, report = await approve_hold(directory, policy, settings, state, hold_id, by=by)
        return {"hold": hold.to_json(), "run": report.to_json()}

    return await _answer(settings, approve)


async def _answer(settings: Settings, job: Any) -> Answer:
    from reconciler.directory import DirectoryError
    from reconciler.state import HoldError, StateUnavailable
    from reconciler.state.tables import shared_state

    try:
        async with shared_state(settings) as state:
            return Answer(200, await job(state))
    except HoldError as error:
        status, code = _HOLD_ERRORS.get(error.kind, (409, "HoldConflict"))
        return _error(status, code, str(error))
    except ValueError as error:  # a bad ?status=
        if isinstance(error, SettingsError):
            return _error(500, "Misconfigured", str(error))
        return _error(400, "InvalidRequest", str(error))
    except StateUnavailable as error:
        return _error(503, "StateUnavailable", str(error))
    except DirectoryError as error:
        return _error(502, "GraphUnavailable", str(error))


_HOLD_ERRORS = {"not-found": (404, "HoldNotFound"), "invalid": (400, "InvalidHoldId")}


def _error(status: int, code: str, message: str) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message}})
