"""The real msgraph-sdk GraphServiceClient against the emulator: reads, paging, writes, batch."""

from __future__ import annotations

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.user import User
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import PageIterator
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from graph_emulator import EmulatorServer, sample
from tests.conftest import EMULATOR_USERS as USERS

GRAPH = "https://graph.microsoft.com/v1.0"


def no_retries() -> RequestConfiguration:
    return RequestConfiguration(options=[RetryHandlerOption(should_retry=False)])


async def outsiders(client: GraphServiceClient, group_id: str, count: int) -> list[str]:
    query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(select=["id"], top=999)
    page = await client.groups.by_group_id(group_id).members.get(
        RequestConfiguration(query_parameters=query)
    )
    inside = {m.id for m in page.value}
    users = await client.users.get(
        RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                select=["id"], top=999
            )
        )
    )
    return [u.id for u in users.value if u.id not in inside][:count]


async def test_typed_read_of_one_user_with_select(client: GraphServiceClient) -> None:
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
        select=[
            "id",
            "jobTitle",
            "department",
            "onPremisesExtensionAttributes",
            sample.EXTENSION_PROPERTY,
        ]
    )
    user = await client.users.by_user_id(sample.CEO_ID).get(
        RequestConfiguration(query_parameters=query)
    )
    assert isinstance(user, User)
    assert user.id == sample.CEO_ID
    assert user.job_title == "Chief Executive Officer"
    assert user.on_premises_extension_attributes.extension_attribute10 == "VIP"
    assert user.additional_data[sample.EXTENSION_PROPERTY] == "E7"


async def test_page_iterator_visits_every_user(
    client: GraphServiceClient, graph: EmulatorServer
) -> None:
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        select=["id", "department"], top=25
    )
    first = await client.users.get(RequestConfiguration(query_parameters=query))
    seen: list[str] = []
    iterator = PageIterator(first, client.request_adapter)
    await iterator.iterate(lambda user: seen.append(user.id) or True)
    assert len(seen) == len(set(seen)) == USERS
    assert graph.counters()["byRoute"]["GET /users"]["count"] == -(-USERS // 25)


async def test_missing_user_raises_odata_error(client: GraphServiceClient) -> None:
    with pytest.raises(ODataError) as caught:
        await client.users.by_user_id("no-such-user").get()
    assert caught.value.response_status_code == 404
    assert caught.value.error.code == "Request_ResourceNotFound"


async def test_add_and_remove_a_member_by_reference(
    client: GraphServiceClient, graph: EmulatorServer
) -> None:
    (user_id,) = await outsiders(client, sample.SALES_ALL, 1)
    members = client.groups.by_group_id(sample.SALES_ALL).members
    await members.ref.post(ReferenceCreate(odata_id=f"{GRAPH}/directoryObjects/{user_id}"))
    with pytest.raises(ODataError) as duplicate:
        await members.ref.post(
            ReferenceCreate(odata_id=f"{GRAPH}/directoryObjects/{user_id}"), no_retries()
        )
    assert duplicate.value.response_status_code == 400
    assert duplicate.value.error.code == "Request_BadRequest"
    await members.by_directory_object_id(user_id).ref.delete()
    with pytest.raises(ODataError) as missing:
        await members.by_directory_object_id(user_id).ref.delete(no_retries())
    assert missing.value.response_status_code == 404
    writes = graph.writes()
    assert [(w["action"], w["applied"]) for w in writes] == [
        ("add", True),
        ("add", False),
        ("remove", True),
        ("remove", False),
    ]


async def test_bind_through_a_group_patch(client: GraphServiceClient) -> None:
    users = await outsiders(client, sample.MANAGERS, 3)
    binds = [f"{GRAPH}/directoryObjects/{u}" for u in users]
    await client.groups.by_group_id(sample.MANAGERS).patch(
        Group(additional_data={"members@odata.bind": binds})
    )
    page = await client.groups.by_group_id(sample.MANAGERS).members.get(
        RequestConfiguration(
            query_parameters=MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(
                select=["id"], top=999
            )
        )
    )
    assert set(users) <= {m.id for m in page.value}
    with pytest.raises(ODataError) as dynamic:
        await client.groups.by_group_id(sample.DYNAMIC_LEGACY).patch(
            Group(additional_data={"members@odata.bind": binds[:1]}), no_retries()
        )
    assert dynamic.value.response_status_code == 403


async def test_a_batch_of_membership_writes(
    client: GraphServiceClient, graph: EmulatorServer
) -> None:
    first, second = await outsiders(client, sample.GUESTS, 2)
    members = client.groups.by_group_id(sample.GUESTS).members
    content = BatchRequestContent()
    for item_id, user_id in (("1", first), ("2", second)):
        info = members.ref.to_post_request_information(
            ReferenceCreate(odata_id=f"{GRAPH}/directoryObjects/{user_id}")
        )
        content.add_request(item_id, BatchRequestItem(request_information=info, id=item_id))
    again = members.ref.to_post_request_information(
        ReferenceCreate(odata_id=f"{GRAPH}/directoryObjects/{first}")
    )
    content.add_request("3", BatchRequestItem(request_information=again, id="3"))
    response = await client.batch.post(batch_request_content=content)
    statuses = response.get_response_status_codes()
    assert statuses["2"] == 204
    assert sorted(statuses.values()) == [204, 204, 400]  # one of the two adds of `first` fails
    assert graph.counters()["batchItems"] == 3
