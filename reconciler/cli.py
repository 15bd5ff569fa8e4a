"""The command line, `python -m reconciler COMMAND`: parses arguments and prints results.

Adding a command takes a function that adds its arguments, a function that runs it, and one
line in COMMANDS. Every command gets --rules, --group and --json. With --json, stdout carries
exactly one JSON document and everything meant for people goes to stderr.

Exit codes: 0 done, 1 errors, 2 usage, 3 held by the guard (and no errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TextIO

from reconciler import settings
from reconciler.policy import (
    ExampleResult,
    ManagedGroup,
    Policy,
    Problem,
    load_policy,
    run_examples,
)
from reconciler.rules import RuleError, parse

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_HELD = 0, 1, 2, 3


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
    parser.add_argument(
        "--user",
        metavar="USER.json",
        required=True,
        help="the Graph user object as JSON (as GET /users/{id} returns it); - reads stdin",
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
    user = _read_user(args.user)
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
        explained.append(data)
    out.document(explained[0] if len(explained) == 1 else {"results": explained})
    return EXIT_ERRORS if broken else EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _bool(value: bool | None) -> str:
    return "undecided" if value is None else str(value).lower()


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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # argparse: --help (0) or a usage error (2)
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    out = Output(args.json)
    try:
        settings.load_local_settings()
        return args.run(args, out)
    except settings.SettingsError as error:
        return out.fail(str(error))
    except _CommandError as error:
        return out.fail(error.message, error.hint)
