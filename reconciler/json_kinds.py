"""JSON's names for a value's kind, for error messages about data from Graph or a webhook."""

from __future__ import annotations


def json_kind(value: object) -> str:
    """ "an array", "a number"...: what a person reading the JSON sees, not Python's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int in Python, not in JSON
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
