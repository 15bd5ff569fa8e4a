"""`python -m reconciler plan / apply / sync-user / explain --user-id` against an in-memory
directory given to main(): tables, one JSON document, exit codes, the guard."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reconciler import settings
from reconciler.cli import main
from reconciler.directory import DirectoryError
from tests.memory_directory import MemoryDirectory

SALES = "10000000-0000-4000-8000-000000000001"
ENG = "10000000-0000-4000-8000-000000000002"
UNKNOWN = "10000000-0000-4000-8000-0000000000ee"


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
include = ["{uid(50)}"]

[[groups]]
id = "{ENG}"
name = "Engineering"
rule = 'user.department -eq "Engineering"'
"""


@pytest.fixture(autouse=True)
def app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty app root (no local.settings.json), no guard or dry-run settings inherited."""
    root = tmp_path / "app"
    root.mkdir()
    monkeypatch.setattr(settings, "APP_ROOT", root)
    saved = dict(os.environ)
    for name in ("RULES_FILE", "DRY_RUN", "MIN_EXPECTED_USERS", "ALLOW_MASS_REMOVAL"):
        os.environ.pop(name, None)
    os.environ["REMOVAL_FLOOR"] = "3"
    yield root
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def rules(tmp_path: Path) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return str(path)


@pytest.fixture
def directory() -> MemoryDirectory:
    users = [{"id": uid(n), "department": "Sales", "accountEnabled": True} for n in range(10)]
    users += [{"id": uid(100 + n), "department": "Engineering"} for n in range(3)]
    users.append({"id": uid(50), "department": "Legal"})
    directory = MemoryDirectory(users, page_size=4)
    directory.add_group(SALES, "Sales")
    directory.add_group(ENG, "Engineering")
    return directory


def run(directory: MemoryDirectory, *argv: str) -> int:
    @asynccontextmanager
    async def factory(config: settings.Settings) -> AsyncIterator[MemoryDirectory]:
        yield directory

    return main(list(argv), directory_factory=factory)


def test_plan_json_prints_one_document_and_writes_nothing(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, "plan", "--rules", rules, "--json")

    captured = capsys.readouterr()
    document = json.loads(captured.out)  # exactly one JSON document
    assert code == 0
    assert directory.writes == []
    sales, eng = document["groups"]
    assert (sales["id"], sales["name"], sales["paused"], sales["held"]) == (
        SALES,
        "Sales",
        False,
        False,
    )
    assert sorted(sales["adds"]) == sorted([uid(n) for n in range(10)] + [uid(50)])
    assert sales["reasons"][uid(50)] == "in include list"
    assert sales["guard"]["held"] is False
    assert eng["removes"] == [] and eng["errors"] == [] and eng["nonUserMembers"] == []
    assert document["summary"]["dryRun"] is True and document["summary"]["adds"] == 14
    assert "dry run: nothing is written" in captured.err  # people's text goes to stderr


def test_plan_prints_a_table_per_group_with_reasons(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, "plan", "--rules", rules)

    out = capsys.readouterr().out
    assert code == 0
    assert f"Sales ({SALES})  would change · +11 −0" in out
    assert f'  + {uid(0)}  rule matches: department = "Sales" (-eq "Sales")' in out
    assert f"  + {uid(50)}  in include list" in out
    assert "\r" not in out  # no progress counter when not on a terminal


def test_apply_writes_and_a_second_apply_changes_nothing(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(directory, "apply", "--rules", rules) == 0
    assert uid(50) in directory.member_ids(SALES)
    assert directory.member_ids(ENG) == {uid(100), uid(101), uid(102)}
    capsys.readouterr()
    directory.writes.clear()

    code = run(directory, "apply", "--rules", rules, "--json")

    document = json.loads(capsys.readouterr().out)
    assert code == 0 and directory.writes == []
    assert [g["status"] for g in document["groups"]] == ["unchanged", "unchanged"]


def test_apply_only_the_chosen_group(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, "apply", "--rules", rules, "--group", ENG, "--json")

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [g["id"] for g in document["groups"]] == [ENG]
    assert directory.member_ids(SALES) == set()


def test_an_unknown_group_is_a_usage_error(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, "plan", "--rules", rules, "--group", UNKNOWN)

    assert code == 2
    assert f"no group {UNKNOWN}" in capsys.readouterr().err
    assert directory.calls == []


def held_tenant(directory: MemoryDirectory) -> None:
    for n in range(10):
        directory.put_member(SALES, uid(n))
    for n in range(6):
        directory.users_by_id[uid(n)]["department"] = ""


def test_apply_holds_a_mass_removal_and_exits_3(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    held_tenant(directory)

    code = run(directory, "apply", "--rules", rules)

    out = capsys.readouterr().out
    assert code == 3
    assert not any(group == SALES for _, group, _ in directory.writes)
    assert "held: 6 removals of 10 members (60%)" in out
    assert "--allow-mass-removal" in out


def test_allow_mass_removal_releases_the_hold(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    held_tenant(directory)

    code = run(directory, "apply", "--rules", rules, "--allow-mass-removal", "--json")

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert directory.member_ids(SALES) == {uid(n) for n in range(6, 10)} | {uid(50)}
    assert document["groups"][0]["guard"]["released"] is True


def test_the_dry_run_setting_turns_apply_into_a_plan(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["DRY_RUN"] = "true"

    code = run(directory, "apply", "--rules", rules, "--json")

    assert code == 0 and directory.writes == []
    assert json.loads(capsys.readouterr().out)["summary"]["dryRun"] is True


def test_errors_exit_1_and_are_listed_under_their_group(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    directory.groups[ENG].refusal = "the group is synced from on-premises"

    code = run(directory, "apply", "--rules", rules)

    out = capsys.readouterr().out
    assert code == 1
    assert "error: Graph will not change this group's members: the group is synced" in out
    assert uid(0) in directory.member_ids(SALES)


def test_a_graph_failure_opening_the_directory_is_a_clean_error(
    rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    @asynccontextmanager
    async def broken(config: settings.Settings) -> AsyncIterator[MemoryDirectory]:
        raise DirectoryError("token request failed", status=401)
        yield  # pragma: no cover

    code = main(["plan", "--rules", rules, "--json"], directory_factory=broken)

    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["error"].startswith("Graph: token request failed")


def test_sync_user_applies_that_users_changes_and_skips_missing_users(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = uid(999)

    code = run(directory, "sync-user", uid(100), gone, "--rules", rules, "--json")

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == 0
    assert directory.writes == [("add", ENG, uid(100))]
    assert document["summary"]["skippedUsers"] == [gone]
    assert f"skipped {gone}" in captured.err


def test_explain_user_id_reads_graph_and_shows_membership_and_decision(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    directory.put_member(ENG, uid(0))

    code = run(directory, "explain", "--rules", rules, "--user-id", uid(0))

    out = capsys.readouterr().out
    assert code == 0
    assert 'MATCH: (user.department -eq "Sales") -and (user.accountEnabled -eq true)' in out
    assert "member now: no · decision: would add" in out
    assert "member now: yes · decision: would remove" in out
    assert 'reason: rule does not match: department = "Sales" (-eq "Engineering")' in out
    assert directory.writes == []


def test_explain_user_id_json_carries_the_decision(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        directory, "explain", "--rules", rules, "--group", SALES, "--user-id", uid(50), "--json"
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["result"] is False and document["member"] is False
    assert document["decision"] == {
        "action": "add",
        "member": True,
        "basis": "include",
        "reason": "in include list",
        "paused": False,
    }


def test_explain_user_id_of_a_mistyped_value_names_it_and_changes_nothing(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    directory.users_by_id[uid(0)]["department"] = ["Sales"]
    directory.put_member(SALES, uid(0))

    code = run(
        directory, "explain", "--rules", rules, "--group", SALES, "--user-id", uid(0), "--json"
    )

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["result"] is None and document["member"] is True
    decision = document["decision"]
    assert (decision["action"], decision["member"], decision["basis"]) == (None, None, "undecided")
    assert decision["reason"].startswith("rule could not be decided (AttributeTypeMismatch: ")
    assert "user.department is an array" in decision["reason"]


def test_explain_of_an_unknown_user_id_fails(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, "explain", "--rules", rules, "--user-id", uid(999))

    assert code == 1
    assert f"no user {uid(999)}" in capsys.readouterr().err


def test_explain_needs_exactly_one_of_user_and_user_id(rules: str) -> None:
    assert main(["explain", "--rules", rules]) == 2
    assert main(["explain", "--rules", rules, "--user", "-", "--user-id", uid(1)]) == 2
