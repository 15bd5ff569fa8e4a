"""`check`: validate the rules file (file:line:column per problem) and run every group's
examples."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from reconciler.cli.arguments import load, selected
from reconciler.cli.output import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, Output, bool_text, count
from reconciler.policy import ExampleResult, ManagedGroup, Problem, run_examples


def check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "rules_file", nargs="?", metavar="RULES_FILE", help="the rules file (same as --rules)"
    )


def run_check(args: argparse.Namespace, out: Output) -> int:
    if args.rules_file and args.rules and args.rules_file != args.rules:
        out.fail("give the rules file once: as RULES_FILE or as --rules, not both")
        return EXIT_USAGE
    path, policy = load(args, args.rules_file)
    groups = selected(policy, args.group)
    if not args.group:  # a repeated id is one more (failing) group of the file, not one fewer
        groups = sorted([*groups, *policy.duplicates], key=lambda g: g.location.line)
    chosen = {g.id for g in groups}
    problems = [p for p in policy.problems if not args.group or p.group_id in chosen]
    results = {id(g): run_examples(g) for g in groups}
    failures = [r for g in groups for r in results[id(g)] if not r.passed]
    summary = _check_summary(groups, problems, results)

    entries = len(policy.groups) + len(policy.duplicates)
    out.say(out.paint(f"{path}: {count(entries, 'group')}", "bold"))
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
    ok = summary["errors"] == 0 and summary["examplesFailed"] == 0 and bool(groups)
    out.say(f"{out.mark(ok)} " + _summary_line(summary))
    if not groups:
        out.say(out.paint(f"error: no groups in {path}: nothing was checked", "bad"))

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
        parts.append(out.paint(count(errors, "error"), "bad"))
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
        verdict = f"expected {bool_text(example.expect)}, got {bool_text(result.actual)}"
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
        f"{summary['groupsOk']} of {count(summary['groups'], 'group')} ok",
        f"{count(summary['errors'], 'error')}, {count(summary['warnings'], 'warning')}",
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
