"""GraphDirectory against the emulator over HTTP, through the real msgraph-sdk client."""

from __future__ import annotations

import pytest

from graph_emulator import sample
from reconciler.directory import DirectoryError
from reconciler.graph import GraphDirectory
from tests.conftest import EMULATOR_USERS


async def all_users(directory: GraphDirectory, **kwargs: object) -> list[dict]:
    return [u async for page in directory.user_pages(["id", "department"], **kwargs) for u in page]


async def test_user_pages_list_every_user_with_the_selected_properties(directory) -> None:
    users = await all_users(directory, manager=False)
    assert len({u["id"] for u in users}) == EMULATOR_USERS
    assert all(set(u) <= {"id", "department", "@odata.type"} for u in users)
    assert directory.request_counts() == {"users.page": 1}


async def test_user_pages_expand_the_manager_when_asked(directory) -> None:
    users = await all_users(directory, manager=True)
    reports = [u for u in users if (u.get("manager") or {}).get("id") == sample.CEO_ID]
    assert reports, "the sample tenant has direct reports of the CEO"


async def test_users_by_id_with_manager_and_direct_memberships(directory, graph) -> None:
    member = (await directory.members(sample.SAMPLE_GROUPS[0]["id"]))[0]
    missing = "00000000-0000-4000-8000-00000000dead"
    found = await directory.users(
        [member.id, missing], ["department"], manager=True, member_of=True
    )
    assert found[missing] is None
    user = found[member.id]
    assert {"id", "department", "manager", "memberOf"} <= set(user)
    assert {"@odata.type": "#microsoft.graph.group", "id": sample.SAMPLE_GROUPS[0]["id"]} in user[
        "memberOf"
    ]
    assert await directory.member_of(member.id) == [g["id"] for g in user["memberOf"]]


async def test_members_keep_their_type_so_non_users_can_be_left_alone(directory) -> None:
    building = next(g for g in sample.SAMPLE_GROUPS if g["displayName"] == "Building 7")
    members = await directory.members(building["id"])
    assert any(not m.is_user for m in members)


async def test_group_reports_why_graph_refuses_its_members(directory) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    infos = await directory.find_groups([*(g["id"] for g in sample.SAMPLE_GROUPS), missing])
    refusals = {g["displayName"]: infos[g["id"]].refusal for g in sample.SAMPLE_GROUPS}
    assert "dynamic" in refusals["Dynamic - legacy"]
    assert "mail-enabled" in refusals["All staff DL"] or "distribution" in refusals["All staff DL"]
    assert "on-premises" in refusals["On-prem synced group"]
    assert refusals["Sales - all"] is None
    assert infos[missing] is None
    assert directory.request_counts()["groups.get"] == -(-(len(sample.SAMPLE_GROUPS) + 1) // 15)


async def user_ids(directory: GraphDirectory, count: int) -> list[str]:
    return [u["id"] for u in await all_users(directory, manager=False)][:count]


async def test_adds_bind_twenty_at_a_time_and_already_members_count_as_done(
    directory, graph
) -> None:
    group = sample.SAMPLE_GROUPS[0]["id"]
    current = {m.id for m in await directory.members(group)}
    newcomers = [u for u in await user_ids(directory, 60) if u not in current][:25]
    outcome = await directory.add_members(group, [*newcomers, next(iter(current))])
    assert set(outcome.done) == {*newcomers, next(iter(current))} and not outcome.failed
    assert current | set(newcomers) == {m.id for m in await directory.members(group)}
    again = await directory.add_members(group, newcomers)
    assert set(again.done) == set(newcomers) and not again.failed


async def test_removals_are_batched_and_non_members_count_as_done(directory, graph) -> None:
    group = sample.SAMPLE_GROUPS[0]["id"]
    current = [m.id for m in await directory.members(group) if m.is_user]
    stranger = next(u for u in await user_ids(directory, 200) if u not in current)
    outcome = await directory.remove_members(group, [*current, stranger])
    assert set(outcome.done) == {*current, stranger} and not outcome.failed
    assert [m.id for m in await directory.members(group) if m.is_user] == []
    assert directory.request_counts()["members.remove"] == len(current) + 1


async def test_writes_to_a_refused_group_fail_with_graph_s_reason(directory) -> None:
    dynamic = next(g for g in sample.SAMPLE_GROUPS if g["displayName"] == "Dynamic - legacy")
    [user] = await user_ids(directory, 1)
    outcome = await directory.add_members(dynamic["id"], [user])
    assert outcome.done == () and outcome.failed[user].startswith("403")


async def test_throttled_writes_honour_a_decimal_retry_after(directory, graph, sleeps) -> None:
    group = sample.SAMPLE_GROUPS[0]["id"]
    current = {m.id for m in await directory.members(group)}
    newcomers = [u for u in await user_ids(directory, 40) if u not in current][:5]
    graph.add_fault(kind="status", status=429, retry_after="1.5", method="PATCH", times=2)
    outcome = await directory.add_members(group, newcomers)
    assert set(outcome.done) == set(newcomers)
    assert sleeps.delays == [1.5, 1.5]
    applied = [w["memberId"] for w in graph.writes() if w["applied"] and w["action"] == "add"]
    assert sorted(applied) == sorted(newcomers)  # each added once, no duplicate writes


async def test_throttled_items_inside_a_batch_are_sent_again(directory, graph, sleeps) -> None:
    group = sample.SAMPLE_GROUPS[0]["id"]
    current = [m.id for m in await directory.members(group) if m.is_user][:6]
    graph.add_fault(kind="status", status=429, retry_after="2", scope="batch", every_nth=2, times=3)
    outcome = await directory.remove_members(group, current)
    assert set(outcome.done) == set(current) and not outcome.failed
    assert 2.0 in sleeps.delays


async def test_a_connection_dropped_mid_listing_is_retried(directory, graph) -> None:
    graph.add_fault(kind="disconnect", method="GET", route="/users", times=1)
    assert len(await all_users(directory, manager=False)) == EMULATOR_USERS


async def test_a_listing_that_keeps_failing_raises_instead_of_returning_part(
    directory, graph
) -> None:
    graph.add_fault(kind="status", status=503, method="GET", route="/groups/*/members")
    with pytest.raises(DirectoryError) as caught:
        await directory.members(sample.SAMPLE_GROUPS[0]["id"])
    assert "after 5 attempts" in str(caught.value)


async def test_a_credential_that_cannot_get_a_token_is_a_directory_error(graph) -> None:
    import httpx
    from azure.core.exceptions import ClientAuthenticationError

    from reconciler.graph import GraphTransport
    from reconciler.graph.client import build_client
    from reconciler.settings import Settings

    class Refusing:
        async def get_token(self, *scopes: str, **kwargs: object) -> None:
            raise ClientAuthenticationError("no identity endpoint")

    settings = Settings.from_env({"GRAPH_BASE_URL": graph.base_url})
    async with httpx.AsyncClient() as http:
        directory = GraphDirectory(GraphTransport(build_client(settings, Refusing(), http)))
        with pytest.raises(DirectoryError, match="GRAPH_CREDENTIAL"):
            await directory.find_groups([sample.SAMPLE_GROUPS[0]["id"]])
