"""Arguments several commands share: a user from a file, a date-time, the rules file and the
groups chosen with --group."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import settings
from reconciler.cli.output import CommandError, Output, UsageError
from reconciler.object_id import is_object_id
from reconciler.plan.selection import select_groups
from reconciler.policy import ManagedGroup, Policy, load_policy


def read_user(source: str) -> dict[str, Any]:
    """A Graph user object from a JSON file, or from stdin when `source` is "-"."""
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"cannot read --user {where}: {error.strerror or error}") from error
    try:
        user = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"--user {where}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    if not isinstance(user, dict):
        raise CommandError(
            f"--user {where} holds {type(user).__name__}, not a Graph user object",
            "give one user as GET /users/{id} returns it",
        )
    return user


def object_id(text: str) -> str:
    """An argparse type: an Entra object id (a GUID), refused with exit code 2 otherwise,
    before anything is read."""
    if not is_object_id(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an object id (a GUID such as 6d1f2b5e-0c4a-4f0e-9b7e-2f5a8c3d1e4f)"
        )
    return text.strip().lower()


def iso_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 date-time (e.g. 2025-01-15T00:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def load(args: argparse.Namespace, explicit: str | None = None) -> tuple[Path, Policy]:
    path = settings.rules_file(explicit or args.rules)
    return path, load_policy(path)


def selected(policy: Policy, wanted: list[str] | None) -> list[ManagedGroup]:
    """The groups named by --group (all without it); an unknown id is an error."""
    if not wanted:
        return list(policy.groups)
    selection = select_groups(policy, wanted)
    for group_id in wanted:
        if group_id.strip().lower() in selection.unknown:
            raise UsageError(
                f"no group {group_id} in {policy.file}",
                "--group takes a group object id as written in the rules file",
            )
    return list(selection.groups)


def policy_for_jobs(args: argparse.Namespace, out: Output) -> tuple[Policy, list[str] | None]:
    """The rules file and the --group ids; problems are shown, groups with errors are reported
    by the run itself (they are not reconciled)."""
    _, policy = load(args)
    if not policy.groups:
        for problem in policy.problems:
            out.problem(problem)
        raise CommandError(f"no groups to reconcile in {policy.file}", "run check on the file")
    chosen = selected(policy, args.group)
    wanted = {g.id for g in chosen}
    for problem in policy.errors:
        if not args.group or problem.group_id in wanted:
            out.problem(problem)
    return policy, [g.id for g in chosen] if args.group else None
