"""The human report of a run (plan, apply, sync-user) and its progress line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, TextIO

from reconciler.cli.audit_log import ChangeListener
from reconciler.cli.names import NameBook
from reconciler.cli.output import EXIT_OK, Output, count, shorten
from reconciler.service import GroupResult, RunReport

_ROWS = 20  # changes listed per group and direction in the text output; --json lists all


class Progress:
    """One line on stderr, redrawn with a carriage return, only on a terminal: groups read,
    users listed, and for a run that writes, groups done and memberships written so far (from
    the audit records, which come per write, so a long group shows movement too). A plan has
    no writes counter."""

    _LABELS: ClassVar[dict[str, str]] = {
        "groups": "groups read",
        "users": "users listed",
        "writes": "groups written",
    }

    def __init__(self, *, writes: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.writes = writes
        self.stages: dict[str, str] = {}
        self.written = 0
        self.width = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage == "writes" and not self.writes:
            return
        self.stages[stage] = f"{done}/{total}" if total else str(done)
        self._draw()

    def change(self, record: dict[str, object]) -> None:
        if record.get("result") == "done":
            self.written += 1
            self._draw()

    def line(self) -> str:
        parts = [f"{self._LABELS.get(name, name)} {value}" for name, value in self.stages.items()]
        if self.writes and self.written:
            parts.append(f"{self.written} memberships written")
        return " · ".join(parts)

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        """Count writes while the run lasts, then clear the line."""
        try:
            with ChangeListener(self.change).attached():
                yield self
        finally:
            if self.live and self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()

    def _draw(self) -> None:
        if not self.live:
            return
        text = self.line()
        self.width = max(self.width, len(text))
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()


def print_report(out: Output, report: RunReport, names: NameBook | None = None) -> None:
    if report.dry_run:
        out.say(out.paint("dry run: nothing is written", "warn"))
    for result in report.groups:
        out.say()
        _print_group(out, result, names)
    out.say()
    out.say(f"{out.mark(report.exit_code == EXIT_OK)} " + " · ".join(_summary_parts(report)))
    if report.requests:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(report.requests.items()))
        out.say(out.paint(f"  Graph requests: {counts}", "dim"))
    if report.held:
        out.say(
            "  held removals wait in a hold: check the data, then `holds show ID` and `holds "
            "approve ID` (or apply --allow-mass-removal); exit code 3"
        )


def totals(report: RunReport) -> dict[str, int]:
    """Adds and removes of the groups that get written; a paused or held group's planned
    changes are counted apart, so `written` can be checked against adds + removes."""
    groups = report.groups
    writable = [g for g in groups if g.plan.writable]
    held = [g for g in groups if g.plan.held and not g.plan.paused]
    paused = [g for g in groups if g.plan.paused]
    return {
        "adds": sum(len(g.plan.adds) for g in writable),
        "removes": sum(len(g.plan.removes) for g in writable),
        "heldGroups": len(held),
        "heldChanges": sum(len(g.plan.changes) for g in held),
        "pausedGroups": len(paused),
        "pausedChanges": sum(len(g.plan.changes) for g in paused),
    }


def _summary_parts(report: RunReport) -> list[str]:
    summary, sums = report.summary(), totals(report)
    parts = [
        count(len(report.groups), "group"),
        f"{sums['adds']} to add, {sums['removes']} to remove",
    ]
    if not report.dry_run:
        parts.append(f"{summary['written']} written, {summary['failed']} failed")
    for label in ("held", "paused"):
        unwritten = sums[f"{label}Changes"]
        parts.append(
            f"{sums[f'{label}Groups']} {label}"
            + (f" ({unwritten} changes not written)" if unwritten else "")
        )
    parts.append(f"{summary['groupsWithErrors']} with errors")
    if report.users_listed is not None:
        parts.append(f"{count(report.users_listed, 'user')} listed")
    parts.append(f"{report.duration_seconds:.1f} s")
    return parts


def report_document(report: RunReport, names: NameBook | None) -> dict[str, object]:
    """The --json document: the run's own, `totals` (those of the text report) and `users`
    (names by id) unless --ids-only."""
    document = report.to_json()
    document["totals"] = totals(report)
    if names is not None:
        ids = {c.user_id for g in report.groups for c in (*g.plan.changes, *g.plan.deferred)}
        document["users"] = names.document(sorted(ids))
    return document


_STATUS_STYLE = {"failed": "bad", "held": "warn", "paused": "warn", "unchanged": "dim"}


def _print_group(out: Output, result: GroupResult, names: NameBook | None) -> None:
    plan = result.plan
    status = {"planned": "would change", "unchanged": "no changes"}.get(
        result.status, result.status
    )
    members = "" if plan.members is None else f" · {count(plan.members, 'member')}"
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
            who = names.label(change.user_id) if names is not None else ""
            who = f"  {who}" if who else ""
            out.say(f"  {sign} {change.user_id}{who}  {change.reason}{note}")
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
        out.say(out.paint(f"  error: {shorten(error)}", "bad"))
    if plan.non_user_members:
        out.say(f"  left alone: {count(len(plan.non_user_members), 'non-user member')}")
    if plan.unlisted_members:
        out.say(
            f"  left alone: {count(len(plan.unlisted_members), 'member')} missing from the user "
            "listing"
        )
