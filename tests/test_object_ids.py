"""Ids are normalised once, where they enter: the queue decode and the Graph adapter give the
jobs lower-case ids, so nothing past them case-folds."""

from __future__ import annotations

from reconciler.graph.adapter import _normal_user
from reconciler.object_id import group_id, user_id
from reconciler.work import message as work

USER = "6D1F2B5E-0C4A-4F0E-9B7E-2F5A8C3D1E4F"
GROUP = "10000000-0000-4000-8000-00000000000A"


def test_the_id_types_are_lower_case() -> None:
    assert user_id(USER) == USER.lower() and group_id(GROUP) == GROUP.lower()


def test_queue_messages_carry_normalised_user_and_group_ids() -> None:
    [users] = work.users_messages([USER], cause="sync")
    [groups] = work.group_messages([GROUP], cause="sync")
    assert users.user_ids == (USER.lower(),) and groups.group_ids == (GROUP.lower(),)
    document = work.encode(users).replace(USER.lower(), USER)  # as another writer spells it
    assert work.decode(document).user_ids == (USER.lower(),)


def test_the_graph_adapter_normalises_a_users_id_and_manager() -> None:
    user = _normal_user({"id": USER, "manager": {"id": USER}, "department": "Sales"})
    assert user == {"id": USER.lower(), "manager": {"id": USER.lower()}, "department": "Sales"}
    assert _normal_user({"id": USER, "manager": None})["manager"] is None
