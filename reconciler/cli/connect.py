"""Opening the directory (and the state store) for one command and running a job against it.

Commands that read the directory open it through a factory, `reconciler.graph.open_directory`
unless `main()` is given another (tests pass an in-memory one).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from reconciler import settings
from reconciler.cli.defaults import require_credential
from reconciler.cli.names import NameBook
from reconciler.cli.output import CommandError
from reconciler.directory import Directory, DirectoryError

DirectoryFactory = Callable[[settings.Settings], AbstractAsyncContextManager[Directory]]


@asynccontextmanager
async def open_graph_directory(
    config: settings.Settings, *, note: str = ""
) -> AsyncIterator[Directory]:
    """The Graph directory, after the preflight: one clear error when Graph cannot be reached
    or no token can be had, instead of every request waiting out its retries."""
    # Imported here: check and explain (without --user-id) must not load the Graph SDK.
    from reconciler.graph import open_directory
    from reconciler.graph.preflight import PreflightError, preflight

    if note:
        print(note, file=sys.stderr)
    require_credential()
    try:
        await preflight(config)
    except PreflightError as error:
        raise CommandError(error.message, error.hint) from None
    async with open_directory(config) as directory:
        yield directory


def with_directory(
    args: argparse.Namespace,
    config: settings.Settings,
    job: Callable[..., Awaitable[Any]],
    *,
    with_state: bool = False,
    names: NameBook | None = None,
) -> Any:
    """Open the directory, run one job against it, close it. `with_state`: the job also gets
    the state store (None when no storage is configured, which is said on stderr); `names`
    collects the names of the users the job reads."""
    factory: DirectoryFactory = args.directory_factory

    async def run() -> Any:
        async with factory(config) as opened:
            directory = opened if names is None else names.wrap(opened)
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
