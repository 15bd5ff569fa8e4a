"""The command line's built-in local default, so a fresh clone runs without any settings.

When neither GRAPH_BASE_URL nor GRAPH_CREDENTIAL is set (in the environment or
local.settings.json), the CLI talks to the local Graph emulator on its documented port with a
static token, and, unless a rules file is configured or rules.toml exists, reads the sample
rules that the emulator's sample tenant matches: the same pair the demo runs. Each default
used is said on stderr. Once either Graph setting is given, nothing is assumed: a missing
GRAPH_CREDENTIAL is refused (managed identity is tried only when asked for, so a laptop never
waits for an IMDS endpoint it does not have).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from reconciler import settings

LOCAL_GRAPH = "http://127.0.0.1:8765/v1.0"
"""Where `python -m graph_emulator --port 8765` listens (README, local.settings.sample.json)."""
LOCAL_TOKEN = "local-emulator-token"
SAMPLE_RULES = "rules.sample.toml"

CREDENTIAL_HINT = (
    "set GRAPH_CREDENTIAL: default (az login, or AZURE_* environment variables), client-secret "
    "(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), static (GRAPH_STATIC_TOKEN, for "
    "the emulator) or managed-identity (in Azure)"
)


@dataclass(frozen=True, slots=True)
class LocalDefault:
    """The notes for what was assumed: `graph` is shown when Graph is opened, `rules` at once."""

    graph: str = ""
    rules: str = ""


def apply_local_default(
    explicit_rules: str | None, environ: MutableMapping[str, str] | None = None
) -> LocalDefault:
    """Fill in the local default where nothing is configured."""
    env = os.environ if environ is None else environ
    if env.get("GRAPH_BASE_URL", "").strip() or env.get("GRAPH_CREDENTIAL", "").strip():
        return LocalDefault()
    env["GRAPH_BASE_URL"] = LOCAL_GRAPH
    env["GRAPH_CREDENTIAL"] = "static"
    env.setdefault("GRAPH_STATIC_TOKEN", LOCAL_TOKEN)
    graph = (
        "note: GRAPH_BASE_URL and GRAPH_CREDENTIAL are not set: using the local Graph emulator "
        f"at {LOCAL_GRAPH} (start it with `.venv/bin/python -m graph_emulator --port 8765`)"
    )
    sample = settings.APP_ROOT / SAMPLE_RULES
    if explicit_rules or env.get("RULES_FILE", "").strip() or settings.rules_file().exists():
        return LocalDefault(graph)
    if not sample.exists():
        return LocalDefault(graph)
    env["RULES_FILE"] = SAMPLE_RULES
    return LocalDefault(
        graph,
        f"note: no rules file configured (--rules, RULES_FILE or {settings.DEFAULT_RULES_FILE} "
        f"next to function_app.py): using the sample rules, {sample}",
    )


def require_credential(environ: Mapping[str, str] | None = None) -> None:
    """Refuse to guess a credential: the Functions host defaults to managed identity, a
    command line on a laptop must say which one it means."""
    env = os.environ if environ is None else environ
    if not env.get("GRAPH_CREDENTIAL", "").strip():
        raise settings.SettingsError(
            f"GRAPH_CREDENTIAL is not set (GRAPH_BASE_URL is {env.get('GRAPH_BASE_URL', '')!r}); "
            + CREDENTIAL_HINT
        )
