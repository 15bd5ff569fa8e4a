"""The human report of a run (plan, apply, sync-user) and its progress line."""

from __future__ import annotations

import sys

from reconciler.cli.output import EXIT_OK, Output, count
from reconciler.service import GroupResult, RunReport

_ROWS = 20  # changes listed per group and direction in the text output; --json lists all


class Progress:
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


def print_report(out: Output, report: RunReport) -> None:
    if report.dry_run:
        out.say(out.paint("dry run: nothing is written", "warn"))
    for result in report.groups:
        out.say()
        _print_group(out, result)
    summary = report.summary()
    out.say()
    parts = [
        count(len(report.groups), "group"),
        f"{summary['adds']} to add, {summary['removes']} to remove",
    ]
    if not report.dry_run:
        parts.append(f"{summary['written']} written, {summary['failed']} failed")
    parts.append(f"{summary['held']} held, {summary['paused']} paused")
    parts.append(f"{summary['groupsWithErrors']} with errors")
    if report.users_listed is not None:
        parts.append(f"{count(report.users_listed, 'user')} listed")
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
        out.say(f"  left alone: {count(len(plan.non_user_members), 'non-user member')}")
    if plan.unlisted_members:
        out.say(
            f"  left alone: {count(len(plan.unlisted_members), 'member')} missing from the user "
            "listing"
        )
