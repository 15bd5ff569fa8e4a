"""HTML from the console's Jinja2 templates, every value escaped (autoescape on all of them)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["value"] = _value
    environment.filters["when"] = _when
    return environment


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def _value(value: object) -> str:
    """A user's value as JSON (strings quoted, null as null), as the CLI's explain shows it."""
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)


def _when(text: object) -> str:
    """An ISO timestamp to the second, in UTC as stored; "never" for none."""
    if not text:
        return "never"
    try:
        return datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return str(text)
