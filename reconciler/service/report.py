"""What a run did: per-group plans and write results, the summary, exit code and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.plan import GroupPlan, MembershipChange
from reconciler.plan.model import Fault
from reconciler.service.outcome import Outcome, judge_faults

EXIT_OK, EXIT_ERRORS, EXIT_HELD = 0, 1, 3

Status = Literal["unchanged", "planned", "written", "paused", "held", "failed"]


@dataclass(frozen=True, slots=True)
class WriteFailure:
    """A change Graph did not make, with Graph's reason (or the whole call's error)."""

    group_id: str
    user_id: str
    action: str
    reason: str


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One group's plan and what became of it. `written` are changes the directory confirmed
    (including "already a member" / "not a member", which count as done)."""

    plan: GroupPlan
    dry_run: bool = False
    written: tuple[MembershipChange, ...] = ()
    failures: tuple[WriteFailure, ...] = ()

    @property
    def errors(self) -> tuple[str, ...]:
        failed = tuple(f"{f.action} {f.user_id} failed: {f.reason}" for f in self.failures)
        return self.plan.error_texts + failed

    @property
    def faults(self) -> frozenset[Fault]:
        """The plan's passing faults, and "directory" when a write did not land."""
        return self.plan.faults | {"directory"} if self.failures else self.plan.faults

    @property
    def status(self) -> Status:
        plan = self.plan
        if plan.errors and not plan.changes:
            return "failed"
        if plan.paused:
            return "paused"
        if plan.held or (plan.hold_id and not plan.changes):
            return "held"  # by the guard, or every change it wanted went into the hold
        if not plan.changes:
            return "unchanged"
        return "planned" if self.dry_run else "written"

    def to_json(self) -> dict[str, object]:
        plan = self.plan
        return {
            "id": plan.group_id,
            "name": plan.name,
            "status": self.status,
            "paused": plan.paused,
            "held": plan.held,
            "guard": plan.guard.to_json(),
            "members": plan.members,
            "adds": [c.user_id for c in plan.adds],
            "removes": [c.user_id for c in plan.removes],
            "reasons": {c.user_id: c.reason for c in plan.changes + plan.deferred},
            "written": [c.user_id for c in self.written],
            "deferred": [c.user_id for c in plan.deferred],
            "holdId": plan.hold_id or None,
            "failed": {f.user_id: f.reason for f in self.failures},
            "nonUserMembers": list(plan.non_user_members),
            "unlistedMembers": list(plan.unlisted_members),
            "errors": list(self.errors),
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run of a job. `users_listed` is the full listing's size (None on the incremental
    path); `skipped_users` are ids that no longer exist; `requests` are Graph requests by kind
    when the directory counts them."""

    cause: str
    correlation_id: str
    dry_run: bool
    groups: tuple[GroupResult, ...]
    duration_seconds: float
    users_listed: int | None = None
    users_read: int = 0
    skipped_users: tuple[str, ...] = ()
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return any(g.errors for g in self.groups)

    @property
    def held(self) -> tuple[GroupResult, ...]:
        """Groups the guard held, and groups with removals put into a pending hold."""
        return tuple(g for g in self.groups if g.plan.held or g.plan.hold_id)

    @property
    def outcome(self) -> Outcome:
        """Done, retry later (a directory or state store fault), held, or failed: decided from
        the groups' typed faults, never from error texts."""
        return judge_faults(
            (fault for g in self.groups for fault in g.faults),
            errors=(e for g in self.groups for e in g.errors),
            held=(g.plan.name or g.plan.group_id for g in self.held),
        )

    @property
    def exit_code(self) -> int:
        """0 done, 1 errors (also with holds), 3 held by the guard and no errors."""
        if self.has_errors:
            return EXIT_ERRORS
        return EXIT_HELD if self.held else EXIT_OK

    def summary(self) -> dict[str, object]:
        groups = self.groups
        return {
            "groups": len(groups),
            "adds": sum(len(g.plan.adds) for g in groups),
            "removes": sum(len(g.plan.removes) for g in groups),
            "written": sum(len(g.written) for g in groups),
            "failed": sum(len(g.failures) for g in groups),
            "held": sum(g.plan.held for g in groups),
            "deferred": sum(len(g.plan.deferred) for g in groups),
            "holds": sorted({g.plan.hold_id for g in groups if g.plan.hold_id}),
            "paused": sum(g.plan.paused for g in groups),
            "groupsWithErrors": sum(bool(g.errors) for g in groups),
            "undecided": sum(len(g.plan.undecided) for g in groups),
            "usersListed": self.users_listed,
            "usersRead": self.users_read,
            "skippedUsers": list(self.skipped_users),
            "dryRun": self.dry_run,
            "cause": self.cause,
            "correlationId": self.correlation_id,
            "durationSeconds": round(self.duration_seconds, 3),
            "requests": dict(self.requests),
            "exitCode": self.exit_code,
        }

    def per_group_counts(self) -> dict[str, dict[str, object]]:
        return {
            g.plan.group_id: {
                "adds": len(g.plan.adds),
                "removes": len(g.plan.removes),
                "written": len(g.written),
                "deferred": len(g.plan.deferred),
                "failed": len(g.failures),
                "status": g.status,
                "errors": len(g.errors),
            }
            for g in self.groups
        }

    def to_json(self) -> dict[str, object]:
        return {"groups": [g.to_json() for g in self.groups], "summary": self.summary()}
