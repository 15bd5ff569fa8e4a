"""Command line of devhost: arguments, console logging, signals, the start-up table."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from devhost.config import ConfigError, HostOptions
from devhost.host import FUNCTION_KEY_SETTING, MASTER_KEY_SETTING, DevHost
from devhost.invocation import current_function
from devhost.queues import LEASE_SECONDS

DESCRIPTION = """\
Hosts a Python v2 function app locally without Core Tools: HTTP triggers under /api/<route>,
queue triggers polled from Azure Storage (Azurite) with host.json's extensions.queues settings
(batchSize, newBatchThreshold, maxPollingInterval, visibilityTimeout, maxDequeueCount then
<queue>-poison, messageEncoding), queue output bindings, timer triggers on their NCRONTAB
schedules (UTC), and %SETTING% binding expressions. local.settings.json's Values are loaded into
the environment (the environment wins). Non-HTTP functions run on demand with
POST /admin/functions/<name> and body {"input": "..."} (answers 202).
"""

EPILOG = f"""\
keys: as with Core Tools, function keys are not checked unless --require-keys; then authLevel
FUNCTION takes the function key or the master key, ADMIN (and the admin API) the master key,
in the x-functions-key header or the code query parameter. Keys come from the settings
{FUNCTION_KEY_SETTING} and {MASTER_KEY_SETTING}, else they are generated and printed.

Differences from the real host: only HTTP, queue and timer triggers and queue outputs (any other
binding stops the start-up, naming it); timer schedules are UTC, run in this process only (no
blob lease, no useMonitor status, pastDue only when a run is more than a period late); a sync
function that exceeds functionTimeout fails but its thread runs on; routes bind 127.0.0.1 only.

With Core Tools installed, `func start` runs the same app from the same files instead (it also
needs Azurite's blob and table services: `python -m devhost.azurite` starts all three on the
default ports).
"""


class _FunctionLogFilter(logging.Filter):
    """Names the function a record came from, and applies host.json's Function log level."""

    def __init__(self, function_level: int) -> None:
        super().__init__()
        self.function_level = function_level

    def filter(self, record: logging.LogRecord) -> bool:
        function = current_function.get()
        record.source = (
            f"Functions.{function}" if function and record.name != "devhost" else record.name
        )
        return not (function and record.name != "devhost" and record.levelno < self.function_level)


def configure_logging(function_level: int) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter("[%(asctime)s] %(levelname)-7s %(source)s: %(message)s", "%H:%M:%S")
    )
    handler.addFilter(_FunctionLogFilter(function_level))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(min(function_level, logging.INFO))
    # Library chatter (every storage request at INFO) would bury the function logs.
    for noisy in ("azure", "aiohttp.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="HTTP port on 127.0.0.1 (default: Host.LocalHttpPort in the settings file, else "
        "7071; 0 picks a free one)",
    )
    parser.add_argument("--settings", default="local.settings.json", help="local settings file")
    parser.add_argument(
        "--app", default="function_app", help="module (or module:attribute) with the FunctionApp"
    )
    parser.add_argument("--host-json", default="host.json", help="host.json to honour")
    parser.add_argument(
        "--require-keys", action="store_true", help="check function keys (Core Tools does not)"
    )
    parser.add_argument(
        "--queue-lease-seconds",
        type=int,
        default=LEASE_SECONDS,
        help="how long a received message stays invisible while its function runs, renewed at "
        f"half-time (default {LEASE_SECONDS}, as the host); a message whose host dies reappears "
        "when it ends, so tests that kill hosts shorten it",
    )
    return parser.parse_args(argv)


def default_port(settings: str) -> int:
    path = Path(settings)
    if path.exists():
        try:
            port = (json.loads(path.read_text(encoding="utf-8")).get("Host") or {}).get(
                "LocalHttpPort"
            )
        except (json.JSONDecodeError, AttributeError):
            port = None
        if port:
            return int(port)
    return 7071


async def serve(args: argparse.Namespace) -> int:
    host = DevHost(
        app=args.app,
        port=args.port if args.port is not None else default_port(args.settings),
        settings=args.settings,
        host_json=args.host_json,
        require_keys=args.require_keys,
        queue_lease_seconds=args.queue_lease_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await host.start_async()
    except (ConfigError, ImportError, ValueError, OSError) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 1
    print(f"devhost listening on {host.base_url}", flush=True)
    print(host.describe(), flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    await stop.wait()
    print("devhost: stopping (waiting for running invocations)", flush=True)
    await host.stop_async()
    print("devhost: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = HostOptions.load(args.host_json)
    except ConfigError as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 1
    configure_logging(options.function_log_level)
    return asyncio.run(serve(args))
