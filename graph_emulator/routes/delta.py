"""`GET /users/delta`: rounds of change tracking over users, as Graph answers them (facts §5).

A round starts with `GET /users/delta[?$select=...]` and pages on through `@odata.nextLink`
(`$skiptoken`) until a page carries `@odata.deltaLink` (`$deltatoken`); calling that link later
starts the next round, which reports only what changed since. The shapes follow Microsoft's
user-delta page:

- initial round: every current user with the selected (or default) properties, nulls included;
- later rounds, an updated user: `id` and every selected property that has a value, plus the
  changed ones even when they became null; never-set properties are left out. With
  `Prefer: return=minimal`, only `id` and the changed selected properties;
- a user created or restored since: `id` and every selected property that has a value;
- a deleted user: `{"id", "@removed": {"reason": "changed"}}` when it can be restored (soft
  delete), `"deleted"` when it is gone for good;
- only selected properties are tracked: a change to an unselected one does not return the user.
  Without `$select`, every property is tracked and the default ones are returned;
- `$select=manager` also tracks the manager, as `manager@delta`: `[{"@odata.type", "id"}]`, or
  the manager taken away with `"@removed": {"reason": "deleted"}`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from graph_emulator import odata, schema
from graph_emulator.calls import Call, Reply
from graph_emulator.change_log import MANAGER, UserTrack
from graph_emulator.delta_tokens import DeltaState, DeltaTokens, bad_token
from graph_emulator.errors import GraphError
from graph_emulator.routing import Router
from graph_emulator.shapes import user_projector

if TYPE_CHECKING:
    from graph_emulator.directory import Directory
    from graph_emulator.emulator import Emulator

USER_TYPE = schema.ODATA_TYPES["user"]

# Graph: "$expand, $top and $orderby are not supported" on user delta; the others are not
# served here. The status and code of Graph's answer are not documented: made up.
_UNSUPPORTED = ("top", "expand", "orderby", "search", "skip", "count")
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_ID_EQ = re.compile(r"id\s+eq\s+'([^']+)'", re.IGNORECASE)
_MAX_FILTER_IDS = 50
_EXPIRED_MESSAGE = (
    "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again."
)


def register(router: Router) -> None:
    # `/delta` is short for `/microsoft.graph.delta`; the SDK calls `/users/delta()`.
    for template in (
        "/users/delta",
        "/users/delta()",
        "/users/microsoft.graph.delta",
        "/users/microsoft.graph.delta()",
    ):
        router.add("GET", template)(users_delta)


class Preferences:
    """The `Prefer` header's two delta preferences: `return=minimal` and `odata.maxpagesize`."""

    def __init__(self, header: str | None) -> None:
        self.minimal = False
        self.page_size: int | None = None
        for part in (header or "").split(","):
            name, _, value = part.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "return":
                self.minimal = value.lower() == "minimal"
            elif name == "odata.maxpagesize":
                if not value.isdigit() or int(value) < 1:
                    raise GraphError(
                        400,
                        "BadRequest",  # made up: Graph's answer to a bad page size preference
                        f"Invalid Prefer odata.maxpagesize '{value}': use a positive integer.",
                    )
                self.page_size = min(int(value), odata.MAX_PAGE)

    def applied(self, later_round: bool) -> dict[str, str]:
        applied = []
        if self.minimal and later_round:
            applied.append("return=minimal")
        if self.page_size is not None:
            applied.append(f"odata.maxpagesize={self.page_size}")
        return {"Preference-Applied": ", ".join(applied)} if applied else {}


async def users_delta(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    for option in _UNSUPPORTED:
        if call.option(option) is not None:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"${option} is not supported on /users/delta by the emulator.",  # made up
            )
    prefer = Preferences(call.headers.get("prefer"))
    state = _starting_state(emu, call)
    top = prefer.page_size or odata.DEFAULT_PAGE
    if state.kind == "delta":  # $deltatoken=latest: "sync from now", a deltaLink and no data
        link, items = state, []
    elif state.kind == "initial":
        link, items = _initial_page(emu.directory, state, top)
    else:
        link, items = _changes_page(emu.directory, state, top, minimal=prefer.minimal)
    body = _body(emu, state.select, link, items)
    return Reply(200, body, prefer.applied(later_round=state.kind == "changes"))


def _starting_state(emu: Emulator, call: Call) -> DeltaState:
    """Where this request resumes: an initial or later round, or `delta` for "latest"."""
    changes = emu.directory.changes
    delta_token, skip_token = call.option("deltatoken"), call.option("skiptoken")
    if delta_token is not None and skip_token is not None:
        raise bad_token("a request carries either $deltatoken or $skiptoken, not both")
    if delta_token is not None and delta_token.lower() == "latest":
        select, ids = _requested(call, emu.directory)
        return DeltaState("delta", changes.epoch, changes.sequence, select, ids=ids)
    if not delta_token and not skip_token:  # an empty $deltatoken is Graph's "start over" link
        select, ids = _requested(call, emu.directory)
        return DeltaState("initial", changes.epoch, changes.sequence, select, ids=ids)
    option, token = ("deltatoken", delta_token) if delta_token else ("skiptoken", skip_token)
    state = DeltaTokens.read(str(token), option)
    now = emu.clock.now().timestamp()
    if state.epoch != changes.epoch or emu.delta_tokens.is_expired(
        state, now, emu.settings.delta_token_lifetime
    ):
        raise _sync_state_not_found(emu, state)
    select, ids = _requested(call, emu.directory)
    if (call.option("select") is not None and select != state.select) or (
        call.option("filter") is not None and ids != state.ids
    ):
        # Graph: "subsequent requests can't be modified"; the token carries the query.
        raise bad_token("$select and $filter cannot change within a round; the token carries them")
    if state.kind == "delta":
        return replace(state, kind="changes", after_seq=state.since)
    return state


def _requested(
    call: Call, directory: Directory
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The request's own `$select` and `$filter` ids."""
    return _parse_select(call.option("select"), directory), _parse_filter(call.option("filter"))


def _parse_select(text: str | None, directory: Directory) -> tuple[str, ...] | None:
    """`$select` as on a listing, plus `manager`, which delta tracks as a relationship."""
    names = [name.strip() for name in (text or "").split(",")]
    rest = [name for name in names if name.lower() != MANAGER]
    select = odata.parse_select(",".join(rest), directory.user_schema) or ()
    if len(rest) < len(names):
        select += (MANAGER,)
    return select or None


def _parse_filter(text: str | None) -> tuple[str, ...] | None:
    """Delta's only filter: `id eq '...'` joined by `or`, at most 50 ids (Graph's limit)."""
    if text is None or not text.strip():
        return None
    ids = []
    for clause in _OR.split(text.strip()):
        found = _ID_EQ.fullmatch(clause.strip())
        if found is None:
            # Graph documents the one supported form, not its answer to others: made up.
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "On /users/delta $filter supports only id eq '{id}', joined by 'or'; "
                f"not '{clause.strip()}'.",
            )
        ids.append(found.group(1))
    if len(ids) > _MAX_FILTER_IDS:
        raise GraphError(
            400,
            "Request_UnsupportedQuery",  # made up: Graph documents the limit, not the answer
            f"$filter on /users/delta names {len(ids)} ids; the limit is {_MAX_FILTER_IDS}.",
        )
    return tuple(sorted(set(ids)))


def _shown(select: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The properties a projector shows: the selection without `manager` (at least `id`)."""
    if select is None:
        return None
    return tuple(name for name in select if name != MANAGER) or ("id",)


def _manager_delta(directory: Directory, user_id: str, removed: str | None) -> list[dict] | None:
    manager_id = directory.managers.get(user_id)
    if manager_id is not None:
        return [{"@odata.type": USER_TYPE, "id": manager_id}]
    if removed is not None:
        return [{"@odata.type": USER_TYPE, "id": removed, "@removed": {"reason": "deleted"}}]
    return None


def _sync_state_not_found(emu: Emulator, state: DeltaState) -> GraphError:
    """Graph's answer to an expired token: `syncStateNotFound`; 410 adds where to start over."""
    status = emu.settings.delta_expired_status
    headers = {}
    if status == 410:
        query = "$deltatoken="
        if state.select:
            query += f"&$select={','.join(state.select)}"
        if state.ids:
            query += "&$filter=" + quote(" or ".join(f"id eq '{i}'" for i in state.ids))
        headers["Location"] = f"{emu.base_url}/users/delta?{query}"
    return GraphError(status, "syncStateNotFound", _EXPIRED_MESSAGE, headers=headers)


def _initial_page(
    directory: Directory, state: DeltaState, top: int
) -> tuple[DeltaState, list[dict[str, Any]]]:
    """Current users by id; the round's deltaLink resumes from the change number it began at."""
    if state.ids is None:
        ids = directory.sorted_users.after(state.after_id)
    else:
        ids = (i for i in state.ids if state.after_id is None or i > state.after_id)
    page = odata.take_page(ids, directory.users.get, top, None)
    project = user_projector(directory, _shown(state.select), None)
    items = [_with_id(project(user), user["id"]) for user in page.items]
    if state.select is not None and MANAGER in state.select:
        for item in items:
            manager = _manager_delta(directory, item["id"], None)
            if manager is not None:
                item["manager@delta"] = manager
    if page.last_id is not None:
        return replace(state, after_id=page.last_id), items
    return replace(state, kind="delta", after_id=None), items


def _changes_page(
    directory: Directory, state: DeltaState, top: int, *, minimal: bool
) -> tuple[DeltaState, list[dict[str, Any]]]:
    """Changed users in change order, resuming after `state.after_seq`.

    When nothing is left, every change numbered up to the current sequence has been seen (a user
    changed again meanwhile moved behind the cursor and was met again), so the deltaLink can
    resume from there.
    """
    shape = _ChangeShaper(directory, state, minimal=minimal)
    items: list[dict[str, Any]] = []
    cursor = state.after_seq
    for track in directory.changes.after(state.after_seq):
        item = shape(track)
        if item is None:
            if len(items) < top:
                cursor = track.seq  # nothing to say about it: later pages need not look again
            continue
        if len(items) == top:
            return replace(state, after_seq=cursor), items
        items.append(item)
        cursor = track.seq
    return replace(state, kind="delta", since=directory.changes.sequence, after_seq=0), items


class _ChangeShaper:
    """One changed user as a later round reports it, or None when nothing tracked changed."""

    def __init__(self, directory: Directory, state: DeltaState, *, minimal: bool) -> None:
        self.directory = directory
        self.since = state.since
        self.minimal = minimal
        self.tracked = None if state.select is None else frozenset(state.select)
        self.with_manager = self.tracked is not None and MANAGER in self.tracked
        self.returned = _shown(state.select) or directory.user_schema.defaults
        self.project = user_projector(directory, _shown(state.select), None)
        self.ids = None if state.ids is None else frozenset(state.ids)

    def __call__(self, track: UserTrack) -> dict[str, Any] | None:
        if self.ids is not None and track.user_id not in self.ids:
            return None
        if track.removed is not None:
            return {"id": track.user_id, "@removed": {"reason": track.removed}}
        user = self.directory.users.get(track.user_id)
        if user is None:  # cannot happen while the log and the directory agree
            return None
        shaped = self.project(user)
        changed = track.changed_since(self.since)
        if self.tracked is not None:
            changed &= self.tracked
        else:
            changed.discard(MANAGER)  # a relationship: tracked only when selected
        appeared = track.appeared > self.since
        if not changed and not appeared:
            return None
        keep = set(changed)
        if appeared or not self.minimal:
            keep |= {name for name in self.returned if user.get(name) is not None}
            keep.add(MANAGER)
        item = _with_id({name: shaped[name] for name in self.returned if name in keep}, user["id"])
        if self.with_manager and MANAGER in keep:
            removed = (
                track.manager_removed if track.properties.get(MANAGER, 0) > self.since else None
            )
            manager = _manager_delta(self.directory, user["id"], removed)
            if manager is not None:
                item["manager@delta"] = manager
        return item


def _with_id(item: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Graph: "the id property is always returned", selected or not."""
    return item if "id" in item else {"id": user_id, **item}


def _body(
    emu: Emulator, select: tuple[str, ...] | None, link: DeltaState, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """A page: a deltaLink when `link` ends the round, else a nextLink; never both."""
    token = emu.delta_tokens.issue(link, emu.clock.now().timestamp())
    if link.kind == "delta":
        name, url = "@odata.deltaLink", f"{emu.base_url}/users/delta?$deltatoken={token}"
    else:
        name, url = "@odata.nextLink", f"{emu.base_url}/users/delta?$skiptoken={token}"
    return {
        "@odata.context": odata.context_url(emu.base_url, "users", select),
        name: url,
        "value": items,
    }
