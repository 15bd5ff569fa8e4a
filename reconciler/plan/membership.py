"""Which groups a user is a direct member of, from what the directory returned: pure filters.

Graph's `memberOf` mixes groups with directory roles and administrative units; only groups
count. Ids arrive normalised from the directory (object_id.py), so they compare as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any

from reconciler.directory import Member
from reconciler.plan.planner import invert_members

GROUP_TYPE = "#microsoft.graph.group"


def direct_groups(user: Mapping[str, Any], among: Set[str] | None = None) -> set[str]:
    """The groups (all, or those `among`) a user read with `member_of=True` is a direct
    member of; an entry without `@odata.type` is a group (the emulator's and tests' shape)."""
    groups = {
        str(entry.get("id", ""))
        for entry in user.get("memberOf") or ()
        if entry.get("@odata.type", GROUP_TYPE) == GROUP_TYPE
    }
    return groups if among is None else groups & among


def member_of_index(source_members: Mapping[str, Sequence[Member]]) -> dict[str, set[str]]:
    """user id -> the memberOf source groups the user is a direct member of, built from the
    source groups' member lists (one read per source group, not one call per user)."""
    return invert_members(source_members)[0]
