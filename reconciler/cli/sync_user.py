"""`sync-user`: re-evaluate given users now and fix their memberships (the worker's job, by
hand)."""

from __future__ import annotations

import argparse

from reconciler import settings
from reconciler.cli.arguments import object_id, policy_for_jobs
from reconciler.cli.connect import with_directory
from reconciler.cli.names import ids_only_argument, name_book
from reconciler.cli.output import Output
from reconciler.cli.report import print_report, report_document
from reconciler.service import RunOptions, reconcile_users


def sync_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "user_ids", nargs="+", type=object_id, metavar="USER_ID", help="user object ids (GUIDs)"
    )
    ids_only_argument(parser)


def run_sync_user(args: argparse.Namespace, out: Output) -> int:
    policy, group_ids = policy_for_jobs(args, out)
    config = settings.Settings.from_env()
    names = name_book(args)
    report = with_directory(
        args,
        config,
        lambda directory, state=None: reconcile_users(
            directory,
            policy,
            config,
            args.user_ids,
            cause="cli",
            options=RunOptions.from_settings(config, group_ids=group_ids),
            state=state,
        ),
        with_state=not config.dry_run,
        names=names,
    )
    for user_id in report.skipped_users:
        out.say(out.paint(f"skipped {user_id}: no such user in the directory", "warn"))
    print_report(out, report, names)
    out.document(report_document(report, names))
    return report.exit_code
