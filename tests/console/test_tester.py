"""The rule tester over an in-memory directory: counts, explained samples, and the diff
against a group's members as the planner decides it (include and exclude lists too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.console.tester import try_rule
from reconciler.directory import DirectoryError
from reconciler.policy import ManagedGroup, load_policy
from reconciler.rules import parse
from tests.memory_directory import MemoryDirectory

GROUP = "20000000-0000-4000-8000-000000000001"
SOURCE = "20000000-0000-4000-8000-000000000002"


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def user(n: int, department: str, enabled: bool = True) -> dict:
    return {
        "id": uid(n),
        "department": department,
        "accountEnabled": enabled,
        "displayName": f"User {n}",
        "userPrincipalName": f"user{n}@contoso.example",
    }


def managed(
    tmp_path: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> ManagedGroup:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f'[[groups]]\nid = "{GROUP}"\nname = "Sales"\nrule = \'user.department -eq "Sales"\'\n'
        f"include = {list(include)!r}\nexclude = {list(exclude)!r}\n",
        encoding="utf-8",
    )
    [group] = load_policy(rules).groups
    assert group.ok, group.problems
    return group


@pytest.fixture
def directory() -> MemoryDirectory:
    users = [
        user(n, "Sales" if n % 3 == 0 else "Engineering", enabled=n != 6) for n in range(1, 31)
    ]
    memory = MemoryDirectory(users, page_size=7)
    memory.add_group(GROUP, "Sales")
    for n in (3, 6, 9, 1, 2):  # three Sales users and two who are not
        memory.put_member(GROUP, uid(n))
    memory.put_member(GROUP, "device-1", "#microsoft.graph.device")
    return memory


async def test_counts_every_user_and_explains_samples_of_both_kinds(directory) -> None:
    result = await try_rule(directory, parse('user.department -eq "Sales"'), samples=2)
    assert (result.users, result.matched, result.undecided) == (30, 10, 0)
    assert [u.id for u in result.matches] == [uid(3), uid(6)]
    assert [u.id for u in result.non_matches] == [uid(1), uid(2)]
    [trace] = result.non_matches[0].explanation.traces
    assert (trace.property, trace.value, trace.result) == ("user.department", "Engineering", False)


async def test_the_listing_reads_only_the_rules_properties_and_names_come_after(
    directory,
) -> None:
    result = await try_rule(directory, parse('user.department -eq "Sales"'), samples=1)
    assert result.matches[0].name == "User 3"
    assert result.matches[0].upn == "user3@contoso.example"
    user_reads = [ids for kind, ids in directory.calls if kind == "users"]
    assert user_reads == [f"{uid(3)},{uid(1)}"]  # the shown users only, in one read


async def test_the_diff_is_what_a_run_would_do_to_the_groups_user_members(
    directory, tmp_path
) -> None:
    group = managed(tmp_path)
    rule = parse('(user.department -eq "Sales") -and (user.accountEnabled -eq true)')
    result = await try_rule(directory, rule, group, listed=3)
    assert result.members == 5  # the device is not a user member
    # Sales users 12..30 (not yet members) join; 6 (disabled), 1 and 2 leave.
    assert result.join.count == 7
    assert [u.id for u in result.join.users] == [uid(12), uid(15), uid(18)]
    assert result.leave.count == 3
    assert {u.id for u in result.leave.users} == {uid(1), uid(2), uid(6)}
    assert "accountEnabled" in next(u.reason for u in result.leave.users if u.id == uid(6))


async def test_include_and_exclude_lists_decide_before_the_rule(directory, tmp_path) -> None:
    group = managed(tmp_path, include=(uid(1),), exclude=(uid(3),))
    result = await try_rule(directory, parse('user.department -eq "Sales"'), group)
    assert uid(1) not in {u.id for u in result.leave.users}
    assert uid(3) in {u.id for u in result.leave.users}


async def test_member_of_rules_read_the_named_groups_members(directory) -> None:
    directory.add_group(SOURCE, "Source")
    directory.put_member(SOURCE, uid(4))
    directory.put_member(SOURCE, uid(5))
    rule = parse(f'user.memberOf -any (group.objectId -in ["{SOURCE}"])')
    result = await try_rule(directory, rule)
    assert result.matched == 2
    assert {u.id for u in result.matches} == {uid(4), uid(5)}


async def test_a_listing_that_fails_part_way_raises_instead_of_answering(directory) -> None:
    directory.fail_listing_at_page = 2
    with pytest.raises(DirectoryError):
        await try_rule(directory, parse('user.department -eq "Sales"'))
