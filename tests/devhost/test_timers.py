"""Timer triggers: on demand through the admin API, and on their schedule."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sample_app  # the module the worker loads (conftest.py puts its directory on sys.path)

from devhost import DevHost
from tests.devhost.fixtures import wait_until


def test_timer_runs_on_demand_via_the_admin_api(start_devhost: Callable[..., DevHost]) -> None:
    host = start_devhost()  # schedule: once a year
    with httpx.Client(trust_env=False, timeout=20) as http:
        response = http.post(f"{host.base_url}/admin/functions/tick", json={"input": ""})
        assert response.status_code == 202
        # HTTP functions are called on their route, not through the admin API.
        assert http.post(f"{host.base_url}/admin/functions/hello", json={}).status_code == 400
    tick = wait_until(lambda: next(iter(sample_app.ticks), None), what="the timer run")
    assert tick["past_due"] is False
    assert tick["on_event_loop"] is False  # a sync function runs on the worker's thread pool


def test_timer_fires_on_its_ncrontab_schedule(
    start_devhost: Callable[..., DevHost], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICK_SCHEDULE", "* * * * * *")  # every second
    start_devhost()
    wait_until(lambda: len(sample_app.ticks) >= 2, timeout=10, what="two scheduled runs")
