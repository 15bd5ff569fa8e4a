"""The loopback-only guard really refuses other addresses before a packet leaves."""

import socket

import pytest

from tests.conftest import NonLoopbackConnection


def test_guard_refuses_a_non_loopback_address() -> None:
    with socket.socket() as s, pytest.raises(NonLoopbackConnection):
        s.connect(("192.0.2.1", 80))


def test_guard_refuses_connect_ex_to_a_public_address() -> None:
    with socket.socket() as s, pytest.raises(NonLoopbackConnection):
        s.connect_ex(("203.0.113.5", 443))


def test_guard_lets_loopback_through() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
            accepted, _ = server.accept()
            accepted.close()
