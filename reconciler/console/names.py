"""Names beside ids on the console's pages: the few users a page shows, read in $batches
(display name and UPN), so nobody reviews a history or a hold by GUID."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.directory import Directory, DirectoryError
from reconciler.settings import Settings

FIELDS = ("displayName", "userPrincipalName")
MOST = 200
"""A page names at most this many users (a pending hold can hold 20,000)."""

Names = dict[str, tuple[str, str]]  # lower-case user id -> (display name, UPN)


async def read_names(directory: Directory, user_ids: Iterable[str]) -> Names:
    """Names of the first MOST distinct ids; {} when Graph cannot say (the ids still stand)."""
    first: dict[str, str] = {}
    for user_id in user_ids:
        if user_id:
            first.setdefault(user_id.lower(), user_id)
    unique = list(first.values())[:MOST]
    if not unique:
        return {}
    try:
        found = await directory.users(unique, FIELDS, manager=False, member_of=False)
    except DirectoryError:
        return {}
    return {
        user_id.lower(): (
            str(user.get("displayName") or ""),
            str(user.get("userPrincipalName") or ""),
        )
        for user_id, user in found.items()
        if user
    }


async def names_from_graph(settings: Settings, user_ids: Iterable[str]) -> Names:
    from reconciler.graph import open_directory

    try:
        async with open_directory(settings) as directory:
            return await read_names(directory, user_ids)
    except DirectoryError:
        return {}
