"""Shared fixtures: one emulator and one webhook receiver per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph_emulator import EmulatorServer
from tests.graph_emulator.graph_api import Api
from tests.graph_emulator.receiver import WebhookReceiver


@pytest.fixture(scope="session")
def receiver_session(loopback_only: None) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(receiver_session: WebhookReceiver) -> Iterator[WebhookReceiver]:
    receiver_session.clear()
    yield receiver_session
    receiver_session.clear()


@pytest.fixture
def api(graph: EmulatorServer) -> Iterator[Api]:
    client = Api(graph.base_url)
    yield client
    client.client.close()
