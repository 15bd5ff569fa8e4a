"""State kept between runs, in Azure Table Storage: removal budget, holds, group state, history.

The service depends on the protocols in `ports` (BudgetStore, HoldStore, GroupStateStore);
`tables.TableStateStore` implements them on the app's storage account (AzureWebJobsStorage,
a connection string or identity-based). Importing this package imports no storage SDK.

async with open_state(settings) as state:       # the CLI; shared_state for the worker
    snapshot = await state.read_budget([group_id])
"""

from reconciler.state.model import (
    BudgetSnapshot,
    BurstPass,
    GroupHolds,
    GroupState,
    GroupStateUpdate,
    HeldRemoval,
    HistoryEntry,
    Hold,
    HoldStatus,
)
from reconciler.state.ports import (
    BudgetStore,
    BurstPassStore,
    GroupStateStore,
    HoldError,
    HoldStore,
    StateConflict,
    StateStore,
    StateUnavailable,
)

__all__ = [
    "BudgetSnapshot",
    "BudgetStore",
    "BurstPass",
    "BurstPassStore",
    "GroupHolds",
    "GroupState",
    "GroupStateStore",
    "GroupStateUpdate",
    "HeldRemoval",
    "HistoryEntry",
    "Hold",
    "HoldError",
    "HoldStatus",
    "HoldStore",
    "StateConflict",
    "StateStore",
    "StateUnavailable",
]
