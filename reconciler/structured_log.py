"""One JSON record per event, with fields that look like credentials dropped: the one way
records reach the logs (the audit trail, the webhook, the worker).

Standard library only: the webhook imports it on every cold start.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"token|secret|password|authorization|credential|client_?state", re.I)
"""Field names that look like credentials: such a field is dropped whatever the caller passes,
so a token or secret never reaches the logs."""


def without_secrets(fields: Mapping[str, object]) -> dict[str, object]:
    """The fields whose names do not look like credentials, in their order."""
    return {name: value for name, value in fields.items() if not SECRET_NAME.search(name)}


def log_json(logger: logging.Logger, level: int, fields: Mapping[str, object]) -> str:
    """Log the fields (secrets dropped) as one JSON line and return the line."""
    text = json.dumps(without_secrets(fields), ensure_ascii=False, default=str)
    logger.log(level, text)
    return text
