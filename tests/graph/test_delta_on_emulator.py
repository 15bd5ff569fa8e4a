"""GraphDirectory's `/users/delta` reads through the real msgraph-sdk client, on the emulator."""

from __future__ import annotations

import httpx
import pytest

from graph_emulator import EmulatorServer
from reconciler.delta import DeltaExpired
from reconciler.directory import DirectoryError
from reconciler.graph import GraphDirectory

SELECT = ("accountEnabled", "department", "id")


async def some_user_ids(directory: GraphDirectory, count: int) -> list[str]:
    pages = [page async for page in directory.user_pages(["id"], manager=False)]
    return sorted(user["id"] for page in pages for user in page)[:count]


async def test_a_link_from_now_then_only_changes_to_tracked_properties(
    directory: GraphDirectory, graph: EmulatorServer
) -> None:
    link = await directory.latest_delta_link(SELECT)
    assert directory.request_counts() == {"users.delta": 1}  # no user was read
    changed, untracked, disabled = await some_user_ids(directory, 3)
    graph.patch_user(changed, department="Delta Dept")
    graph.patch_user(untracked, mobilePhone="+1 555 0100")  # not selected: not tracked
    graph.patch_user(disabled, accountEnabled=False)
    round_ = await directory.user_changes(link)
    assert set(round_.changed) == {changed, disabled}
    assert round_.removed == ()
    again = await directory.user_changes(round_.delta_link)
    assert (again.changed, again.removed) == ((), ())


async def test_removed_users_are_reported_apart_and_pages_are_followed(
    directory: GraphDirectory, graph: EmulatorServer
) -> None:
    link = await directory.latest_delta_link(SELECT)
    users = await some_user_ids(directory, 120)
    for user_id in users[:110]:
        graph.patch_user(user_id, department="Paged")
    response = httpx.delete(
        f"{graph.base_url}/users/{users[115]}", headers={"Authorization": "Bearer t"}
    )
    assert response.status_code == 204
    round_ = await directory.user_changes(link)
    assert round_.pages >= 2  # the emulator's pages hold 100 items
    assert set(round_.changed) == set(users[:110])
    assert round_.removed == (users[115],)


@pytest.mark.parametrize("status", [410, 400])
async def test_a_link_graph_lost_raises_delta_expired(
    directory: GraphDirectory, graph: EmulatorServer, status: int
) -> None:
    graph.update_settings(delta_expired_status=status)
    link = await directory.latest_delta_link(SELECT)
    graph.expire_delta_tokens()
    with pytest.raises(DeltaExpired, match="syncStateNotFound"):
        await directory.user_changes(link)


async def test_other_failures_are_directory_errors(
    directory: GraphDirectory, graph: EmulatorServer
) -> None:
    link = await directory.latest_delta_link(SELECT)
    graph.add_fault(kind="status", status=500, route="/users/delta")
    with pytest.raises(DirectoryError) as caught:
        await directory.user_changes(link)
    assert caught.value.status == 500
