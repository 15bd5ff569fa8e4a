"""`plan` and `apply`: every managed group (or those given with --group) against all users."""

from __future__ import annotations

import argparse

from reconciler import settings
from reconciler.cli.arguments import policy_for_jobs
from reconciler.cli.connect import with_directory
from reconciler.cli.names import ids_only_argument, name_book
from reconciler.cli.output import Output
from reconciler.cli.report import Progress, print_report, report_document
from reconciler.service import RunOptions, reconcile_all


def plan_arguments(parser: argparse.ArgumentParser) -> None:
    ids_only_argument(parser)


def apply_arguments(parser: argparse.ArgumentParser) -> None:
    ids_only_argument(parser)
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
    allow = bool(getattr(args, "allow_mass_removal", False))
    names = name_book(args)
    with Progress(writes=not (dry_run or config.dry_run)).shown() as progress:
        report = with_directory(
            args,
            config,
            lambda directory, state=None: reconcile_all(
                directory,
                policy,
                config,
                options=RunOptions.from_settings(
                    config, dry_run=dry_run, allow_mass_removal=allow, group_ids=group_ids
                ),
                cause="cli",
                progress=progress,
                state=state,
            ),
            with_state=not (dry_run or config.dry_run),
            names=names,
        )
    print_report(out, report, names)
    out.document(report_document(report, names))
    return report.exit_code
