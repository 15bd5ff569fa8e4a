"""Names beside ids: a few $batch reads for the users a page shows, never a failed page."""

from __future__ import annotations

from reconciler.console import names
from tests.memory_directory import MemoryDirectory


def directory(count: int) -> MemoryDirectory:
    return MemoryDirectory(
        [
            {"id": f"U{n}", "displayName": f"User {n}", "userPrincipalName": f"u{n}@x.example"}
            for n in range(count)
        ]
    )


async def test_names_by_lower_case_id_for_the_users_asked_once_each() -> None:
    memory = directory(3)
    found = await names.read_names(memory, ["U1", "U2", "U1", "missing"])
    assert found == {"u1": ("User 1", "u1@x.example"), "u2": ("User 2", "u2@x.example")}
    assert [kind for kind, _ in memory.calls] == ["users"]


async def test_at_most_a_pages_worth_are_read() -> None:
    memory = directory(names.MOST + 50)
    found = await names.read_names(memory, [f"U{n}" for n in range(names.MOST + 50)])
    assert len(found) == names.MOST


async def test_when_graph_cannot_say_the_page_keeps_its_ids() -> None:
    memory = directory(2)
    memory.fail_users = True
    assert await names.read_names(memory, ["U1"]) == {}
    assert await names.read_names(memory, []) == {}
