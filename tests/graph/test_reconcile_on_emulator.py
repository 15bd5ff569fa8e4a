"""The jobs end to end against the emulator over HTTP, through the real msgraph-sdk client.

The oracle is independent of the planner and the index: each group's rule evaluated one user
at a time (Rule.matches) over the emulator's exported tenant, plus include, minus exclude.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.policy import Policy, load_policy, loads_policy
from reconciler.service import RunOptions, reconcile_all, reconcile_users
from reconciler.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SALES = "10000000-0000-4000-8000-000000000001"
BUILDING_7 = "10000000-0000-4000-8000-000000000010"
ALL_USERS = "10000000-0000-4000-8000-000000000011"
DYNAMIC = "10000000-0000-4000-8000-0000000000d1"


def settings(**values: str) -> Settings:
    return Settings.from_env({"GRAPH_CREDENTIAL": "static", "GRAPH_STATIC_TOKEN": "t", **values})


def sample_policy() -> Policy:
    return load_policy(ROOT / "rules.sample.toml")


def tenant_users(graph) -> list[dict]:
    tenant = graph.export_tenant()
    managers = tenant["managers"]
    return [
        {**u, "manager": {"id": managers[u["id"]]} if u["id"] in managers else None}
        for u in tenant["users"]
    ]


def oracle(graph, policy: Policy) -> dict[str, set[str]]:
    users = tenant_users(graph)
    expected = {}
    for group in policy.usable_groups:
        matched = {u["id"] for u in users if group.rule.matches(u)}
        expected[group.id] = (matched | set(group.include)) - set(group.exclude)
    return expected


def user_members(graph, group_id: str) -> set[str]:
    tenant = graph.export_tenant()
    users = {u["id"] for u in tenant["users"]}
    return {m for m in tenant["members"][group_id] if m in users}


def applied(graph, group_id: str | None = None) -> list[tuple[str, str, str]]:
    return [
        (w["groupId"], w["memberId"], w["action"])
        for w in graph.writes()
        if w["applied"] and (group_id is None or w["groupId"] == group_id)
    ]


async def test_full_apply_equals_the_oracle_and_a_second_apply_writes_nothing(
    graph, directory
) -> None:
    policy = sample_policy()
    report = await reconcile_all(directory, policy, settings())
    assert report.exit_code == 0, report.to_json()["summary"]
    for group_id, members in oracle(graph, policy).items():
        if policy.group(group_id).paused:
            continue
        assert user_members(graph, group_id) == members, group_id
    writes = len(graph.writes())
    again = await reconcile_all(directory, policy, settings())
    assert again.exit_code == 0
    assert len(graph.writes()) == writes  # nothing left to do, nothing written
    assert all(
        not g["adds"] and not g["removes"] for g in again.to_json()["groups"] if not g["paused"]
    )


async def test_non_user_members_and_paused_groups_are_left_alone(graph, directory) -> None:
    before = graph.export_tenant()["members"]
    report = await reconcile_all(directory, sample_policy(), settings())
    after = graph.export_tenant()["members"]
    users = {u["id"] for u in graph.export_tenant()["users"]}
    devices = [m for m in before[BUILDING_7] if m not in users]
    assert devices and all(m in after[BUILDING_7] for m in devices)
    assert after[ALL_USERS] == before[ALL_USERS]
    result = {g["id"]: g for g in report.to_json()["groups"]}
    assert result[ALL_USERS]["paused"] and result[BUILDING_7]["nonUserMembers"]


async def test_include_and_exclude_lists_win_over_the_rule(graph, directory) -> None:
    users = tenant_users(graph)
    seller = next(u["id"] for u in users if u.get("department") == "Sales")
    outsider = next(u["id"] for u in users if u.get("department") not in ("Sales", None))
    policy = loads_policy(
        f'[[groups]]\nid = "{SALES}"\nrule = \'user.department -eq "Sales"\'\n'
        f'include = ["{outsider}"]\nexclude = ["{seller}"]\n'
    )
    await reconcile_all(directory, policy, settings())
    members = user_members(graph, SALES)
    assert outsider in members and seller not in members


async def test_a_failing_member_listing_blocks_only_that_group(graph, directory) -> None:
    graph.add_fault(kind="status", status=503, method="GET", route=f"/groups/{SALES}/members")
    report = await reconcile_all(directory, sample_policy(), settings())
    groups = {g["id"]: g for g in report.to_json()["groups"]}
    assert groups[SALES]["errors"] and report.exit_code == 1
    assert applied(graph, SALES) == []
    assert applied(graph), "the other groups were still reconciled"


async def test_a_429_storm_converges_without_duplicate_writes(graph, directory, sleeps) -> None:
    policy = sample_policy()
    # every third call for the first 30: a storm no single request sits out five times
    graph.add_fault(kind="status", status=429, retry_after="3", method="*", every_nth=3, times=30)
    report = await reconcile_all(directory, policy, settings())
    assert report.exit_code == 0, report.to_json()["summary"]
    assert 3.0 in sleeps.delays
    for group_id, members in oracle(graph, policy).items():
        if not policy.group(group_id).paused:
            assert user_members(graph, group_id) == members
    writes = applied(graph)
    assert len(writes) == len(set(writes))


async def test_a_blanked_department_for_half_the_sales_team_is_held(graph, directory) -> None:
    policy = loads_policy(f'[[groups]]\nid = "{SALES}"\nrule = \'user.department -eq "Sales"\'\n')
    await reconcile_all(directory, policy, settings(REMOVAL_FLOOR="1"))
    sellers = sorted(user_members(graph, SALES))
    for user_id in sellers[: len(sellers) // 2 + 1]:
        graph.patch_user(user_id, department=None)  # an HR sync that blanked a field
    writes = len(graph.writes())
    report = await reconcile_all(directory, policy, settings(REMOVAL_FLOOR="1"))
    assert report.exit_code == 3
    assert report.to_json()["groups"][0]["held"]
    assert len(graph.writes()) == writes and user_members(graph, SALES) == set(sellers)
    config = settings(REMOVAL_FLOOR="1")
    options = RunOptions.from_settings(config, allow_mass_removal=True)
    released = await reconcile_all(directory, policy, config, options=options)
    assert released.exit_code == 0 and len(user_members(graph, SALES)) < len(sellers)


async def test_groups_graph_refuses_are_reported_and_the_others_complete(graph, directory) -> None:
    policy = loads_policy(
        f'[[groups]]\nid = "{DYNAMIC}"\nrule = \'user.department -eq "Sales"\'\n\n'
        f'[[groups]]\nid = "{SALES}"\nrule = \'user.department -eq "Sales"\'\n'
    )
    report = await reconcile_all(directory, policy, settings())
    groups = {g["id"]: g for g in report.to_json()["groups"]}
    assert "dynamic" in " ".join(groups[DYNAMIC]["errors"])
    assert applied(graph, DYNAMIC) == [] and applied(graph, SALES)


async def test_sync_user_after_a_patch_moves_only_that_user(graph, directory) -> None:
    policy = sample_policy()
    await reconcile_all(directory, policy, settings())
    outsider = next(
        u
        for u in tenant_users(graph)
        if u.get("department") not in ("Sales", None) and u["id"] not in user_members(graph, SALES)
    )
    async with httpx.AsyncClient(headers={"Authorization": "Bearer t"}) as http:
        response = await http.patch(
            f"{graph.base_url}/users/{outsider['id']}", json={"department": "Sales"}
        )
        assert response.status_code == 204
        writes = len(graph.writes())
        report = await reconcile_users(directory, policy, settings(), [outsider["id"]], "sync")
        assert report.exit_code == 0
        assert outsider["id"] in user_members(graph, SALES)
        assert {w[1] for w in applied(graph)[writes:]} == {outsider["id"]}
        deleted = await http.delete(f"{graph.base_url}/users/{outsider['id']}")
        assert deleted.status_code == 204
    skipped = await reconcile_users(directory, policy, settings(), [outsider["id"]], "sync")
    assert skipped.to_json()["summary"]["skippedUsers"] == [outsider["id"]]


async def test_a_member_listing_broken_after_its_first_page_blocks_only_that_group(
    sleeps,
) -> None:
    """2,500 users: "All users" has three member pages; pages 2 and 3 keep dropping."""
    from graph_emulator import EmulatorServer
    from tests.graph.conftest import graph_directory

    policy = loads_policy(
        f"[[groups]]\nid = \"{ALL_USERS}\"\nrule = 'user.objectId -ne null'\n\n"
        f'[[groups]]\nid = "{SALES}"\nrule = \'user.department -eq "Sales"\'\n'
    )
    async with EmulatorServer(users=2500, seed=3) as big:
        emulator = big.emulator
        assert len(emulator.directory.sorted_members(ALL_USERS).ids()) > 1998  # 3 pages
        emulator.faults.add(
            {"kind": "disconnect", "route": f"/groups/{ALL_USERS}/members", "pagesOnly": True}
        )
        async with graph_directory(big.base_url, sleeps) as directory:
            report = await reconcile_all(directory, policy, settings())
        groups = {g["id"]: g for g in report.to_json()["groups"]}
        assert groups[ALL_USERS]["errors"] and not groups[ALL_USERS]["adds"]
        writes = [w for w in emulator.writes.since(0) if w["applied"]]
        assert writes and {w["groupId"] for w in writes} == {SALES}
