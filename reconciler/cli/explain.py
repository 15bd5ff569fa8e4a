"""`explain`: clause by clause, why a user matches a rule or not; with --user-id also the
user's current membership and what a run would do."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reconciler import settings
from reconciler.cli.arguments import iso_datetime, load, object_id, read_user, selected
from reconciler.cli.connect import with_directory
from reconciler.cli.output import EXIT_ERRORS, EXIT_OK, CommandError, Output
from reconciler.directory import Directory
from reconciler.plan import decide, reason_for
from reconciler.plan.membership import direct_groups
from reconciler.policy import ManagedGroup
from reconciler.rules import Rule, RuleError, parse


def explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", metavar="TEXT", help="a rule to explain instead of groups")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--user",
        metavar="USER.json",
        help="the Graph user object as JSON (as GET /users/{id} returns it); - reads stdin",
    )
    who.add_argument(
        "--user-id",
        type=object_id,
        metavar="ID",
        help="read the user from Graph; also shows the current membership and the decision",
    )
    parser.add_argument(
        "--now",
        type=iso_datetime,
        metavar="DATETIME",
        help="the value of system.now (ISO-8601; default: the current time; no zone means UTC)",
    )


Target = tuple[ManagedGroup | None, Rule]  # the group (None for --rule) and its rule


def run_explain(args: argparse.Namespace, out: Output) -> int:
    if args.rule is not None and args.group:
        return out.fail("give either --rule or --group, not both")
    user = read_user(args.user) if args.user is not None else {}
    targets: list[Target]
    broken: list[ManagedGroup] = []
    if args.rule is not None:
        targets = [(None, _parse_rule(args.rule))]
    else:
        targets, broken = _group_targets(args, out)
    memberships: set[str] | None = None
    if args.user_id is not None:
        user, memberships = _directory_user(args, [rule for _, rule in targets])
    explained = []
    for n, target in enumerate(targets):
        if n:
            out.say()
        explained.append(_explain_one(args, out, target, user, memberships))
    out.document(explained[0] if len(explained) == 1 else {"results": explained})
    return EXIT_ERRORS if broken else EXIT_OK


def _parse_rule(text: str) -> Rule:
    try:
        return parse(text)
    except RuleError as error:
        raise CommandError(
            str(error),
            error.hint or "fix the rule; `check` validates a whole rules file",
            kind=error.kind,
            position=error.position,
        ) from error


def _group_targets(
    args: argparse.Namespace, out: Output
) -> tuple[list[Target], list[ManagedGroup]]:
    """The chosen groups with a valid rule, and those without one (shown, then skipped; an
    error when they were asked for by --group or nothing else is left)."""
    _, policy = load(args)
    if not policy.groups and policy.problems:
        for problem in policy.problems:
            out.problem(problem)
        raise CommandError(f"cannot explain: {policy.file} has errors")
    targets: list[Target] = []
    broken: list[ManagedGroup] = []
    for group in selected(policy, args.group):
        if group.rule is None:
            broken.append(group)
        else:
            targets.append((group, group.rule))
    if broken:
        for problem in (p for g in broken for p in g.problems):
            out.problem(problem)
        names = ", ".join(g.display_name for g in broken)
        if args.group or not targets:
            raise CommandError(f"no valid rule in: {names}", "run check on the rules file")
        print(f"skipped (no valid rule): {names}", file=sys.stderr)
    return targets, broken


def _explain_one(
    args: argparse.Namespace,
    out: Output,
    target: Target,
    user: dict[str, Any],
    memberships: set[str] | None,
) -> dict[str, Any]:
    """Print one rule's explanation for the user and return its --json data."""
    group, rule = target
    try:
        explanation = rule.explain(user, now=args.now)
    except RuleError as error:
        raise CommandError(f"{group.display_name if group else 'rule'}: {error}") from error
    if group is not None:
        out.say(out.paint(f"{group.display_name} ({group.id})", "bold"))
    out.say(str(explanation))
    data = dict(explanation.to_dict())
    data.setdefault("rule", rule.text)
    data["group"] = None if group is None else {"id": group.id, "name": group.name}
    if memberships is not None:
        data["userId"] = user.get("id")
        if group is not None:
            data.update(_membership(out, group, user, explanation, memberships, args.now))
    return data


def _directory_user(args: argparse.Namespace, rules: Sequence[Any]) -> tuple[dict, set[str]]:
    """The user as Graph returns it (with what the rules read) and the ids of the groups the
    user is a direct member of."""
    config = settings.Settings.from_env()
    select = frozenset({"id"}).union(*(r.select for r in rules))
    needs_manager = any(r.needs_manager for r in rules)

    async def read(directory: Directory) -> dict | None:
        found = await directory.users([args.user_id], select, manager=needs_manager, member_of=True)
        return next(iter(found.values()), None) if found else None

    user = with_directory(args, config, read)
    if user is None:
        raise CommandError(
            f"no user {args.user_id} in the directory", "--user-id takes a user object id"
        )
    return user, direct_groups(user)


def _membership(
    out: Output,
    group: ManagedGroup,
    user: dict,
    explanation: Any,
    memberships: set[str],
    now: datetime | None,
) -> dict[str, Any]:
    """Print and return the current membership and what a run would do, as the planner decides."""
    user_id = str(user.get("id", ""))
    decision = decide(group, user_id, explanation.result is True, explanation.error)
    member = group.id in memberships
    reason = reason_for(decision, group, user, now)
    if decision.member is None or decision.member == member:
        action = None
        verdict = f"no change ({'member' if member else 'not a member'})"
    else:
        action = "add" if decision.member else "remove"
        verdict = f"would {action}"
    if group.paused and action:
        verdict += " (the group is paused: no write)"
    out.say(f"  member now: {'yes' if member else 'no'} · decision: {verdict}")
    out.say(f"  reason: {reason}")
    return {
        "member": member,
        "decision": {
            "action": action,
            "member": decision.member,
            "basis": decision.basis,
            "reason": reason,
            "paused": group.paused,
        },
    }
