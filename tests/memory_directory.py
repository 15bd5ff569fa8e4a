"""An in-memory `Directory` for unit tests: the port's semantics without Graph.

Users are Graph JSON dicts; groups have members (users and other objects). It honours what
the Graph adapter promises: paged listings that fail as a whole, "already a member" / "not a
member" counting as done, refused groups, missing users as None. Every call is recorded in
`calls`, every membership write item in `writes`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

from reconciler.directory import USER_TYPE, DirectoryError, GroupInfo, Member, WriteOutcome

GROUP_TYPE = "#microsoft.graph.group"


@dataclass
class MemoryGroup:
    id: str
    name: str = ""
    members: dict[str, str] = field(default_factory=dict)  # id -> @odata.type
    refusal: str | None = None


class MemoryDirectory:
    def __init__(self, users: Iterable[dict] = (), *, page_size: int = 3) -> None:
        self.users_by_id: dict[str, dict] = {u["id"]: dict(u) for u in users}
        self.groups: dict[str, MemoryGroup] = {}
        self.page_size = page_size
        self.fail_members: set[str] = set()  # group ids whose member read fails
        self.fail_listing_at_page: int | None = None  # 1-based page that fails
        self.fail_users = False  # users() fails
        self.fail_writes: dict[tuple[str, str], str] = {}  # (group, user) -> Graph's reason
        self.calls: list[tuple[str, str]] = []
        self.writes: list[tuple[str, str, str]] = []  # (action, group id, user id)

    # -- set-up ---------------------------------------------------------------------------

    def add_group(self, group_id: str, name: str = "", refusal: str | None = None) -> None:
        self.groups[group_id] = MemoryGroup(group_id, name or group_id, refusal=refusal)

    def put_member(self, group_id: str, member_id: str, odata_type: str = USER_TYPE) -> None:
        self.groups[group_id].members[member_id] = odata_type

    def member_ids(self, group_id: str) -> set[str]:
        return set(self.groups[group_id].members)

    def request_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind, _ in self.calls:
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    # -- reads ----------------------------------------------------------------------------

    def _shape(self, user: dict, select: Iterable[str], manager: bool) -> dict:
        shaped = {name: user.get(name) for name in select}
        shaped["id"] = user["id"].lower()  # the port returns normalised ids
        if manager:
            shaped["manager"] = user.get("manager")
        return shaped

    async def user_pages(
        self, select: Iterable[str], *, manager: bool
    ) -> AsyncIterator[list[dict]]:
        select = list(select)
        users = list(self.users_by_id.values())
        for number, start in enumerate(range(0, len(users), self.page_size), start=1):
            self.calls.append(("userPage", str(number)))
            if self.fail_listing_at_page == number:
                raise DirectoryError("page failed", status=503, code="serviceUnavailable")
            yield [self._shape(u, select, manager) for u in users[start : start + self.page_size]]

    async def users(
        self, user_ids: Sequence[str], select: Iterable[str], *, manager: bool, member_of: bool
    ) -> dict[str, dict | None]:
        self.calls.append(("users", ",".join(user_ids)))
        if self.fail_users:
            raise DirectoryError("batch failed", status=503)
        select = list(select)
        found: dict[str, dict | None] = {}
        for user_id in user_ids:
            user = self.users_by_id.get(user_id)
            if user is None:
                found[user_id] = None
                continue
            shaped = self._shape(user, select, manager)
            if member_of:
                shaped["memberOf"] = [
                    {"@odata.type": GROUP_TYPE, "id": gid.lower()}
                    for gid, group in self.groups.items()
                    if user_id in group.members
                ]
            found[user_id] = shaped
        return found

    async def member_of(self, user_id: str) -> list[str]:
        self.calls.append(("memberOf", user_id))
        return [gid for gid, g in self.groups.items() if user_id in g.members]

    async def find_groups(self, group_ids: Sequence[str]) -> dict[str, GroupInfo | None]:
        self.calls.append(("groups", tuple(group_ids)))
        found: dict[str, GroupInfo | None] = {}
        for group_id in group_ids:
            group = self.groups.get(group_id)
            found[group_id] = (
                None if group is None else GroupInfo(group.id, group.name, group.refusal)
            )
        return found

    async def members(self, group_id: str) -> list[Member]:
        self.calls.append(("members", group_id))
        if group_id in self.fail_members:
            raise DirectoryError(f"members of {group_id}: page 3 failed", status=503)
        group = self.groups.get(group_id)
        if group is None:
            raise DirectoryError(f"group {group_id} not found", status=404, code="NotFound")
        return [Member(mid.lower(), kind) for mid, kind in group.members.items()]

    # -- writes ---------------------------------------------------------------------------

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        return self._write("add", group_id, user_ids)

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        return self._write("remove", group_id, user_ids)

    def _write(self, action: str, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        self.calls.append((action, group_id))
        group = self.groups[group_id]
        done, failed = [], {}
        for user_id in user_ids:
            self.writes.append((action, group_id, user_id))
            if group.refusal:
                failed[user_id] = group.refusal
            elif (group_id, user_id) in self.fail_writes:
                failed[user_id] = self.fail_writes[group_id, user_id]
            elif action == "add" and user_id not in self.users_by_id:
                failed[user_id] = "Request_ResourceNotFound"
            else:
                if action == "add":
                    group.members[user_id] = USER_TYPE  # already a member: done all the same
                else:
                    group.members.pop(user_id, None)  # not a member: done all the same
                done.append(user_id)
        return WriteOutcome(tuple(done), failed)
