"""Switch Application Insights on when APPLICATIONINSIGHTS_CONNECTION_STRING is set, once
per process.

The Azure Monitor distro takes about 0.5 s to import and configure, so only the invocations
that do the work call `enable_from_env` (queue messages, timers, operator routes): the webhook
never does, and answers Graph's first POST on a cold start without paying for it. Without the
setting nothing is imported. Only the audit logger is exported as log records (with each
field as a custom dimension); other log lines reach Application Insights through the Functions
host as before, so nothing is sent twice.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUDIT_LOGGER = "reconciler.audit"
# Instrumentations of web frameworks and drivers this app does not use.
UNUSED_INSTRUMENTATIONS = ("django", "fastapi", "flask", "psycopg2")

_lock = threading.Lock()
_enabled = False


def enable_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """True when telemetry goes to Application Insights (configured now or earlier)."""
    global _enabled
    connection = (os.environ if environ is None else environ).get(CONNECTION_SETTING, "")
    if not connection.strip():
        return False
    with _lock:
        if not _enabled:
            from azure.monitor.opentelemetry import configure_azure_monitor

            configure_azure_monitor(
                connection_string=connection.strip(),
                logger_name=AUDIT_LOGGER,
                # Every trace: one per notification is few, and each explains a membership
                # change (the distro's default keeps 5 per second). OTEL_TRACES_SAMPLER wins.
                sampling_ratio=1.0,
                instrumentation_options={n: {"enabled": False} for n in UNUSED_INSTRUMENTATIONS},
            )
            audit_logger = logging.getLogger(AUDIT_LOGGER)
            if audit_logger.level == logging.NOTSET:  # audit records are INFO: export them
                audit_logger.setLevel(logging.INFO)
            _enabled = True
    return True
