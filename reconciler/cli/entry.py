"""The command line, `python -m reconciler COMMAND`: the parser and main().

Adding a command takes a function that adds its arguments, a function that runs it (in the
module of its command family) and one line in COMMANDS. Every command gets --rules, --group and
--json. With --json, stdout carries exactly one JSON document and everything meant for people
goes to stderr.

Exit codes: 0 done, 1 errors, 2 usage, 3 held by the guard (and no errors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from reconciler import settings
from reconciler.cli import holds
from reconciler.cli.audit_log import audit_records
from reconciler.cli.check import check_arguments, run_check
from reconciler.cli.connect import DirectoryFactory, open_graph_directory
from reconciler.cli.defaults import apply_local_default
from reconciler.cli.explain import explain_arguments, run_explain
from reconciler.cli.output import EXIT_USAGE, CommandError, Output
from reconciler.cli.reconcile import apply_arguments, plan_arguments, run_apply, run_plan
from reconciler.cli.sync_user import run_sync_user, sync_user_arguments
from reconciler.directory import DirectoryError
from reconciler.state import HoldError, StateUnavailable


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Output], int]


COMMANDS = (
    Command(
        "check",
        "validate the rules file and run every group's examples",
        "Validate every group of the rules file (file:line:column for each problem) and run "
        "each group's examples. Exit 0 when everything passes, 1 otherwise.",
        check_arguments,
        run_check,
    ),
    Command(
        "explain",
        "show, clause by clause, why a user matches a rule or not",
        "Explain a rule's decision for one user: every clause with the user's value, the "
        "operator, the operand and the result. With --rule, the given rule; with --group, "
        "that group's rule from the rules file; with neither, every group in the file (groups "
        "whose rule does not compile are skipped and the exit code is 1). "
        '--json prints the explanation\'s data (with "rule" and "group" added), or '
        '{"results": [...]} when several groups are explained.',
        explain_arguments,
        run_explain,
    ),
    Command(
        "plan",
        "show what apply would change, with reasons (a dry run)",
        "Read every managed group (or those given with --group) and all users from Graph, and "
        "show per group the users to add and remove with the reason for each, the groups the "
        "guard would hold, and errors. Nothing is written. Exit 0, 1 errors, 3 held.",
        plan_arguments,
        run_plan,
    ),
    Command(
        "apply",
        "reconcile the managed groups: plan, guard, then write",
        "Like plan, then write the changes (20 adds per request, batched removals, paced). A "
        "group the guard holds (removals above MAX_REMOVAL_PERCENT of its members and above "
        "REMOVAL_FLOOR, or fewer than MIN_EXPECTED_USERS users listed) gets no writes at all; "
        "--allow-mass-removal releases it. Paused groups are planned, never written. DRY_RUN="
        "true makes apply a plan. Exit 0 done, 1 errors, 3 held.",
        apply_arguments,
        run_apply,
    ),
    Command(
        "sync-user",
        "re-evaluate users now and fix their memberships",
        "Read the given users and their direct memberships from Graph, evaluate every managed "
        "group's rule, and apply only the differences (the queue worker's job, by hand). A user "
        "that no longer exists is skipped. Exit 0 done, 1 errors, 3 held.",
        sync_user_arguments,
        run_sync_user,
    ),
    Command(
        "holds",
        "list, show, approve or reject held removals",
        "Removals over a group's removal budget (MAX_REMOVAL_PERCENT of its members per "
        "REMOVAL_WINDOW_MINUTES, at least REMOVAL_FLOOR; MAX_TENANT_REMOVALS_PER_WINDOW in all), "
        "and groups a full run's guard held, wait in the group's pending hold. `holds list "
        "[--status S]`, `holds show ID`, `holds approve ID [--by NAME]` (re-reads the users "
        "now and removes only those the rules still remove), `holds reject ID [--by NAME]` "
        "(removes nobody; the next run that wants them removed holds them again). Needs "
        "AzureWebJobsStorage. --json: one document.",
        holds.holds_arguments,
        holds.run_holds,
    ),
    Command(
        "status",
        "per group: members, last verified, lag, last change, pending hold, last error",
        "What the state store knows of every managed group; a group not verified by a full run "
        "within two FULL_RECONCILE_SCHEDULE periods is flagged STALE. Exit 0, 3 when a hold "
        "is pending. Needs AzureWebJobsStorage.",
        holds.status_arguments,
        holds.run_status,
    ),
    Command(
        "history",
        "membership changes and held removals, newest first, with cause and correlation id",
        "The change history (kept HISTORY_DAYS days): one entry per membership written or "
        "removal held, with its result, reason, cause, correlation id and who approved. "
        "--group narrows it; --days how far back (default 1), --limit how many (default 50).",
        holds.history_arguments,
        holds.run_history,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--rules",
        metavar="FILE",
        help="the rules file (default: $RULES_FILE, a relative path meaning next to "
        "function_app.py; else rules.toml next to function_app.py)",
    )
    common.add_argument(
        "--group",
        action="append",
        metavar="ID",
        help="only this group (object id); repeatable",
    )
    common.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout; human-readable text goes to stderr",
    )
    common.add_argument(
        "--audit-log",
        metavar="FILE",
        help="append the run's audit records to FILE as JSON lines (- for stderr); without it "
        "they are not printed",
    )
    parser = argparse.ArgumentParser(
        prog="python -m reconciler",
        description="Keep Entra ID group memberships in line with dynamic-membership rules.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings come from the environment, then local.settings.json (Values) next to\n"
        "function_app.py. With neither GRAPH_BASE_URL nor GRAPH_CREDENTIAL set, the built-in\n"
        "local default applies: the Graph emulator at http://127.0.0.1:8765/v1.0 and, when\n"
        "no rules file is configured, rules.sample.toml (each said on stderr).\n\n"
        "Exit codes: 0 done, 1 errors, 2 usage, 3 held by the guard. Usage includes a --group\n"
        "id that is not in the rules file and a user id that is not a GUID.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, parents=[common], help=command.help, description=command.description
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    directory_factory: DirectoryFactory | None = None,
    state_factory: holds.StateFactory | None = None,
) -> int:
    """Run one command; `directory_factory` replaces Graph (tests give an in-memory one),
    `state_factory` the table store."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # argparse: --help (0) or a usage error (2)
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    args.state_factory = state_factory or holds.open_cli_state
    out = Output(args.json)
    try:
        settings.load_local_settings()
        local = apply_local_default(getattr(args, "rules_file", None) or args.rules)
        if local.rules:
            print(local.rules, file=sys.stderr)
        args.directory_factory = directory_factory or partial(
            open_graph_directory, note=local.graph
        )
        with audit_records(args.audit_log):
            return args.run(args, out)
    except settings.SettingsError as error:
        return out.fail(str(error))
    except CommandError as error:
        out.fail(error.message, error.hint, **error.details)
        return error.exit_code
    except HoldError as error:
        return out.fail(str(error), "see `holds list`")
    except StateUnavailable as error:
        return out.fail(f"state store: {error}", "check AzureWebJobsStorage and the storage")
    except DirectoryError as error:
        return out.fail(f"Graph: {error}", "check GRAPH_BASE_URL and GRAPH_CREDENTIAL")
