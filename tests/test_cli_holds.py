"""`holds`, `status` and `history` on the command line, against an in-memory directory and
state store given to main(): JSON documents, exit codes, clear errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reconciler import settings
from reconciler.cli import main
from tests.memory_directory import MemoryDirectory
from tests.memory_state import MemoryStateStore

SALES = "10000000-0000-4000-8000-000000000001"
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales - all"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
"""


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


@pytest.fixture(autouse=True)
def app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "app"
    root.mkdir()
    monkeypatch.setattr(settings, "APP_ROOT", root)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    for name in ("DRY_RUN", "ALLOW_MASS_REMOVAL", "MAX_REMOVAL_PERCENT", "REMOVAL_FLOOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RULES_FILE", str(rules))


@pytest.fixture
def directory() -> MemoryDirectory:
    users = [{"id": uid(n), "department": None, "accountEnabled": True} for n in range(30)]
    users += [
        {"id": uid(100 + n), "department": "Sales", "accountEnabled": True} for n in range(70)
    ]
    directory = MemoryDirectory(users, page_size=50)
    directory.add_group(SALES, "Sales - all")
    for user in users:
        directory.put_member(SALES, user["id"])
    return directory


def run(
    directory: MemoryDirectory,
    state: MemoryStateStore | None,
    capsys: pytest.CaptureFixture,
    *argv: str,
) -> tuple[int, dict]:
    @asynccontextmanager
    async def directories(config: settings.Settings) -> AsyncIterator[MemoryDirectory]:
        yield directory

    @asynccontextmanager
    async def states(config: settings.Settings) -> AsyncIterator[MemoryStateStore | None]:
        yield state

    capsys.readouterr()
    code = main([*argv, "--json"], directory_factory=directories, state_factory=states)
    return code, json.loads(capsys.readouterr().out)


def test_sync_user_holds_over_budget_and_holds_list_shows_it(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture
) -> None:
    state = MemoryStateStore()
    code, report = run(directory, state, capsys, "sync-user", *[uid(n) for n in range(30)])
    assert code == 3
    [group] = report["groups"]
    assert len(group["written"]) == 20 and len(group["deferred"]) == 10 and group["holdId"]
    code, listed = run(directory, state, capsys, "holds", "list")
    [hold] = listed["holds"]
    assert code == 0 and set(hold) >= {"id", "group", "status", "users", "createdAt"}
    assert (hold["group"], hold["status"], hold["users"]) == (SALES, "pending", 10)
    code, shown = run(directory, state, capsys, "holds", "show", hold["id"])
    assert len(shown["removals"]) == 10
    code, history = run(directory, state, capsys, "history", "--limit", "5")
    assert code == 0 and len(history["history"]) == 5
    assert {e["result"] for e in history["history"]} == {"done"}
    code, status = run(directory, state, capsys, "status")
    assert code == 3 and status["groups"][0]["pendingHoldSize"] == 10


def test_approve_and_reject_through_the_cli(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture
) -> None:
    state = MemoryStateStore()
    run(directory, state, capsys, "sync-user", *[uid(n) for n in range(30)])
    [hold] = run(directory, state, capsys, "holds", "list")[1]["holds"]
    code, approved = run(directory, state, capsys, "holds", "approve", hold["id"], "--by", "ana")
    assert code == 0 and approved["hold"]["removed"] == 10
    assert approved["hold"]["decidedBy"] == "ana"
    code, again = run(directory, state, capsys, "holds", "reject", hold["id"], "--by", "ana")
    assert code == 1 and "already approved" in again["error"]


def test_a_bad_hold_id_and_missing_storage_are_clear_errors(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture
) -> None:
    code, answer = run(directory, MemoryStateStore(), capsys, "holds", "show", "nope")
    assert code == 1 and "no hold nope" in answer["error"]
    code, answer = run(directory, None, capsys, "holds", "list")
    assert code == 1 and "AzureWebJobsStorage is not set" in answer["error"]


def test_without_storage_sync_user_says_only_its_own_guard_applies(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    @asynccontextmanager
    async def directories(config: settings.Settings) -> AsyncIterator[MemoryDirectory]:
        yield directory

    for name in ("AzureWebJobsStorage", "AzureWebJobsStorage__accountName"):
        monkeypatch.delenv(name, raising=False)
    code = main(["sync-user", uid(0)], directory_factory=directories)
    assert code == 0
    assert "no shared removal budget" in capsys.readouterr().err
    assert uid(0) not in directory.member_ids(SALES)
