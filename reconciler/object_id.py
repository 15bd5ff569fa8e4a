"""Entra object ids: a GUID as users type it (or refused), and the one spelling we compare.

Graph treats ids case-insensitively and may echo them in any case; the reconciler compares
them as plain strings, so every id is normalised once where it enters: the queue decode, the
Graph adapter, the rules file and the command line. Nothing past those edges lower-cases.

Imports only the standard library: the sync routes of function_app.py check ids with it on
the HTTP path, and the command line before it reads anything.
"""

from __future__ import annotations

import re
from typing import NewType

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


UserId = NewType("UserId", str)
GroupId = NewType("GroupId", str)


def user_id(text: str) -> UserId:
    """A user's id as the reconciler compares it (lower-case)."""
    return UserId(text.lower())


def group_id(text: str) -> GroupId:
    """A group's id as the reconciler compares it (lower-case, as the rules file's are)."""
    return GroupId(text.lower())


def is_object_id(value: str) -> bool:
    """A GUID in its 8-4-4-4-12 form, any case: the only form Graph gives object ids."""
    return _GUID.fullmatch(value) is not None
