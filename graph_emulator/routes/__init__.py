"""The Graph routes the emulator serves, registered in one router."""

from __future__ import annotations

from graph_emulator.routes import (
    batch,
    delta,
    directory_items,
    groups,
    members,
    subscriptions,
    users,
)
from graph_emulator.routing import Router


def graph_router() -> Router:
    router = Router()
    # Order matters where a literal segment could also be an {id}: specific routes first.
    for module in (delta, users, members, groups, directory_items, subscriptions, batch):
        module.register(router)
    return router
