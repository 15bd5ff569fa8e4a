"""Settings from the environment, with local.settings.json filling in what the environment lacks."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
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


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def _table_prefix(environ: Mapping[str, str]) -> str:
    """Azure table names are 3-63 letters and digits starting with a letter; the longest
    suffix added is 7 characters ("history")."""
    raw = environ.get("STATE_TABLE_PREFIX", "").strip() or Settings.state_table_prefix
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,55}", raw):
        raise SettingsError(
            f"STATE_TABLE_PREFIX={raw!r} must be 1-56 letters and digits starting with a letter "
            "(Azure table names)"
        )
    return raw


@dataclass(frozen=True)  # no slots: from_env reads the defaults off the class
class Settings:
    """The app settings, read once and typed; names and defaults are INTERFACES.md's.

    Settings without a default (NOTIFICATION_URL, CLIENT_STATE, ...) stay "" here and are
    checked by `require` where they are first needed, with an error that names them.
    """

    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    graph_credential: str = "managed-identity"
    graph_static_token: str = ""
    azure_client_id: str = ""
    storage_connection: str = ""
    storage_account_name: str = ""
    storage_table_uri: str = ""
    storage_queue_uri: str = ""
    storage_credential: str = ""
    storage_client_id: str = ""
    state_table_prefix: str = "reconciler"
    user_changes_queue: str = "user-changes"
    notification_url: str = ""
    lifecycle_notification_url: str = ""
    client_state: str = ""
    full_reconcile_schedule: str = "0 */30 * * * *"  # the timer's own comes from the host
    dry_run: bool = False
    max_removal_percent: float = 20.0
    removal_floor: int = 10
    min_expected_users: int = 0
    allow_mass_removal: bool = False
    removal_window_minutes: int = 60
    max_tenant_removals_per_window: int = 500
    history_days: int = 30
    write_rate: float = 15.0
    recheck_delay_seconds: float = 60.0
    burst_users: int = 2000
    graph_retry_attempts: int = 6
    graph_retry_base_seconds: float = 1.0
    graph_retry_max_seconds: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        credential = env.get("GRAPH_CREDENTIAL", "").strip() or cls.graph_credential
        if credential not in CREDENTIALS:
            raise SettingsError(
                f"GRAPH_CREDENTIAL={credential!r} is not one of {', '.join(CREDENTIALS)}"
            )
        return cls(
            graph_base_url=(env.get("GRAPH_BASE_URL", "").strip() or cls.graph_base_url).rstrip(
                "/"
            ),
            graph_credential=credential,
            graph_static_token=env.get("GRAPH_STATIC_TOKEN", ""),
            azure_client_id=env.get("AZURE_CLIENT_ID", "").strip(),
            storage_connection=env.get("AzureWebJobsStorage", "").strip(),
            storage_account_name=env.get("AzureWebJobsStorage__accountName", "").strip(),
            storage_table_uri=env.get("AzureWebJobsStorage__tableServiceUri", "").strip(),
            storage_queue_uri=env.get("AzureWebJobsStorage__queueServiceUri", "").strip(),
            storage_credential=env.get("AzureWebJobsStorage__credential", "").strip().lower(),
            storage_client_id=env.get("AzureWebJobsStorage__clientId", "").strip(),
            state_table_prefix=_table_prefix(env),
            user_changes_queue=env.get("USER_CHANGES_QUEUE", "").strip() or cls.user_changes_queue,
            notification_url=env.get("NOTIFICATION_URL", "").strip(),
            lifecycle_notification_url=env.get("LIFECYCLE_NOTIFICATION_URL", "").strip(),
            client_state=env.get("CLIENT_STATE", ""),
            full_reconcile_schedule=env.get("FULL_RECONCILE_SCHEDULE", "").strip()
            or cls.full_reconcile_schedule,
            dry_run=_flag(env, "DRY_RUN", cls.dry_run),
            max_removal_percent=_number(env, "MAX_REMOVAL_PERCENT", cls.max_removal_percent),
            removal_floor=int(_number(env, "REMOVAL_FLOOR", cls.removal_floor)),
            min_expected_users=int(_number(env, "MIN_EXPECTED_USERS", cls.min_expected_users)),
            allow_mass_removal=_flag(env, "ALLOW_MASS_REMOVAL", cls.allow_mass_removal),
            removal_window_minutes=int(
                _number(env, "REMOVAL_WINDOW_MINUTES", cls.removal_window_minutes, minimum=1)
            ),
            max_tenant_removals_per_window=int(
                _number(env, "MAX_TENANT_REMOVALS_PER_WINDOW", cls.max_tenant_removals_per_window)
            ),
            history_days=int(_number(env, "HISTORY_DAYS", cls.history_days, minimum=1)),
            write_rate=_number(env, "WRITE_RATE", cls.write_rate, minimum=0.1),
            recheck_delay_seconds=_number(env, "RECHECK_DELAY_SECONDS", cls.recheck_delay_seconds),
            burst_users=int(_number(env, "BURST_USERS", cls.burst_users)),
            graph_retry_attempts=int(
                _number(env, "GRAPH_RETRY_ATTEMPTS", cls.graph_retry_attempts, minimum=1)
            ),
            graph_retry_base_seconds=_number(
                env, "GRAPH_RETRY_BASE_SECONDS", cls.graph_retry_base_seconds
            ),
            graph_retry_max_seconds=_number(
                env, "GRAPH_RETRY_MAX_SECONDS", cls.graph_retry_max_seconds
            ),
        )

    def require(self, field_name: str) -> str:
        """A setting that has no default, or a SettingsError naming it."""
        value = getattr(self, field_name)
        if not value:
            setting = _SETTING_NAMES.get(field_name, field_name.upper())
            raise SettingsError(f"{setting} is not set; add it to the app settings")
        return value


def webhook_client_state(environ: Mapping[str, str] | None = None) -> str:
    """CLIENT_STATE alone, or the SettingsError `Settings.require` gives.

    The webhooks need nothing else; parsing every setting there would let an unrelated bad
    one (WRITE_RATE=abc) turn each change notification into a 500.
    """
    env = os.environ if environ is None else environ
    return Settings(client_state=env.get("CLIENT_STATE", "")).require("client_state")


CREDENTIALS = ("managed-identity", "default", "client-secret", "static")
_SETTING_NAMES = {"storage_connection": "AzureWebJobsStorage"}
