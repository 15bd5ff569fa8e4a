"""How one run may act, worked out once by whoever starts it (a trigger, the CLI, the worker).

options = RunOptions.from_settings(settings, dry_run=args.dry_run, allow_mass_removal=True,
                                   group_ids=["<group id>"])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from reconciler.plan import GuardLimits
from reconciler.plan.budget import BudgetLimits
from reconciler.settings import Settings


@dataclass(frozen=True, slots=True)
class RunOptions:
    """`dry_run`: plan and log, never write (the DRY_RUN setting or the caller's wish).
    `guard`: this run's own guard, with ALLOW_MASS_REMOVAL or --allow-mass-removal folded
    in. `budget`: the shared removal budget's limits. `group_ids`: the groups asked for
    (None: every managed group)."""

    dry_run: bool = False
    guard: GuardLimits = field(default_factory=GuardLimits)
    budget: BudgetLimits = field(default_factory=BudgetLimits)
    group_ids: tuple[str, ...] | None = None
    history_days: int = 30

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        dry_run: bool = False,
        allow_mass_removal: bool = False,
        group_ids: Iterable[str] | None = None,
    ) -> RunOptions:
        return cls(
            dry_run=dry_run or settings.dry_run,
            guard=GuardLimits(
                max_removal_percent=settings.max_removal_percent,
                removal_floor=settings.removal_floor,
                min_expected_users=settings.min_expected_users,
                allow_mass_removal=allow_mass_removal or settings.allow_mass_removal,
            ),
            budget=BudgetLimits(
                max_removal_percent=settings.max_removal_percent,
                removal_floor=settings.removal_floor,
                window_minutes=settings.removal_window_minutes,
                tenant_max=settings.max_tenant_removals_per_window,
            ),
            group_ids=None if group_ids is None else tuple(group_ids),
            history_days=settings.history_days,
        )

    @property
    def spends_budget(self) -> bool:
        """Removals spend the shared budget unless nothing is written or mass removal is
        allowed (an operator's release)."""
        return not self.dry_run and not self.guard.allow_mass_removal
