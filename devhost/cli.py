"""Command line of devhost: arguments, console logging, signals, the start-up table."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from devhost import easy_auth
from devhost.config import ConfigError, HostOptions
from devhost.host import FUNCTION_KEY_SETTING, MASTER_KEY_SETTING, DevHost
from devhost.invocation import function_of_current_record
from devhost.queues import LEASE_SECONDS
from devhost.worker import WorkerError

DESCRIPTION = """\
Hosts a Python v2 function app locally without Core Tools. The app is loaded, validated and
invoked by the Python worker's own code (azure-functions-runtime, pinned in
requirements-worker.txt): its indexing refuses exactly what the worker refuses, with the
worker's message, and its converters build func.HttpRequest, func.QueueMessage and
func.TimerRequest and encode responses and queue outputs. Around it devhost is the host: HTTP
triggers under /api/<route>, queue triggers polled from Azure Storage (Azurite) with host.json's
extensions.queues settings (batchSize, newBatchThreshold, maxPollingInterval,
visibilityTimeout, maxDequeueCount then <queue>-poison, messageEncoding), queue output
bindings, timer triggers on their NCRONTAB schedules (UTC), and %SETTING% binding expressions
resolved from the app settings: local.settings.json's Values and devhost's own environment
(which wins), by name in any case, taken before the app is imported (what the app sets in its
own process never resolves, as in the real host). A function whose bindings cannot be resolved
is reported in error and the others run; an app the worker refuses does not start. Values are
also put into the app's environment, as Core Tools starts the worker. Non-HTTP functions run on
demand with POST /admin/functions/<name> and body {"input": "..."} (answers 202).
"""

EPILOG = f"""\
keys: as with Core Tools, function keys are not checked unless --require-keys; then authLevel
FUNCTION takes the function key or the master key, ADMIN (and the admin API) the master key,
in the x-functions-key header or the code query parameter. Keys come from the settings
{FUNCTION_KEY_SETTING} and {MASTER_KEY_SETTING}, else they are generated and printed.

Where devhost still differs from the Functions host (and why):
  - The worker runs in devhost's process, not as a child over gRPC; the messages between them
    are plain objects (devhost/rpc.py), not protobuf, so a field of the wrong type is not
    refused by protobuf (the worker's converters check types first). The host is .NET; its
    gRPC stubs are not on PyPI. One app per process: an in-process DevHost refuses a second,
    different app (DevHostProcess runs one per child).
  - The worker code is azure-functions-runtime 1.3.0 (the worker library for Python 3.13+);
    Azure runs 3.11 apps with azure_functions_worker 4.x, which carries the same indexing and
    converters.
  - What the host sends for each trigger is devhost's code (devhost/binding_data.py): HTTP
    bodies as bytes, queue bodies as text when UTF-8 (else bytes) with Id, DequeueCount,
    PopReceipt and the three times as metadata, the timer's TimerInfo JSON. Queue outputs are
    written one message per list item (objects as their JSON text), as the host does.
  - Only HTTP, queue and timer triggers and queue outputs; a function with any other binding
    is reported in error. Storage connections are connection strings only (no identity-based
    <name>__accountName / __queueServiceUri; Azure's host supports them).
  - Timer schedules are UTC and run in this process only (no blob lease, no useMonitor status,
    pastDue only when a run is more than a period late).
  - A sync function that exceeds functionTimeout fails but its thread runs on (the host
    restarts the worker).
  - No App Service Authentication: a request carries X-MS-CLIENT-PRINCIPAL only when the
    client sends one or --principal sets it (Azure's platform sets it and drops a client's).
  - Routes: constraints int, long, bool, guid, alpha are checked, others accepted; no content
    negotiation (a str return is text/plain); no HTTP streaming; routes bind 127.0.0.1 only.

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
        function = function_of_current_record()
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
        "--app",
        default="function_app",
        help="the app's script file in --app-dir, as PYTHON_SCRIPT_FILE_NAME names it "
        "(default function_app, i.e. function_app.py)",
    )
    parser.add_argument(
        "--app-dir", default=".", help="the function app's directory (default: the current one)"
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
    parser.add_argument(
        "--principal",
        type=principal_argument,
        metavar="NAME:ROLE[,ROLE]",
        help="sign every HTTP request in as this principal, as App Service Authentication "
        "would: devhost sets X-MS-CLIENT-PRINCIPAL (Easy Auth's base64 JSON with the name and "
        "app-role claims), replacing any the client sent; e.g. "
        "--principal ana@contoso.com:Reconciler.Read,Reconciler.Approve for the console "
        "(which also needs CONSOLE_TRUST_LOCAL_PRINCIPAL=true). Without it, requests pass "
        "through as sent, so a local client may send its own header, as with Core Tools",
    )
    return parser.parse_args(argv)


def principal_argument(text: str) -> str:
    try:
        return easy_auth.parse_principal(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


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
        app_dir=args.app_dir,
        port=args.port if args.port is not None else default_port(args.settings),
        settings=args.settings,
        host_json=args.host_json,
        require_keys=args.require_keys,
        queue_lease_seconds=args.queue_lease_seconds,
        principal=args.principal,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await host.start_async()
    except WorkerError as exc:
        print(f"devhost: Worker failed to index functions: {exc}", file=sys.stderr)
        return 1
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
