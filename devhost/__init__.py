"""devhost: runs function_app.py locally the way the Azure Functions host does (no Core Tools).

    from devhost import Azurite, DevHost
    with Azurite() as azurite:                       # node_modules/.bin/azurite-queue, in memory
        os.environ["AzureWebJobsStorage"] = azurite.connection_string
        with DevHost(app="function_app", port=0) as host:
            host.base_url                            # http://127.0.0.1:PORT, routes under /api

Names are imported on first use, so `python -m devhost.azurite` does not load the host.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Azurite": "devhost.azurite",
    "AzuriteError": "devhost.azurite",
    "ConfigError": "devhost.config",
    "HostOptions": "devhost.config",
    "QueueOptions": "devhost.config",
    "DevHost": "devhost.host",
    "ScheduleError": "devhost.schedule",
    "parse_schedule": "devhost.schedule",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'devhost' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
