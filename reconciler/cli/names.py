"""Users' names beside their ids in a plan: reviewing 17,130 adds by GUID is not a review.

The service reads users with the properties the rules need; the command line wraps the
directory so the same reads also $select displayName and userPrincipalName, and remembers them
as the pages go by (no extra request). `--ids-only` turns this off.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from reconciler.directory import Directory

NAME_FIELDS = frozenset({"displayName", "userPrincipalName"})


def ids_only_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ids-only",
        action="store_true",
        help="list users by object id only (default: display name and UPN beside each id)",
    )


def name_book(args: argparse.Namespace) -> NameBook | None:
    return None if args.ids_only else NameBook()


class NameBook:
    """displayName and userPrincipalName by lower-case user id, as Graph returned them."""

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, str]] = {}

    def remember(self, users: Iterable[dict[str, Any] | None]) -> None:
        for user in users:
            if user and user.get("id"):
                display = str(user.get("displayName") or "")
                upn = str(user.get("userPrincipalName") or "")
                self._names[str(user["id"])] = (display, upn)

    def label(self, user_id: str) -> str:
        """`Ana Lopez <ana@contoso.com>`, or "" for a user the run did not read."""
        display, upn = self._names.get(user_id, ("", ""))
        if display and upn:
            return f"{display} <{upn}>"
        return display or upn

    def document(self, user_ids: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """For --json: {id: {"displayName", "userPrincipalName"}} for the ids that were read."""
        found = {}
        for user_id in user_ids:
            names = self._names.get(user_id)
            if names is not None:
                display, upn = names
                found[user_id] = {"displayName": display or None, "userPrincipalName": upn or None}
        return found

    def wrap(self, directory: Directory) -> Directory:
        return _NamingDirectory(directory, self)


class _NamingDirectory:
    """The Directory port with the names added to every user read; everything else is the
    wrapped directory's own (writes, groups, request counts)."""

    def __init__(self, inner: Directory, book: NameBook) -> None:
        self._inner = inner
        self._book = book

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def user_pages(
        self, select: Iterable[str], *, manager: bool
    ) -> AsyncIterator[list[dict]]:
        async for page in self._inner.user_pages(NAME_FIELDS.union(select), manager=manager):
            self._book.remember(page)
            yield page

    async def users(
        self, user_ids: Sequence[str], select: Iterable[str], *, manager: bool, member_of: bool
    ) -> dict[str, dict | None]:
        found = await self._inner.users(
            user_ids, NAME_FIELDS.union(select), manager=manager, member_of=member_of
        )
        self._book.remember(found.values())
        return found
