"""The Directory port on Microsoft Graph: paged reads, batched and paced membership writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from reconciler.delta import DeltaRound
from reconciler.directory import GroupInfo, Member, WriteOutcome
from reconciler.object_id import group_id as normal_group_id
from reconciler.object_id import user_id as normal_user_id

from .batch import BATCH_LIMIT, BatchItem, send_batch
from .delta import changes_since, latest_link
from .transport import GraphResponse, GraphTransport

PAGE_SIZE = 999  # Graph's maximum $top for users and members
BIND_LIMIT = 20  # members@odata.bind per PATCH (graph-facts.md)
FILTER_IN_LIMIT = 15  # values in one $filter "id in (...)" on directory objects
GROUP_TYPE = "#microsoft.graph.group"
_GROUP_SELECT = "id,displayName,groupTypes,mailEnabled,securityEnabled,onPremisesSyncEnabled"


def _query(**options: str) -> str:
    return "?" + "&".join(f"${k}={quote(v, safe=',()=;$')}" for k, v in options.items())


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def refusal(group: dict[str, Any]) -> str | None:
    """Why Graph will refuse to change this group's members, before we try (graph-facts.md)."""
    if "DynamicMembership" in (group.get("groupTypes") or ()):
        return "a dynamic membership group: Entra manages its members (Graph answers 403)"
    if group.get("onPremisesSyncEnabled"):
        return "synced from on-premises AD: change its members there (Graph answers 400)"
    if group.get("mailEnabled") and "Unified" not in (group.get("groupTypes") or ()):
        kind = (
            "mail-enabled security group" if group.get("securityEnabled") else "distribution list"
        )
        return f"a {kind}: manage it in Exchange (Graph answers 400)"
    return None


class GraphDirectory:
    """Implements reconciler.directory.Directory over one GraphTransport. The ids it returns
    (users, members, memberOf, write results) are normalised here, once (object_id.py)."""

    def __init__(self, transport: GraphTransport) -> None:
        self.transport = transport

    def request_counts(self) -> dict[str, int]:
        return dict(self.transport.counts)

    # -- reads -------------------------------------------------------------------------------

    async def user_pages(
        self, select: Iterable[str], *, manager: bool
    ) -> AsyncIterator[list[dict]]:
        options = {"select": ",".join(sorted(select)), "top": str(PAGE_SIZE)}
        if manager:
            options["expand"] = "manager($select=id)"
        async for page in self._pages(f"/users{_query(**options)}", kind="users.page"):
            yield [_normal_user(user) for user in page]

    async def users(
        self, user_ids: Sequence[str], select: Iterable[str], *, manager: bool, member_of: bool
    ) -> dict[str, dict | None]:
        select_text = ",".join(sorted(set(select) | {"id"}))
        user_query = _query(
            select=select_text, **({"expand": "manager($select=id)"} if manager else {})
        )
        found: dict[str, dict | None] = {}
        unique = list(dict.fromkeys(normal_user_id(uid) for uid in user_ids))
        per_batch = BATCH_LIMIT // 2 if member_of else BATCH_LIMIT
        for chunk in _chunks(unique, per_batch):
            items = [
                BatchItem(f"u{i}", "GET", f"/users/{quote(uid)}{user_query}")
                for i, uid in enumerate(chunk)
            ]
            if member_of:
                items += [
                    BatchItem(
                        f"m{i}",
                        "GET",
                        f"/users/{quote(uid)}/memberOf{_query(select='id', top=str(PAGE_SIZE))}",
                    )
                    for i, uid in enumerate(chunk)
                ]
            responses = await send_batch(self.transport, items, kind="users.get", writes=False)
            for i, uid in enumerate(chunk):
                user = self._user_or_none(uid, responses[f"u{i}"])
                if user is not None and manager:
                    user.setdefault("manager", None)
                if user is not None and member_of:
                    user["memberOf"] = await self._member_of_entries(uid, responses[f"m{i}"])
                found[uid] = user
        return found

    async def member_of(self, user_id: str) -> list[str]:
        path = f"/users/{quote(user_id)}/memberOf{_query(select='id', top=str(PAGE_SIZE))}"
        entries = [e async for page in self._pages(path, kind="memberOf.page") for e in page]
        return [normal_group_id(e["id"]) for e in entries if e.get("@odata.type") == GROUP_TYPE]

    async def find_groups(self, group_ids: Sequence[str]) -> dict[str, GroupInfo | None]:
        found: dict[str, GroupInfo | None] = dict.fromkeys(group_ids)
        for chunk in _chunks(list(dict.fromkeys(group_ids)), FILTER_IN_LIMIT):
            ids = ",".join(f"'{gid}'" for gid in chunk)
            path = f"/groups{_query(filter=f'id in ({ids})', select=_GROUP_SELECT)}"
            async for page in self._pages(path, kind="groups.get"):
                for body in page:
                    key = next((g for g in chunk if g.lower() == body["id"].lower()), body["id"])
                    found[key] = GroupInfo(body["id"], body.get("displayName") or "", refusal(body))
        return found

    async def members(self, group_id: str) -> list[Member]:
        path = f"/groups/{quote(group_id)}/members{_query(select='id', top=str(PAGE_SIZE))}"
        return [
            Member(normal_user_id(entry["id"]), entry.get("@odata.type", ""))
            async for page in self._pages(path, kind="members.page")
            for entry in page
        ]

    # -- writes ------------------------------------------------------------------------------

    async def add_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        done: list[str] = []
        failed: dict[str, str] = {}
        for chunk in _chunks(list(user_ids), BIND_LIMIT):
            binds = [f"{self.transport.base_url}/directoryObjects/{uid}" for uid in chunk]
            response = await self.transport.call(
                "PATCH",
                f"/groups/{quote(group_id)}",
                kind="members.bind",
                body={"members@odata.bind": binds},
                writes=1,
            )
            if response.ok:
                done.extend(chunk)
            elif response.status == 400 and "already exist" in response.error_message:
                # The whole PATCH fails when any one is already a member: add one by one.
                outcome = await self._add_one_by_one(group_id, chunk)
                done.extend(outcome.done)
                failed.update(outcome.failed)
            else:
                failed.update(dict.fromkeys(chunk, response.describe()))
        return WriteOutcome(tuple(done), failed)

    async def _add_one_by_one(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        items = [
            BatchItem(
                uid,
                "POST",
                f"/groups/{quote(group_id)}/members/$ref",
                {"@odata.id": f"{self.transport.base_url}/directoryObjects/{uid}"},
            )
            for uid in user_ids
        ]
        responses = await send_batch(self.transport, items, kind="members.add", writes=True)
        return _outcome(responses, lambda r: r.status == 400 and "already exist" in r.error_message)

    async def remove_members(self, group_id: str, user_ids: Sequence[str]) -> WriteOutcome:
        done: list[str] = []
        failed: dict[str, str] = {}
        for chunk in _chunks(list(user_ids), BATCH_LIMIT):
            items = [
                BatchItem(uid, "DELETE", f"/groups/{quote(group_id)}/members/{quote(uid)}/$ref")
                for uid in chunk
            ]
            responses = await send_batch(self.transport, items, kind="members.remove", writes=True)
            # 404: the user is not a member (any more); that is the state we wanted.
            outcome = _outcome(responses, lambda r: r.status == 404)
            done.extend(outcome.done)
            failed.update(outcome.failed)
        return WriteOutcome(tuple(done), failed)

    # -- subscriptions -----------------------------------------------------------------------

    async def subscriptions(self) -> list[dict]:
        """Every subscription this app has in the tenant, all pages."""
        return [
            entry
            async for page in self._pages("/subscriptions", kind="subscriptions.list")
            for entry in page
        ]

    async def create_subscription(self, body: dict[str, Any]) -> dict:
        """POST /subscriptions; Graph runs the validation handshake before it answers."""
        response = await self.transport.call(
            "POST", "/subscriptions", kind="subscriptions.create", body=body
        )
        return dict(self._require(response, "creating a subscription"))

    async def renew_subscription(self, subscription_id: str, expiration: datetime) -> dict:
        """PATCH expirationDateTime (which also reauthorizes); 404 once Graph deleted it."""
        moment = expiration.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        response = await self.transport.call(
            "PATCH",
            f"/subscriptions/{quote(subscription_id)}",
            kind="subscriptions.renew",
            body={"expirationDateTime": moment},
        )
        return dict(self._require(response, f"renewing subscription {subscription_id}"))

    async def reauthorize_subscription(self, subscription_id: str) -> None:
        """POST /subscriptions/{id}/reauthorize: lifts a delivery pause, keeps the expiry."""
        response = await self.transport.call(
            "POST",
            f"/subscriptions/{quote(subscription_id)}/reauthorize",
            kind="subscriptions.reauthorize",
        )
        self._require_done(response, f"reauthorizing subscription {subscription_id}")

    async def delete_subscription(self, subscription_id: str) -> None:
        response = await self.transport.call(
            "DELETE", f"/subscriptions/{quote(subscription_id)}", kind="subscriptions.delete"
        )
        self._require_done(response, f"deleting subscription {subscription_id}")

    # -- delta (reconciler/graph/delta.py) ---------------------------------------------------

    async def latest_delta_link(self, select: Iterable[str]) -> str:
        """A `/users/delta` link tracking `select` from now on."""
        return await latest_link(self.transport, select)

    async def user_changes(self, link: str) -> DeltaRound:
        """The users changed since `link`; DeltaExpired when Graph lost its sync state."""
        return await changes_since(self.transport, link)

    # -- plumbing ----------------------------------------------------------------------------

    async def _pages(self, path: str, *, kind: str) -> AsyncIterator[list[dict]]:
        url: str | None = path
        while url:
            response = await self.transport.call("GET", url, kind=kind)
            body = self._require(response, f"listing {path.split('?')[0]}")
            yield list(body.get("value", []))
            url = body.get("@odata.nextLink")

    async def _member_of_entries(self, user_id: str, first: GraphResponse) -> list[dict]:
        body = self._require(first, f"reading memberOf of {user_id}")
        entries = list(body.get("value", []))
        next_link = body.get("@odata.nextLink")
        if next_link:
            entries += [
                e async for page in self._pages(next_link, kind="memberOf.page") for e in page
            ]
        return [
            {"@odata.type": e.get("@odata.type", ""), "id": normal_group_id(e["id"])}
            for e in entries
        ]

    @staticmethod
    def _user_or_none(user_id: str, response: GraphResponse) -> dict | None:
        if response.status == 404:
            return None
        return _normal_user(dict(GraphDirectory._require(response, f"reading user {user_id}")))

    @staticmethod
    def _require(response: GraphResponse, doing: str) -> dict:
        if not response.ok or not isinstance(response.body, dict):
            raise response.failure(doing)
        return response.body

    @staticmethod
    def _require_done(response: GraphResponse, doing: str) -> None:
        """Like _require, for answers without a body (204)."""
        if not response.ok:
            raise response.failure(doing)


def _normal_user(user: dict) -> dict:
    """The user with its own id and its manager's normalised (other properties as Graph sent
    them: rules compare values case-insensitively themselves)."""
    if "id" in user:
        user["id"] = normal_user_id(str(user["id"]))
    manager = user.get("manager")
    if isinstance(manager, dict) and "id" in manager:
        user["manager"] = {**manager, "id": normal_user_id(str(manager["id"]))}
    return user


def _outcome(responses: dict[str, GraphResponse], already_done: Any) -> WriteOutcome:
    done = tuple(uid for uid, r in responses.items() if r.ok or already_done(r))
    failed = {uid: r.describe() for uid, r in responses.items() if uid not in done}
    return WriteOutcome(done, failed)
