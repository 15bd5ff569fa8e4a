"""What the jobs need from a directory: the narrow port that Graph (or a test double) fills.

The service depends on this protocol only, so the same code runs against Microsoft Graph,
the local emulator, or an in-memory directory in unit tests. Every id an implementation
returns (users, members, memberOf entries, write results) is normalised by it
(reconciler/object_id.py), so the jobs compare ids as given and never case-fold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

USER_TYPE = "#microsoft.graph.user"


@dataclass(frozen=True, slots=True)
class Member:
    """A direct member of a group; only users are ever changed (DESIGN.md principle 9)."""

    id: str
    odata_type: str = USER_TYPE

    @property
    def is_user(self) -> bool:
        return self.odata_type == USER_TYPE


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """Enough of a group to know whether Graph will let us change its members."""

    id: str
    display_name: str
    refusal: str | None = None  # why Graph refuses membership writes (dynamic, mail-enabled, ...)


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """The result of a batch of membership writes for one group."""

    done: tuple[str, ...] = ()  # user ids written, or already in the wanted state
    failed: dict[str, str] = field(default_factory=dict)  # user id -> Graph's reason


class DirectoryError(Exception):
    """A read or write that could not complete; carries Graph's status, code and request id."""

    def __init__(
        self, message: str, *, status: int = 0, code: str = "", request_id: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id


class Directory(Protocol):
    def user_pages(self, select: Iterable[str], *, manager: bool) -> AsyncIterator[list[dict]]:
        """Every user, page by page (Graph JSON with `select`, plus `manager` ({"id"} or None)
        when asked); raises DirectoryError when any page cannot be read, so a partial listing
        never looks complete."""
        ...

    async def users(
        self, user_ids: Sequence[str], select: Iterable[str], *, manager: bool, member_of: bool
    ) -> dict[str, dict | None]:
        """The given users by id (None for a user that does not exist). With `manager`, each
        has `manager` ({"id"} or None); with `member_of`, each has `memberOf` (direct groups
        as [{"@odata.type", "id"}])."""
        ...

    async def member_of(self, user_id: str) -> list[str]:
        """Ids of the groups the user is a direct member of."""
        ...

    async def find_groups(self, group_ids: Sequence[str]) -> dict[str, GroupInfo | None]:
        """The given groups by id (None for one that does not exist), read in bulk."""
        ...

    async def members(self, group_id: str) -> list[Member]:
        """All direct members, complete or a DirectoryError."""
        ...

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        """Add users; "already a member" counts as done."""
        ...

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        """Remove users; "not a member" counts as done."""
        ...
