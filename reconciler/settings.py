"""Settings from the environment, with local.settings.json filling in what the environment lacks."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path

APP_ROOT = Path(__file__).resolve().parent.parent
"""The function app's root: the directory holding function_app.py and host.json."""

LOCAL_SETTINGS_FILE = "local.settings.json"
DEFAULT_RULES_FILE = "rules.toml"


class SettingsError(ValueError):
    """A setting (or the file holding it) is unusable; the message names it."""


def load_local_settings(
    path: Path | None = None, environ: MutableMapping[str, str] | None = None
) -> list[str]:
    """Copy the `Values` of local.settings.json into the environment, as Core Tools does.

    A name already in the environment keeps its value (the environment wins). A missing file
    is fine; a malformed one raises SettingsError. Returns the names that were set.
    """
    path = path or APP_ROOT / LOCAL_SETTINGS_FILE
    environ = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise SettingsError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        values = json.loads(text).get("Values", {})
    except (json.JSONDecodeError, AttributeError) as error:
        raise SettingsError(
            f"{path}: not a settings file ({error}); expected "
            '{"IsEncrypted": false, "Values": {"NAME": "value", ...}}'
        ) from error
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: Values must be an object of NAME: value pairs")
    loaded = []
    for name, value in values.items():
        if name in environ or value is None:
            continue
        if isinstance(value, dict | list):
            kind = type(value).__name__
            raise SettingsError(f"{path}: Values.{name} must be a string, not {kind}")
        environ[name] = json.dumps(value) if isinstance(value, bool) else str(value)
        loaded.append(name)
    return loaded


def rules_file(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The rules file: `explicit` (a command-line path, relative to the cwd), else RULES_FILE,
    else rules.toml next to function_app.py.

    A relative RULES_FILE is resolved against the app root, because that is the Functions
    host's working directory and where local.settings.json sits.
    """
    if explicit:
        return Path(explicit)
    configured = os.environ.get("RULES_FILE", "").strip()
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else APP_ROOT / path
    return APP_ROOT / DEFAULT_RULES_FILE
