"""Property test of `/users/delta`: a replica fed only by delta rounds converges on the tenant.

Random user changes (selected and unselected properties, managers, soft and hard deletes,
restores, creates) are interleaved with the pages of delta rounds. After the last change, one
more round must leave the replica equal to an independent oracle: the tenant as `GET /users`
lists it.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from graph_emulator import EmulatorServer
from tests.graph_emulator.graph_api import Api

TRACKED = ("department", "jobTitle")
POOL = 8  # the changes touch the first users by id, so they collide often
VALUES = st.sampled_from([None, "Alpha", "Beta"])
OPERATIONS = st.one_of(
    st.tuples(st.just("page")),
    st.tuples(
        st.just("patch"),
        st.integers(0, POOL - 1),
        st.sampled_from([*TRACKED, "mobilePhone"]),  # mobilePhone is not selected
        VALUES,
    ),
    st.tuples(st.just("manager"), st.integers(0, POOL - 1), st.integers(0, POOL - 1)),
    st.tuples(
        st.sampled_from(["unmanage", "delete", "restore", "purge"]), st.integers(0, POOL - 1)
    ),
    st.tuples(st.just("create")),
)
REPLICA = settings(
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Replica:
    """A client's copy of the tenant, built only from what delta rounds said."""

    def __init__(self, api: Api, headers: dict[str, str]) -> None:
        self.api = api
        self.headers = headers
        self.users: dict[str, dict[str, Any]] = {}
        self.next_url: str | None = f"/users/delta?$select=id,manager,{','.join(TRACKED)}"
        self.delta_link: str | None = None

    def page(self) -> None:
        """Fetch one page: the next of this round, or the first of the next round."""
        url = self.next_url or self.delta_link
        response = self.api.get(url, headers=self.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        for item in body["value"]:
            if "@removed" in item:
                self.users.pop(item["id"], None)
            else:
                user = self.users.setdefault(item["id"], {})
                user.update(item)
                for link in item.get("manager@delta", ()):
                    user["manager"] = None if "@removed" in link else link["id"]
        self.next_url = body.get("@odata.nextLink")
        self.delta_link = body.get("@odata.deltaLink", self.delta_link)

    def finish_round(self) -> None:
        self.page()
        while self.next_url:
            self.page()

    def view(self) -> dict[str, dict[str, Any]]:
        return {
            user_id: {name: user.get(name) for name in (*TRACKED, "manager")}
            for user_id, user in self.users.items()
        }


def perform(api: Api, pool: list[str], operation: tuple[Any, ...]) -> None:
    kind = operation[0]
    if kind == "patch":
        _, index, name, value = operation
        response = api.patch(f"/users/{pool[index]}", {name: value})
        assert response.status_code in (204, 404), response.text  # 404: deleted meanwhile
    elif kind == "manager":
        bind = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{pool[operation[2]]}"}
        response = api.request("PUT", f"/users/{pool[operation[1]]}/manager/$ref", json=bind)
        assert response.status_code in (204, 400, 404), response.text  # 400: self, 404: gone
    elif kind == "unmanage":
        response = api.delete(f"/users/{pool[operation[1]]}/manager/$ref")
        assert response.status_code in (204, 404), response.text
    elif kind == "delete":
        assert api.delete(f"/users/{pool[operation[1]]}").status_code in (204, 404)
    elif kind == "restore":
        response = api.post(f"/directory/deletedItems/{pool[operation[1]]}/restore")
        assert response.status_code in (200, 404), response.text
    elif kind == "purge":
        assert api.delete(f"/directory/deletedItems/{pool[operation[1]]}").status_code in (
            204,
            404,
        )
    else:
        name = f"replica-{uuid.uuid4().hex[:8]}"
        user = {
            "accountEnabled": True,
            "displayName": name,
            "mailNickname": name,
            "userPrincipalName": f"{name}@contoso.example",
            "department": "Alpha",
        }
        assert api.post("/users", user).status_code == 201


@REPLICA
@example(  # a value cleared, then the user deleted and restored, all between two rounds
    operations=[("page",), ("patch", 0, "department", None), ("delete", 0), ("restore", 0)],
    page_size=3,
    minimal=False,
)
@example(  # the manager deleted while its report was in deleted items
    operations=[("manager", 0, 1), ("page",), ("delete", 0), ("delete", 1), ("restore", 0)],
    page_size=60,
    minimal=True,
)
@given(
    operations=st.lists(OPERATIONS, max_size=30),
    page_size=st.integers(3, 60),
    minimal=st.booleans(),
)
def test_a_replica_fed_by_delta_rounds_converges_on_the_tenant(
    api: Api,
    graph: EmulatorServer,
    operations: list[tuple[Any, ...]],
    page_size: int,
    minimal: bool,
) -> None:
    graph.reset()
    prefer = f"odata.maxpagesize={page_size}" + (", return=minimal" if minimal else "")
    replica = Replica(api, {"Prefer": prefer})
    pool = sorted(user["id"] for user in api.all_pages("/users?$select=id&$top=999"))[:POOL]
    for operation in operations:
        if operation[0] == "page":
            replica.page()
        else:
            perform(api, pool, operation)
    while replica.next_url:  # finish the round in progress, then one round after every change
        replica.page()
    replica.finish_round()
    listed = api.all_pages(
        f"/users?$select=id,{','.join(TRACKED)}&$expand=manager($select=id)&$top=999"
    )
    oracle = {
        user["id"]: {
            **{name: user[name] for name in TRACKED},
            "manager": (user.get("manager") or {}).get("id"),
        }
        for user in listed
    }
    assert replica.view() == oracle
