"""The console's own settings, read once: the CSRF key, and whether the principal header can
be believed (only behind App Service Authentication, or on a developer's loopback)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.settings import SettingsError

CSRF_KEY_SETTING = "CONSOLE_CSRF_KEY"
LOCAL_SETTING = "CONSOLE_TRUST_LOCAL_PRINCIPAL"
PLATFORM_SETTING = "WEBSITE_AUTH_ENABLED"
"""Set by App Service when Authentication is on; only then does the platform strip a
client's own X-MS-CLIENT-PRINCIPAL, so only then is the header proof of anything."""
MIN_KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    csrf_key: bytes
    trust_principal: bool
    sample_size: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsoleSettings:
        env = os.environ if environ is None else environ
        key = env.get(CSRF_KEY_SETTING, "")
        if len(key) < MIN_KEY_LENGTH:
            raise SettingsError(
                f"{CSRF_KEY_SETTING} must be a random secret of at least {MIN_KEY_LENGTH} "
                "characters (it signs the console's form tokens); e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        trusted = any(
            env.get(name, "").lower() == "true" for name in (PLATFORM_SETTING, LOCAL_SETTING)
        )
        return cls(csrf_key=key.encode(), trust_principal=trusted)
