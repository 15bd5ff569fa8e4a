"""Entra object ids as users type them into URLs and command lines: a GUID, or refused.

Imports only the standard library: the sync routes of function_app.py check ids with it on
the HTTP path, and the command line before it reads anything.
"""

from __future__ import annotations

import re

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def is_object_id(value: str) -> bool:
    """A GUID in its 8-4-4-4-12 form, any case: the only form Graph gives object ids."""
    return _GUID.fullmatch(value) is not None
