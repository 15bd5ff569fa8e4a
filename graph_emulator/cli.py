"""`python -m graph_emulator`: run the emulator as a server, or export a generated tenant."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import textwrap
from pathlib import Path

from graph_emulator import control
from graph_emulator.delta_tokens import GRAPH_LIFETIME_SECONDS
from graph_emulator.server import EmulatorServer, tenant_source
from graph_emulator.settings import Settings
from graph_emulator.tenant_document import TenantFileError

DESCRIPTION = """\
A local Microsoft Graph (v1.0) for tests, benchmarks and the demo. It serves users, groups,
group members (list, $ref add/remove, members@odata.bind), $batch, subscriptions on users with
the validation handshake, change notifications and /users/delta, with Graph's paging, $select,
error bodies and refusals. Any bearer token is accepted; a request without one gets Graph's 401.

The first line on stdout is exactly:
  Graph emulator listening on http://HOST:PORT/v1.0
Point GRAPH_BASE_URL (or the SDK's request_adapter.base_url) at that URL.
"""

EPILOG = f"""\
tenant:
  --tenant sample (the default) generates --users users (the CEO among them) from --seed:
  realistic, skewed attributes, manager chains, devices, and the sample groups with fixed ids
  (graph_emulator/sample.py) seeded with a partly wrong membership. --groups adds N more
  assigned groups with log-normal sizes (median ~100) for benchmarks. --tenant FILE.json loads
  a document written by --export or GET /_emulator/tenant.

webhooks:
  notificationUrl and lifecycleNotificationUrl must be on loopback (http is fine there); the
  emulator never contacts another host.

delta (GET /users/delta):
  an initial round lists every user (paged: @odata.nextLink with $skiptoken, 100 a page or
  Prefer: odata.maxpagesize=N) and ends with @odata.deltaLink ($deltatoken); $select rides in
  the tokens. A later round from that link reports users changed since: id plus the selected
  properties that have values (Prefer: return=minimal: only the changed ones), new and
  restored users whole, deleted users as {{"id", "@removed": {{"reason": "changed"|"deleted"}}}}
  (soft | hard delete). Only selected properties are tracked; without $select all are;
  $select=manager adds manager@delta; $filter takes up to 50 "id eq '...'" joined by or.
  $deltatoken=latest gives a deltaLink and no data. Expired tokens (after
  --delta-token-lifetime on the emulator clock, after POST /_emulator/delta/expire, or from
  before a reset) get syncStateNotFound with 410 Gone and a Location to start over
  (--delta-expired-status 400: the status a 2020 Microsoft blog reports). Damaged tokens: 400.

control API (emulator-only, no token; JSON in and out):
{control.__doc__.split(chr(10), 2)[2]}
fault rules (POST /_emulator/faults), fields:
  kind        status | latency | disconnect  (Graph calls)
              drop | duplicate | reorder | delay  (change notifications)
  method      GET, POST, ... or * (default)
  route       glob over the path below /v1.0 ("/groups/*/members/$ref") or a route template
              ("/groups/{{id}}/members/$ref"); for notification kinds, a glob over the URL
  status      with kind=status: 429, 500, 503, 504, ...
  retryAfter  seconds, integer or decimal ("2.128"); sent as Retry-After
  latencyMs   with kind=latency or delay
  probability seeded by "seed" (default 0) | everyNth: N | neither: always
  times       fire at most N times
  scope       any (default) | request | batch  (batch = inside $batch items only)
  pagesOnly   with kind=disconnect: only on pages after the first (a $skiptoken request)
  example: {{"kind": "status", "status": 429, "retryAfter": "1.5", "method": "POST",
            "route": "/groups/*/members/$ref", "everyNth": 3}}

settings (PATCH /_emulator/settings; the flags above set them at start):
{textwrap.fill(", ".join(Settings().to_json()), 92, initial_indent="  ", subsequent_indent="  ")}

in-process (tests): from graph_emulator import EmulatorServer; see docs/graph-emulator.md.

not served yet: $orderby, $search, groups subscriptions, groups/delta.
"""


def _quota(text: str) -> tuple[int, float]:
    writes, _, seconds = text.partition("/")
    try:
        return int(writes), float(seconds or 150)
    except ValueError:
        raise argparse.ArgumentTypeError("use WRITES or WRITES/SECONDS, e.g. 3000/150") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m graph_emulator",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    p.add_argument("--users", type=int, default=200, help="users to generate (default 200)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--groups", type=int, default=0, help="extra benchmark groups (default 0)")
    p.add_argument(
        "--tenant", default="sample", help="'sample' (default) or a tenant JSON file to load"
    )
    p.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="write the tenant as JSON to FILE and exit instead of serving",
    )
    p.add_argument(
        "--write-quota",
        type=_quota,
        metavar="WRITES[/SECONDS]",
        help="answer writes over this rate with 429 + Retry-After (Graph: 3000/150); default off",
    )
    p.add_argument(
        "--retry-after",
        choices=("integer", "decimal"),
        default="integer",
        help="Retry-After style for quota 429s (default integer)",
    )
    p.add_argument(
        "--notify-on-membership-writes",
        action="store_true",
        help="membership writes also send the member an `updated` notification (default off)",
    )
    p.add_argument(
        "--duplicate-notifications",
        action="store_true",
        help="send every change notification twice, as Graph sometimes does",
    )
    p.add_argument("--notification-retries", type=int, default=3, help="default 3")
    p.add_argument(
        "--notification-retry-delay", type=float, default=1.0, help="seconds, doubled per retry"
    )
    p.add_argument("--notification-timeout", type=float, default=3.0, help="seconds (Graph: 3)")
    p.add_argument(
        "--batch-order",
        choices=("shuffled", "request"),
        default="shuffled",
        help="order of $batch responses (default shuffled: clients must match by id)",
    )
    p.add_argument(
        "--delta-token-lifetime",
        type=_lifetime,
        default=GRAPH_LIFETIME_SECONDS,
        metavar="SECONDS",
        help="age at which /users/delta tokens expire, on the emulator clock; 'never' turns "
        "it off (default 604800: Graph's seven days)",
    )
    p.add_argument(
        "--delta-expired-status",
        type=int,
        choices=(410, 400),
        default=410,
        help="status of syncStateNotFound for an expired delta token (default 410)",
    )
    return p


def _lifetime(text: str) -> float | None:
    if text.lower() == "never":
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise argparse.ArgumentTypeError("use a positive number of seconds, or 'never'")
    return seconds


def settings_from(args: argparse.Namespace) -> Settings:
    quota, window = args.write_quota or (None, 150.0)
    return Settings(
        write_quota=quota,
        write_quota_window=window,
        retry_after_format=args.retry_after,
        notify_on_membership_writes=args.notify_on_membership_writes,
        duplicate_notifications=args.duplicate_notifications,
        notification_retries=args.notification_retries,
        notification_retry_delay=args.notification_retry_delay,
        notification_timeout=args.notification_timeout,
        batch_response_order=args.batch_order,
        delta_token_lifetime=args.delta_token_lifetime,
        delta_expired_status=args.delta_expired_status,
    )


async def serve(args: argparse.Namespace) -> None:
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        users=args.users,
        seed=args.seed,
        tenant=args.tenant,
        extra_groups=args.groups,
        settings=settings_from(args),
    )
    base_url = await server.start_async()
    print(f"Graph emulator listening on {base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop_async()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.export is not None:
            source = tenant_source(
                args.tenant, users=args.users, seed=args.seed, extra_groups=args.groups
            )
            document = source.build().to_json()
            args.export.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
            print(f"wrote {len(document['users'])} users to {args.export}")
            return 0
        asyncio.run(serve(args))
    except (TenantFileError, ValueError, OSError) as exc:
        print(f"graph_emulator: {exc}", file=sys.stderr)
        return 1
    return 0
