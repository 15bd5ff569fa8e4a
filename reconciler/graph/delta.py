"""`/users/delta` on Graph: a link "from now", and one round of changes since a saved link.

Facts relied on (graph-facts.md §5): the whole deltaLink is stored, never its token; a round
pages through `@odata.nextLink` (pages may be empty) until a page carries `@odata.deltaLink`;
only `$select`ed properties are tracked, and the query options travel inside the links;
`$deltatoken=latest` answers a deltaLink and no data; a link that lost its sync state answers
`410 Gone` (a sync reset) or a 40x with code `syncStateNotFound` (an expired token), and both
mean: synchronise again from scratch. Requests go through GraphTransport (the SDK's request
adapter, our retries), counted as `users.delta`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from reconciler.delta import DeltaExpired, DeltaRound
from reconciler.directory import DirectoryError

from .transport import GraphResponse, GraphTransport

KIND = "users.delta"


async def latest_link(transport: GraphTransport, select: Iterable[str]) -> str:
    """A deltaLink that reports only changes from now on (no data is read)."""
    names = ",".join(sorted(set(select) | {"id"}))
    path = f"/users/delta?$deltatoken=latest&$select={quote(names, safe=',')}"
    body = _require(await transport.call("GET", path, kind=KIND), "starting a delta round")
    link = body.get("@odata.deltaLink")
    if not isinstance(link, str) or not link:
        raise DirectoryError("Graph answered $deltatoken=latest without an @odata.deltaLink")
    return link


async def changes_since(transport: GraphTransport, link: str) -> DeltaRound:
    """Follow `link` to the end of its round. Raises DeltaExpired when Graph lost the sync
    state, DirectoryError for any other failure (nothing is returned from a partial round)."""
    changed: dict[str, None] = {}
    removed: dict[str, None] = {}
    url, pages = link, 0
    while True:
        body = _require(await transport.call("GET", url, kind=KIND), "following a delta link")
        pages += 1
        for item in body.get("value") or ():
            user_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(user_id, str) or not user_id:
                continue
            user_id = user_id.lower()
            if "@removed" in item:
                removed[user_id] = None
                changed.pop(user_id, None)
            else:
                changed[user_id] = None  # created or restored after a removal: changed
                removed.pop(user_id, None)
        delta_link = body.get("@odata.deltaLink")
        if isinstance(delta_link, str) and delta_link:
            return DeltaRound(tuple(changed), tuple(removed), delta_link, pages)
        next_link = body.get("@odata.nextLink")
        if not isinstance(next_link, str) or not next_link:
            raise DirectoryError("a delta page had neither @odata.nextLink nor @odata.deltaLink")
        url = next_link


def _require(response: GraphResponse, doing: str) -> dict:
    """The body, DeltaExpired when Graph lost the sync state, else as every Graph read."""
    from .adapter import GraphDirectory  # it imports this module

    if response.status == 410 or response.error_code.lower() == "syncstatenotfound":
        raise DeltaExpired(f"{doing}: {response.describe()}")
    return GraphDirectory._require(response, doing)
