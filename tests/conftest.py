"""Test-wide guards: every socket stays on loopback, and hypothesis has a CI profile."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


class NonLoopbackConnection(RuntimeError):
    """Raised when a test tries to reach anything but this machine."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX paths stay on this machine
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> None:
    """Install the guard for the whole session, before any fixture opens a connection."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


EMULATOR_USERS = 120
EMULATOR_SEED = 11


@pytest.fixture(scope="session")
def emulator_session(loopback_only: None) -> Iterator[object]:
    """One in-process Graph emulator (own thread and loop) for the whole test session."""
    from graph_emulator import EmulatorServer

    server = EmulatorServer(users=EMULATOR_USERS, seed=EMULATOR_SEED)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def graph(emulator_session):
    """The session's emulator, back at its initial tenant with empty logs and fault plans."""
    emulator_session.reset()
    return emulator_session


@pytest.fixture(scope="session")
def receiver_session(loopback_only: None) -> Iterator[object]:
    """A local webhook receiver (its own thread) that answers Graph's handshakes."""
    from tests.graph_emulator.receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_session):
    """The session's receiver with nothing recorded."""
    receiver_session.clear()
    yield receiver_session
    receiver_session.clear()
