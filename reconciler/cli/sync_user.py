"""`sync-user`: re-evaluate given users now and fix their memberships (the worker's job, by
hand)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from reconciler import settings
from reconciler.cli.arguments import policy_for_jobs
from reconciler.cli.connect import with_directory
from reconciler.cli.output import Output
from reconciler.cli.report import print_report
from reconciler.service import reconcile_users


def sync_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_ids", nargs="+", metavar="USER_ID", help="user object ids")


def run_sync_user(args: argparse.Namespace, out: Output) -> int:
    policy, group_ids = policy_for_jobs(args, out)
    if group_ids is not None:
        policy = replace(policy, groups=tuple(g for g in policy.groups if g.id in group_ids))
    config = settings.Settings.from_env()
    report = with_directory(
        args,
        config,
        lambda directory, state=None: reconcile_users(
            directory, policy, config, args.user_ids, cause="cli", state=state
        ),
        with_state=not config.dry_run,
    )
    for user_id in report.skipped_users:
        out.say(out.paint(f"skipped {user_id}: no such user in the directory", "warn"))
    print_report(out, report)
    out.document(report.to_json())
    return report.exit_code
