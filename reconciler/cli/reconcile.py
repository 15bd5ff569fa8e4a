"""`plan` and `apply`: every managed group (or those given with --group) against all users."""

from __future__ import annotations

import argparse

from reconciler import settings
from reconciler.cli.arguments import policy_for_jobs
from reconciler.cli.connect import with_directory
from reconciler.cli.output import Output
from reconciler.cli.report import Progress, print_report
from reconciler.service import reconcile_all


def apply_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="release groups the guard would hold (same as ALLOW_MASS_REMOVAL=true)",
    )


def run_plan(args: argparse.Namespace, out: Output) -> int:
    return _reconcile(args, out, dry_run=True)


def run_apply(args: argparse.Namespace, out: Output) -> int:
    return _reconcile(args, out, dry_run=False)


def _reconcile(args: argparse.Namespace, out: Output, *, dry_run: bool) -> int:
    policy, group_ids = policy_for_jobs(args, out)
    config = settings.Settings.from_env()
    progress = Progress()
    allow = True if getattr(args, "allow_mass_removal", False) else None
    try:
        report = with_directory(
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
    print_report(out, report)
    out.document(report.to_json())
    return report.exit_code
