"""The operator's commands on state: `holds list|show|approve|reject` and `status`.

Wired into COMMANDS in reconciler/cli/entry.py; they need the state store (AzureWebJobsStorage, a
connection string or identity-based) and, to approve, Graph.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler import settings
from reconciler.cli.output import EXIT_ERRORS, EXIT_HELD, EXIT_OK, Output
from reconciler.policy import load_policy
from reconciler.service.approval import approve_hold, reject_hold
from reconciler.service.operator import (
    HOLD_STATUSES,
    hold_document,
    holds_document,
    status_document,
)
from reconciler.state import StateStore, StateUnavailable

StateFactory = Callable[[settings.Settings], AbstractAsyncContextManager[StateStore | None]]


@asynccontextmanager
async def open_cli_state(config: settings.Settings) -> AsyncIterator[StateStore | None]:
    """The table store, or None when no storage is configured at all (a CLI run against
    Graph without the app's storage: only that run's own guard applies, and it says so)."""
    from reconciler.state.tables import open_state

    if not (config.storage_connection or config.storage_account_name or config.storage_table_uri):
        yield None
        return
    async with open_state(config) as store:
        yield store


def holds_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="holds, newest first")
    listing.add_argument("--status", choices=HOLD_STATUSES, help="only holds in this status")
    for name, text in (
        ("show", "one hold with its users and their reasons"),
        ("approve", "re-read the held users and remove those the rules still remove"),
        ("reject", "drop the hold: nobody is removed; the next run holds them again"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("hold_id", metavar="ID")
        if name in ("approve", "reject"):
            action.add_argument(
                "--by",
                default=f"{getpass.getuser()} (cli)",
                help="who decides, for the audit records (default: the login name)",
            )
    for action in actions.choices.values():
        # Also after the action (`holds list --json`); SUPPRESS keeps one given before it.
        action.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
        action.add_argument("--rules", metavar="FILE", default=argparse.SUPPRESS)


def run_holds(args: argparse.Namespace, out: Output) -> int:
    config = settings.Settings.from_env()
    if args.action == "list":
        document = _with_state(args, config, lambda state: holds_document(state, args.status))
        holds = document["holds"]
        if not holds:
            out.say("no holds")
        for hold in holds:
            out.say(
                f"{hold['id']}  {hold['status']:<9}  {hold['users']:>5} users  "
                f"{hold['groupName'] or hold['group']}  created {hold['createdAt']}"
            )
        out.document(document)
        return EXIT_OK
    if args.action == "show":
        document = _with_state(args, config, lambda state: hold_document(state, args.hold_id))
        _print_hold(out, document)
        out.document(document)
        return EXIT_OK
    if args.action == "reject":
        hold = _with_state(args, config, lambda s: reject_hold(s, args.hold_id, by=args.by))
        out.say(f"hold {hold.id} rejected by {args.by}: {len(hold.removals)} users stay members")
        out.document(hold.to_json())
        return EXIT_OK
    policy = load_policy(settings.rules_file(args.rules))

    async def approve(state: StateStore) -> Any:
        async with args.directory_factory(config) as directory:
            return await approve_hold(directory, policy, config, state, args.hold_id, by=args.by)

    hold, report = _with_state(args, config, approve)
    failed = sum(len(g.failures) for g in report.groups)
    out.say(
        f"hold {hold.id} ({hold.status}) approved by {args.by}: {len(hold.removed)} removed, "
        f"{len(hold.kept)} kept (the rules no longer remove them, or no longer members)"
        + (f", {failed} failed: approve again to finish" if failed else "")
    )
    out.document({"hold": hold.to_json(), "run": report.to_json()})
    return EXIT_ERRORS if failed else EXIT_OK


def status_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments of its own."""


def run_status(args: argparse.Namespace, out: Output) -> int:
    config = settings.Settings.from_env()
    policy = load_policy(settings.rules_file(args.rules))
    document = _with_state(
        args, config, lambda state: status_document(state, state, policy, config)
    )
    for group in document["groups"]:
        flags = " STALE" if group["stale"] else ""
        hold = f", hold {group['pendingHold']} ({group['pendingHoldSize']} users)"
        out.say(
            f"{group['name']}: {group['members'] if group['members'] is not None else '?'} "
            f"members at the last full run, verified {group['lastVerified'] or 'never'}{flags}, "
            "last change "
            f"{group['lastChange'] or 'none'}{hold if group['pendingHold'] else ''}"
            + (f", last error: {group['lastError']}" if group["lastError"] else "")
        )
    out.document(document)
    return EXIT_HELD if document["pendingHolds"] else EXIT_OK


def history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="entries, newest first")
    parser.add_argument("--days", type=int, default=1, help="how far back (HISTORY_DAYS keeps)")


def run_history(args: argparse.Namespace, out: Output) -> int:
    config = settings.Settings.from_env()
    group_ids = [g.strip().lower() for g in args.group or []] or [None]
    since = datetime.now(UTC) - timedelta(days=max(1, args.days))

    async def read(state: StateStore) -> list[Any]:
        entries = []
        for group_id in group_ids:
            entries += await state.history(group_id=group_id, since=since, limit=args.limit)
        return sorted(entries, key=lambda e: e.at, reverse=True)[: args.limit]

    entries = _with_state(args, config, read)
    for entry in entries:
        by = f" by {entry.by}" if entry.by else ""
        out.say(
            f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.action:<6} {entry.result:<8} {entry.user_id} "
            f"{entry.group_id} ({entry.cause}{by}, {entry.correlation_id}): {entry.reason}"
        )
    out.document({"history": [entry.to_json() for entry in entries]})
    return EXIT_OK


def _print_hold(out: Output, hold: dict[str, Any]) -> None:
    out.say(
        f"hold {hold['id']} on {hold['groupName'] or hold['group']} ({hold['group']}): "
        f"{hold['status']}, {hold['users']} users, created {hold['createdAt']}"
    )
    if hold["decidedBy"]:
        out.say(f"  decided by {hold['decidedBy']} at {hold['decidedAt']}")
    for removal in hold["removals"]:
        out.say(f"  - {removal['user']}  {removal['reason']}")


def _with_state(
    args: argparse.Namespace,
    config: settings.Settings,
    job: Callable[[StateStore], Awaitable[Any]],
) -> Any:
    """Run one job against the store. HoldError, StateUnavailable and DirectoryError end the
    command in main() with their message."""

    async def run() -> Any:
        async with args.state_factory(config) as state:
            if state is None:
                raise StateUnavailable(
                    "AzureWebJobsStorage is not set (nor AzureWebJobsStorage__accountName or "
                    "__tableServiceUri): holds and status live in the app's storage tables"
                )
            return await job(state)

    return asyncio.run(run())
