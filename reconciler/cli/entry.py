"""The command line, `python -m reconciler COMMAND`: parses arguments and prints results.

Adding a command takes a function that adds its arguments, a function that runs it, and one
line in COMMANDS. Every command gets --rules, --group and --json. With --json, stdout carries
exactly one JSON document and everything meant for people goes to stderr.

Exit codes: 0 done, 1 errors, 2 usage, 3 held by the guard (and no errors).

Commands that read the directory (plan, apply, sync-user, explain --user-id) open it through
a factory, `reconciler.graph.open_directory(settings)` unless `main()` is given another (tests
pass an in-memory one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TextIO

from reconciler import cli_holds, settings
from reconciler.directory import Directory, DirectoryError
from reconciler.plan import decide, reason_for
from reconciler.policy import (
    ExampleResult,
    ManagedGroup,
    Policy,
    Problem,
    load_policy,
    run_examples,
)
from reconciler.rules import RuleError, parse
from reconciler.service import GroupResult, RunReport, reconcile_all, reconcile_users
from reconciler.state import HoldError, StateUnavailable

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_HELD = 0, 1, 2, 3

DirectoryFactory = Callable[[settings.Settings], AbstractAsyncContextManager[Directory]]


# --- output ---------------------------------------------------------------------------------


class Output:
    """Where a command writes: results to stdout, or with --json one document to stdout and
    the human text to stderr. Colour only on a terminal, and never with NO_COLOR set."""

    _COLOURS: ClassVar[dict[str, str]] = {
        "ok": "32",
        "bad": "31",
        "warn": "33",
        "dim": "2",
        "bold": "1",
    }

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.stream: TextIO = sys.stderr if json_mode else sys.stdout
        self.colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            "✓✗".encode(encoding)
            self.marks = {"ok": "✓", "bad": "✗"}
        except (UnicodeEncodeError, LookupError):
            self.marks = {"ok": "ok", "bad": "x"}

    def say(self, text: str = "") -> None:
        print(text, file=self.stream)

    def paint(self, text: str, style: str) -> str:
        return f"\033[{self._COLOURS[style]}m{text}\033[0m" if self.colour else text

    def mark(self, ok: bool) -> str:
        return self.paint(self.marks["ok"], "ok") if ok else self.paint(self.marks["bad"], "bad")

    def document(self, data: object) -> None:
        if self.json_mode:
            json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
            sys.stdout.write("\n")

    def fail(self, message: str, hint: str = "", **details: object) -> int:
        """Report an error that ends the command; with --json the document is
        {"ok": false, "error": ..., "hint": ..., **details}."""
        print(self.paint("error: ", "bad") + message, file=sys.stderr)
        if hint:
            print(f"  hint: {hint}", file=sys.stderr)
        self.document({"ok": False, "error": message, "hint": hint or None, **details})
        return EXIT_ERRORS

    def problem(self, problem: Problem) -> None:
        head, _, rest = str(problem).partition("\n")
        style = "bad" if problem.is_error else "warn"
        self.say(self.paint(head, style))
        excerpt = _excerpt(problem)
        if excerpt:
            self.say(excerpt)
        if rest:
            self.say(self.paint(rest, "dim"))


def _excerpt(problem: Problem, width: int = 100) -> str:
    """The file's line at the problem, with a caret under the column."""
    if problem.line <= 0:
        return ""
    try:
        lines = Path(problem.file).read_text(encoding="utf-8-sig").splitlines()
        line = lines[problem.line - 1].replace("\t", " ")
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    column = max(problem.column - 1, 0)
    if len(line) > width:  # show a window around the column of a long rule
        start = max(0, min(column - width // 2, len(line) - width))
        prefix = "…" if start else ""
        line = prefix + line[start : start + width] + ("…" if start + width < len(line) else "")
        column = column - start + len(prefix)
    return f"    {line}\n    {' ' * column}^"


# --- shared arguments -----------------------------------------------------------------------


def _read_user(source: str) -> dict[str, Any]:
    """A Graph user object from a JSON file, or from stdin when `source` is "-"."""
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise _CommandError(f"cannot read --user {where}: {error.strerror or error}") from error
    try:
        user = json.loads(text)
    except json.JSONDecodeError as error:
        raise _CommandError(
            f"--user {where}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    if not isinstance(user, dict):
        raise _CommandError(
            f"--user {where} holds {type(user).__name__}, not a Graph user object",
            "give one user as GET /users/{id} returns it",
        )
    return user


def _datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 date-time (e.g. 2025-01-15T00:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class _CommandError(Exception):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _load(args: argparse.Namespace, explicit: str | None = None) -> tuple[Path, Policy]:
    path = settings.rules_file(explicit or args.rules)
    return path, load_policy(path)


def _selected(policy: Policy, wanted: list[str] | None) -> list[ManagedGroup]:
    """The groups named by --group (all without it); an unknown id is an error."""
    if not wanted:
        return list(policy.groups)
    groups = []
    for group_id in wanted:
        group = policy.group(group_id)
        if group is None:
            raise _CommandError(
                f"no group {group_id} in {policy.file}",
                "--group takes a group object id as written in the rules file",
            )
        groups.append(group)
    return groups


# --- check ----------------------------------------------------------------------------------


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "rules_file", nargs="?", metavar="RULES_FILE", help="the rules file (same as --rules)"
    )


def _check(args: argparse.Namespace, out: Output) -> int:
    if args.rules_file and args.rules and args.rules_file != args.rules:
        out.fail("give the rules file once: as RULES_FILE or as --rules, not both")
        return EXIT_USAGE
    path, policy = _load(args, args.rules_file)
    groups = _selected(policy, args.group)
    chosen = {g.id for g in groups}
    problems = [p for p in policy.problems if not args.group or p.group_id in chosen]
    results = {id(g): run_examples(g) for g in groups}
    failures = [r for g in groups for r in results[id(g)] if not r.passed]
    summary = _check_summary(groups, problems, results)

    out.say(out.paint(f"{path}: {_count(len(policy.groups), 'group')}", "bold"))
    if groups:
        out.say()
    width = max((len(g.display_name) for g in groups), default=0)
    for group in groups:
        out.say(_group_line(out, group, results[id(group)], width))
    for problem in problems:
        out.say()
        out.problem(problem)
    for result in failures:
        out.say()
        _print_failure(out, result)
    out.say()
    ok = summary["errors"] == 0 and summary["examplesFailed"] == 0
    out.say(f"{out.mark(ok)} " + _summary_line(summary))

    out.document(
        {
            "file": str(path),
            "ok": ok,
            "groups": [_group_json(g, results[id(g)]) for g in groups],
            "problems": [p.to_dict() for p in problems],
            "summary": summary,
        }
    )
    return EXIT_OK if ok else EXIT_ERRORS


def _group_line(
    out: Output, group: ManagedGroup, results: Sequence[ExampleResult], width: int
) -> str:
    passed = sum(r.passed for r in results)
    errors = sum(p.is_error for p in (*group.problems, *group.example_problems))
    if group.rule is None:
        parts = [out.paint("rule has errors", "bad")]
        if group.examples:
            parts.append("examples not run")
    elif not group.examples:
        missing = "no runnable examples" if group.example_problems else "no examples"
        parts = [out.paint(missing, "dim")]
    else:
        text = f"{passed}/{len(results)} examples passed"
        parts = [text if passed == len(results) else out.paint(text, "bad")]
    if errors:
        parts.append(out.paint(_count(errors, "error"), "bad"))
    if group.paused:
        parts.append(out.paint("paused", "warn"))
    ok = _group_ok(group, results)
    name = f"{group.display_name:<{width}}"
    return f"  {out.mark(ok)} {name}  {group.id or '-':<36}  {', '.join(parts)}"


def _print_failure(out: Output, result: ExampleResult) -> None:
    example, group = result.example, result.group
    what = f"{group.display_name}, example {example.label!r}"
    if result.error:
        verdict = f"could not decide: {result.error}"
    else:
        verdict = f"expected {_bool(example.expect)}, got {_bool(result.actual)}"
    out.say(out.paint(f"{example.location}: {what}: {verdict}", "bad"))
    if example.now is not None:
        out.say(f"    (system.now = {example.now.isoformat()})")
    if result.explanation is not None:
        for line in str(result.explanation).splitlines():
            out.say(f"    {line}")


def _group_ok(group: ManagedGroup, results: Sequence[ExampleResult]) -> bool:
    """Ready to deploy: nothing wrong with the group or its examples, every example passes."""
    return (
        group.ok
        and not any(p.is_error for p in group.example_problems)
        and all(r.passed for r in results)
    )


def _check_summary(
    groups: Sequence[ManagedGroup],
    problems: Sequence[Problem],
    results: dict[int, tuple[ExampleResult, ...]],
) -> dict[str, int]:
    every = [r for g in groups for r in results[id(g)]]
    return {
        "groups": len(groups),
        "groupsOk": sum(_group_ok(g, results[id(g)]) for g in groups),
        "paused": sum(g.paused for g in groups),
        "errors": sum(p.is_error for p in problems),
        "warnings": sum(not p.is_error for p in problems),
        "examplesPassed": sum(r.passed for r in every),
        "examplesFailed": sum(not r.passed for r in every),
        "examplesNotRun": sum(len(g.examples) for g in groups if g.rule is None),
    }


def _summary_line(summary: dict[str, int]) -> str:
    parts = [
        f"{summary['groupsOk']} of {_count(summary['groups'], 'group')} ok",
        f"{_count(summary['errors'], 'error')}, {_count(summary['warnings'], 'warning')}",
        f"examples: {summary['examplesPassed']} passed, {summary['examplesFailed']} failed",
    ]
    if summary["examplesNotRun"]:
        parts[-1] += f", {summary['examplesNotRun']} not run (rule has errors)"
    return " · ".join(parts)


def _group_json(group: ManagedGroup, results: Sequence[ExampleResult]) -> dict[str, Any]:
    return {
        "id": group.id or None,
        "name": group.name,
        "ok": _group_ok(group, results),
        "paused": group.paused,
        "rule": group.rule_text,
        "include": sorted(group.include),
        "exclude": sorted(group.exclude),
        "maxRemovalPercent": group.max_removal_percent,
        "line": group.location.line,
        "examples": [
            {
                "name": r.example.name,
                "source": r.example.source,
                "line": r.example.location.line,
                "expect": r.example.expect,
                "actual": r.actual,
                "passed": r.passed,
                "error": r.error,
                "explanation": r.explanation.to_dict() if r.explanation is not None else None,
            }
            for r in results
        ],
    }


# --- explain --------------------------------------------------------------------------------


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule", metavar="TEXT", help="a rule to explain instead of groups")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--user",
        metavar="USER.json",
        help="the Graph user object as JSON (as GET /users/{id} returns it); - reads stdin",
    )
    who.add_argument(
        "--user-id",
        metavar="ID",
        help="read the user from Graph; also shows the current membership and the decision",
    )
    parser.add_argument(
        "--now",
        type=_datetime,
        metavar="DATETIME",
        help="the value of system.now (ISO-8601; default: the current time; no zone means UTC)",
    )


def _explain(args: argparse.Namespace, out: Output) -> int:
    if args.rule is not None and args.group:
        return out.fail("give either --rule or --group, not both")
    user = _read_user(args.user) if args.user is not None else {}
    targets: list[tuple[ManagedGroup | None, Any]] = []
    broken: list[ManagedGroup] = []
    if args.rule is not None:
        try:
            targets.append((None, parse(args.rule)))
        except RuleError as error:
            return out.fail(
                str(error),
                "fix the rule; `check` validates a whole rules file",
                kind=error.kind,
                position=error.position,
            )
    else:
        _, policy = _load(args)
        if not policy.groups and policy.problems:
            for problem in policy.problems:
                out.problem(problem)
            return out.fail(f"cannot explain: {policy.file} has errors")
        for group in _selected(policy, args.group):
            if group.rule is None:
                broken.append(group)
            else:
                targets.append((group, group.rule))
        if broken:
            for problem in (p for g in broken for p in g.problems):
                out.problem(problem)
            names = ", ".join(g.display_name for g in broken)
            if args.group or not targets:
                return out.fail(f"no valid rule in: {names}", "run check on the rules file")
            print(f"skipped (no valid rule): {names}", file=sys.stderr)

    memberships: set[str] | None = None
    if args.user_id is not None:
        user, memberships = _directory_user(args, [rule for _, rule in targets])
    explained = []
    for n, (group, rule) in enumerate(targets):
        try:
            explanation = rule.explain(user, now=args.now)
        except RuleError as error:
            return out.fail(f"{group.display_name if group else 'rule'}: {error}")
        if n:
            out.say()
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
        explained.append(data)
    out.document(explained[0] if len(explained) == 1 else {"results": explained})
    return EXIT_ERRORS if broken else EXIT_OK


def _directory_user(args: argparse.Namespace, rules: Sequence[Any]) -> tuple[dict, set[str]]:
    """The user as Graph returns it (with what the rules read) and the ids of the groups the
    user is a direct member of."""
    config = settings.Settings.from_env()
    select = frozenset({"id"}).union(*(r.select for r in rules))
    needs_manager = any(r.needs_manager for r in rules)

    async def read(directory: Directory) -> dict | None:
        found = await directory.users([args.user_id], select, manager=needs_manager, member_of=True)
        return next(iter(found.values()), None) if found else None

    user = _with_directory(args, config, read)
    if user is None:
        raise _CommandError(
            f"no user {args.user_id} in the directory", "--user-id takes a user object id"
        )
    memberships = {
        str(entry.get("id", "")).lower()
        for entry in user.get("memberOf") or ()
        if entry.get("@odata.type", "#microsoft.graph.group") == "#microsoft.graph.group"
    }
    return user, memberships


def _membership(
    out: Output,
    group: ManagedGroup,
    user: dict,
    explanation: Any,
    memberships: set[str],
    now: datetime | None,
) -> dict[str, Any]:
    """Print and return the current membership and what a run would do, as the planner decides."""
    user_id = str(user.get("id", "")).lower()
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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _bool(value: bool | None) -> str:
    return "undecided" if value is None else str(value).lower()


# --- plan, apply, sync-user ------------------------------------------------------------------

_ROWS = 20  # changes listed per group and direction in the text output; --json lists all


def _open_graph_directory(config: settings.Settings) -> AbstractAsyncContextManager[Directory]:
    # Imported here: check and explain (without --user-id) must not load the Graph SDK.
    from reconciler.graph import open_directory

    return open_directory(config)


def _with_directory(
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
        raise _CommandError(
            f"Graph: {error}{detail}", "check GRAPH_BASE_URL and GRAPH_CREDENTIAL"
        ) from error


class _Progress:
    """A one-line counter on stderr, redrawn with a carriage return; only on a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.width = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.live:
            return
        text = f"{stage}: {done}" + (f"/{total}" if total else "")
        self.width = max(self.width, len(text))
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()

    def close(self) -> None:
        if self.live and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _policy_for_jobs(args: argparse.Namespace, out: Output) -> tuple[Policy, list[str] | None]:
    """The rules file and the --group ids; problems are shown, groups with errors are reported
    by the run itself (they are not reconciled)."""
    _, policy = _load(args)
    if not policy.groups:
        for problem in policy.problems:
            out.problem(problem)
        raise _CommandError(f"no groups to reconcile in {policy.file}", "run check on the file")
    chosen = _selected(policy, args.group)
    wanted = {g.id for g in chosen}
    for problem in policy.errors:
        if not args.group or problem.group_id in wanted:
            out.problem(problem)
    return policy, [g.id for g in chosen] if args.group else None


def _apply_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="release groups the guard would hold (same as ALLOW_MASS_REMOVAL=true)",
    )


def _plan(args: argparse.Namespace, out: Output) -> int:
    return _reconcile(args, out, dry_run=True)


def _apply(args: argparse.Namespace, out: Output) -> int:
    return _reconcile(args, out, dry_run=False)


def _reconcile(args: argparse.Namespace, out: Output, *, dry_run: bool) -> int:
    policy, group_ids = _policy_for_jobs(args, out)
    config = settings.Settings.from_env()
    progress = _Progress()
    allow = True if getattr(args, "allow_mass_removal", False) else None
    try:
        report = _with_directory(
            args,
            config,
            lambda directory, state=None: reconcile_all(
                directory,
                policy,
                config,
                group_ids=group_ids,
                dry_run=dry_run,
                cause="cli",
                allow_mass_removal=allow,
                progress=progress,
                state=state,
            ),
            with_state=not (dry_run or config.dry_run),
        )
    finally:
        progress.close()
    _print_report(out, report)
    out.document(report.to_json())
    return report.exit_code


def _sync_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_ids", nargs="+", metavar="USER_ID", help="user object ids")


def _sync_user(args: argparse.Namespace, out: Output) -> int:
    policy, group_ids = _policy_for_jobs(args, out)
    if group_ids is not None:
        policy = replace(policy, groups=tuple(g for g in policy.groups if g.id in group_ids))
    config = settings.Settings.from_env()
    report = _with_directory(
        args,
        config,
        lambda directory, state=None: reconcile_users(
            directory, policy, config, args.user_ids, cause="cli", state=state
        ),
        with_state=not config.dry_run,
    )
    for user_id in report.skipped_users:
        out.say(out.paint(f"skipped {user_id}: no such user in the directory", "warn"))
    _print_report(out, report)
    out.document(report.to_json())
    return report.exit_code


def _print_report(out: Output, report: RunReport) -> None:
    if report.dry_run:
        out.say(out.paint("dry run: nothing is written", "warn"))
    for result in report.groups:
        out.say()
        _print_group(out, result)
    summary = report.summary()
    out.say()
    parts = [
        _count(len(report.groups), "group"),
        f"{summary['adds']} to add, {summary['removes']} to remove",
    ]
    if not report.dry_run:
        parts.append(f"{summary['written']} written, {summary['failed']} failed")
    parts.append(f"{summary['held']} held, {summary['paused']} paused")
    parts.append(f"{summary['groupsWithErrors']} with errors")
    if report.users_listed is not None:
        parts.append(f"{_count(report.users_listed, 'user')} listed")
    parts.append(f"{report.duration_seconds:.1f} s")
    ok = report.exit_code == EXIT_OK
    out.say(f"{out.mark(ok)} " + " · ".join(parts))
    if report.requests:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(report.requests.items()))
        out.say(out.paint(f"  Graph requests: {counts}", "dim"))
    if report.held:
        out.say(
            "  held removals wait in a hold: check the data, then `holds show ID` and `holds "
            "approve ID` (or apply --allow-mass-removal); exit code 3"
        )


_STATUS_STYLE = {"failed": "bad", "held": "warn", "paused": "warn", "unchanged": "dim"}


def _print_group(out: Output, result: GroupResult) -> None:
    plan = result.plan
    status = {"planned": "would change", "unchanged": "no changes"}.get(
        result.status, result.status
    )
    members = "" if plan.members is None else f" · {_count(plan.members, 'member')}"
    head = out.paint(f"{plan.name} ({plan.group_id})", "bold")
    label = out.paint(status, _STATUS_STYLE.get(result.status, "ok"))
    out.say(f"{head}  {label} · +{len(plan.adds)} −{len(plan.removes)}{members}")
    failed = {f.user_id: f.reason for f in result.failures}
    for sign, changes in (("+", plan.adds), ("−", plan.removes)):
        for change in changes[:_ROWS]:
            note = (
                out.paint(f"  [failed: {failed[change.user_id]}]", "bad")
                if (change.user_id in failed)
                else ""
            )
            out.say(f"  {sign} {change.user_id}  {change.reason}{note}")
        if len(changes) > _ROWS:
            out.say(
                out.paint(f"  {sign} … and {len(changes) - _ROWS} more (--json lists all)", "dim")
            )
    for reason in plan.guard.reasons:
        verdict = "held" if plan.held else "released (mass removal allowed)"
        out.say(out.paint(f"  {verdict}: {reason}", "warn"))
    if plan.deferred:
        where = f"in hold {plan.hold_id}" if plan.hold_id else "withheld, retried later"
        out.say(
            out.paint(f"  {len(plan.deferred)} removals over the removal budget: {where}", "warn")
        )
    for error in result.plan.error_texts:
        out.say(out.paint(f"  error: {error}", "bad"))
    if plan.non_user_members:
        out.say(f"  left alone: {_count(len(plan.non_user_members), 'non-user member')}")
    if plan.unlisted_members:
        out.say(
            f"  left alone: {_count(len(plan.unlisted_members), 'member')} missing from the user "
            "listing"
        )


# --- the parser -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Output], int]


COMMANDS = (
    Command(
        "check",
        "validate the rules file and run every group's examples",
        "Validate every group of the rules file (file:line:column for each problem) and run "
        "each group's examples. Exit 0 when everything passes, 1 otherwise.",
        _check_arguments,
        _check,
    ),
    Command(
        "explain",
        "show, clause by clause, why a user matches a rule or not",
        "Explain a rule's decision for one user: every clause with the user's value, the "
        "operator, the operand and the result. With --rule, the given rule; with --group, "
        "that group's rule from the rules file; with neither, every group in the file (groups "
        "whose rule does not compile are skipped and the exit code is 1). "
        '--json prints the explanation\'s data (with "rule" and "group" added), or '
        '{"results": [...]} when several groups are explained.',
        _explain_arguments,
        _explain,
    ),
    Command(
        "plan",
        "show what apply would change, with reasons (a dry run)",
        "Read every managed group (or those given with --group) and all users from Graph, and "
        "show per group the users to add and remove with the reason for each, the groups the "
        "guard would hold, and errors. Nothing is written. Exit 0, 1 errors, 3 held.",
        lambda parser: None,
        _plan,
    ),
    Command(
        "apply",
        "reconcile the managed groups: plan, guard, then write",
        "Like plan, then write the changes (20 adds per request, batched removals, paced). A "
        "group the guard holds (removals above MAX_REMOVAL_PERCENT of its members and above "
        "REMOVAL_FLOOR, or fewer than MIN_EXPECTED_USERS users listed) gets no writes at all; "
        "--allow-mass-removal releases it. Paused groups are planned, never written. DRY_RUN="
        "true makes apply a plan. Exit 0 done, 1 errors, 3 held.",
        _apply_arguments,
        _apply,
    ),
    Command(
        "sync-user",
        "re-evaluate users now and fix their memberships",
        "Read the given users and their direct memberships from Graph, evaluate every managed "
        "group's rule, and apply only the differences (the queue worker's job, by hand). A user "
        "that no longer exists is skipped. Exit 0 done, 1 errors, 3 held.",
        _sync_user_arguments,
        _sync_user,
    ),
    Command(
        "holds",
        "list, show, approve or reject held removals",
        "Removals over a group's removal budget (MAX_REMOVAL_PERCENT of its members per "
        "REMOVAL_WINDOW_MINUTES, at least REMOVAL_FLOOR; MAX_TENANT_REMOVALS_PER_WINDOW in all), "
        "and groups a full run's guard held, wait in the group's pending hold. `holds list "
        "[--status S]`, `holds show ID`, `holds approve ID [--by NAME]` (re-reads the users "
        "now and removes only those the rules still remove), `holds reject ID [--by NAME]` "
        "(removes nobody; the next run that wants them removed holds them again). Needs "
        "AzureWebJobsStorage. --json: one document.",
        cli_holds.holds_arguments,
        cli_holds.run_holds,
    ),
    Command(
        "status",
        "per group: members, last verified, lag, last change, pending hold, last error",
        "What the state store knows of every managed group; a group not verified by a full run "
        "within two FULL_RECONCILE_SCHEDULE periods is flagged STALE. Exit 0, 3 when a hold "
        "is pending. Needs AzureWebJobsStorage.",
        cli_holds.status_arguments,
        cli_holds.run_status,
    ),
    Command(
        "history",
        "membership changes and held removals, newest first, with cause and correlation id",
        "The change history (kept HISTORY_DAYS days): one entry per membership written or "
        "removal held, with its result, reason, cause, correlation id and who approved. "
        "--group narrows it; --days how far back (default 1), --limit how many (default 50).",
        cli_holds.history_arguments,
        cli_holds.run_history,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--rules",
        metavar="FILE",
        help="the rules file (default: $RULES_FILE, a relative path meaning next to "
        "function_app.py; else rules.toml next to function_app.py)",
    )
    common.add_argument(
        "--group",
        action="append",
        metavar="ID",
        help="only this group (object id); repeatable",
    )
    common.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout; human-readable text goes to stderr",
    )
    parser = argparse.ArgumentParser(
        prog="python -m reconciler",
        description="Keep Entra ID group memberships in line with dynamic-membership rules.",
        epilog="Settings come from the environment, then local.settings.json (Values) next to "
        "function_app.py. Exit codes: 0 done, 1 errors, 2 usage, 3 held by the guard.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, parents=[common], help=command.help, description=command.description
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    directory_factory: DirectoryFactory | None = None,
    state_factory: cli_holds.StateFactory | None = None,
) -> int:
    """Run one command; `directory_factory` replaces Graph (tests give an in-memory one),
    `state_factory` the table store."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # argparse: --help (0) or a usage error (2)
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    args.directory_factory = directory_factory or _open_graph_directory
    args.state_factory = state_factory or cli_holds.open_cli_state
    out = Output(args.json)
    try:
        settings.load_local_settings()
        return args.run(args, out)
    except settings.SettingsError as error:
        return out.fail(str(error))
    except _CommandError as error:
        return out.fail(error.message, error.hint)
    except HoldError as error:
        return out.fail(str(error), "see `holds list`")
    except StateUnavailable as error:
        return out.fail(f"state store: {error}", "check AzureWebJobsStorage and the storage")
    except DirectoryError as error:
        return out.fail(f"Graph: {error}", "check GRAPH_BASE_URL and GRAPH_CREDENTIAL")
