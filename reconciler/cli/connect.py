"""Opening the directory (and the state store) for one command and running a job against it.

Commands that read the directory open it through a factory, `reconciler.graph.open_directory`
unless `main()` is given another (tests pass an in-memory one).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from reconciler import settings
from reconciler.cli.output import CommandError
from reconciler.directory import Directory, DirectoryError

DirectoryFactory = Callable[[settings.Settings], AbstractAsyncContextManager[Directory]]


def open_graph_directory(config: settings.Settings) -> AbstractAsyncContextManager[Directory]:
    # Imported here: check and explain (without --user-id) must not load the Graph SDK.
    from reconciler.graph import open_directory

    return open_directory(config)


def with_directory(
    args: argparse.Namespace,
    config: settings.Settings,
    job: Callable[..., Awaitable[Any]],
    *,
    with_state: bool = False,
) -> Any:
    """Open the directory, run one job against it, close it. `with_state`: the job also gets
    the state store (None when no storage is configured, which is said on stderr)."""
    factory: DirectoryFactory = args.directory_factory

    async def run() -> Any:
        async with factory(config) as directory:
            if not with_state:
                return await job(directory)
            async with args.state_factory(config) as state:
                if state is None:
                    print(
                        "note: AzureWebJobsStorage is not set: no shared removal budget or "
                        "holds for this run, only its own guard",
                        file=sys.stderr,
                    )
                return await job(directory, state)

    try:
        return asyncio.run(run())
    except DirectoryError as error:
        detail = f" (status {error.status}, request id {error.request_id})" if error.status else ""
        raise CommandError(
            f"Graph: {error}{detail}", "check GRAPH_BASE_URL and GRAPH_CREDENTIAL"
        ) from error
