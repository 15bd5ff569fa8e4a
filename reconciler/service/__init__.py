"""The jobs: full and incremental reconciliation against a `Directory`, with a RunReport.

options = RunOptions.from_settings(settings, dry_run=True)   # built once by the caller
report = await reconcile_all(directory, policy, settings, options=options)
report = await reconcile_users(directory, policy, settings, ["<user id>"], cause="notification")
report.exit_code, report.to_json()
report.outcome   # done / retry later (directory or state) / held / failed: what callers act on
"""

from reconciler.service.full import chosen_groups, reconcile_all, reconcile_groups
from reconciler.service.incremental import reconcile_users
from reconciler.service.options import RunOptions
from reconciler.service.outcome import Outcome
from reconciler.service.report import (
    EXIT_ERRORS,
    EXIT_HELD,
    EXIT_OK,
    GroupResult,
    RunReport,
    WriteFailure,
)
from reconciler.service.run import Progress
from reconciler.service.subscription import (
    SubscriptionOutcome,
    UpkeepResult,
    ensure_subscription,
    renew_or_reauthorize,
    upkeep,
)

__all__ = [
    "EXIT_ERRORS",
    "EXIT_HELD",
    "EXIT_OK",
    "GroupResult",
    "Outcome",
    "Progress",
    "RunOptions",
    "RunReport",
    "SubscriptionOutcome",
    "UpkeepResult",
    "WriteFailure",
    "chosen_groups",
    "ensure_subscription",
    "reconcile_all",
    "reconcile_groups",
    "reconcile_users",
    "renew_or_reauthorize",
    "upkeep",
]
