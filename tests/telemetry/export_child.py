"""Run by test_setup.py in a child process (the distro sets the process's global providers):
switch telemetry on from the environment, work one message, flush, and report any attempt
to connect beyond loopback on stderr (and refuse it)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from datetime import UTC, datetime

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        print(f"REFUSED {address!r}", file=sys.stderr, flush=True)
        raise ConnectionRefusedError(f"loopback only, not {address!r}")
    _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


def main() -> None:
    from opentelemetry import _logs, metrics, trace

    from reconciler.audit import audit
    from reconciler.telemetry.messages import observed_message
    from reconciler.telemetry.setup import enable_from_env

    print("enabled" if enable_from_env() else "disabled", flush=True)
    correlation_id = sys.argv[1]
    with observed_message("users", "notification", correlation_id, datetime.now(UTC), 1):
        audit(
            "change",
            cause="notification",
            correlation_id=correlation_id,
            group="10000000-0000-4000-8000-000000000001",
            user="30000000-0000-4000-8000-000000000001",
            action="add",
            reason="rule matches",
            result="done",
        )
    providers = [trace.get_tracer_provider(), _logs.get_logger_provider()]
    providers.append(metrics.get_meter_provider())
    for provider in providers:  # the API's proxies (telemetry off) have nothing to flush
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()
    print("modules:", " ".join(m for m in ("azure.monitor.opentelemetry",) if m in sys.modules))


if __name__ == "__main__":
    main()
