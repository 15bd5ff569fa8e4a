"""A local Microsoft Graph emulator: users, groups, memberships, $batch, subscriptions and
change notifications, with fault injection, for tests, benchmarks and the demo.

    from graph_emulator import EmulatorServer
    with EmulatorServer(users=100, seed=3) as graph:
        ...  # point GRAPH_BASE_URL (or the SDK's request_adapter.base_url) at graph.base_url

See docs/graph-emulator.md and `python -m graph_emulator --help`.
"""

from graph_emulator.control_client import ControlClient, ControlError
from graph_emulator.server import EmulatorServer
from graph_emulator.settings import Settings
from graph_emulator.tenant_document import TenantDocument

__all__ = ["ControlClient", "ControlError", "EmulatorServer", "Settings", "TenantDocument"]
