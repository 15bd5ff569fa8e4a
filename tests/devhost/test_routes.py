"""Route templates and the queue message encoding, as the host applies them."""

import base64
import json

import pytest

from devhost import rpc
from devhost.queues import OutputError, decode_body, encode_messages
from devhost.routes import RouteTemplate


def test_literal_segments_match_case_insensitively_and_params_keep_their_case() -> None:
    template = RouteTemplate.parse("sync/users/{id}")
    assert template.match("/Sync/USERS/AbC-1") == {"id": "AbC-1"}
    assert template.match("/sync/groups/x") is None
    assert template.match("/sync/users") is None
    assert template.match("/sync/users/x/extra") is None


def test_constraints_optional_and_catch_all() -> None:
    assert RouteTemplate.parse("items/{id:int}").match("items/42") == {"id": "42"}
    assert RouteTemplate.parse("items/{id:int}").match("items/abc") is None
    guid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert RouteTemplate.parse("g/{id:guid}").match(f"g/{guid}") == {"id": guid}
    assert RouteTemplate.parse("hello/{name?}").match("hello") == {}
    assert RouteTemplate.parse("files/{*path}").match("files/a/b/c.txt") == {"path": "a/b/c.txt"}


def test_literal_routes_take_precedence_over_parameters() -> None:
    templates = sorted(
        [RouteTemplate.parse("users/{id}"), RouteTemplate.parse("users/me")],
        key=lambda t: t.precedence,
    )
    assert templates[0].text == "users/me"


def test_output_data_becomes_base64_messages_one_per_list_item() -> None:
    assert encode_messages(rpc.TypedData(string="héllo"), "base64") == [
        base64.b64encode("héllo".encode()).decode()
    ]
    assert encode_messages(rpc.TypedData(bytes=b"\x00\xff"), "base64") == ["AP8="]
    # A list is sent by the worker as a JSON array; a QueueMessage item as an object.
    listed = rpc.TypedData(json=json.dumps(["a", {"id": "1", "body": "b"}]))
    assert encode_messages(listed, "none") == ["a", '{"id": "1", "body": "b"}']
    with pytest.raises(OutputError, match="http"):
        encode_messages(rpc.TypedData(http=rpc.RpcHttp()), "base64")


def test_trigger_bodies_are_decoded_and_bad_base64_is_refused() -> None:
    assert decode_body("aGk=", "base64") == b"hi"
    assert decode_body("not base64!", "none") == b"not base64!"
    with pytest.raises(ValueError, match="base64"):
        decode_body("not base64!", "base64")
