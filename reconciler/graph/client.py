"""Builds the one msgraph-sdk client from settings: credential, base URL, retry ownership."""

from __future__ import annotations

import time
from typing import Any

from reconciler.settings import Settings, SettingsError

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class StaticTokenCredential:
    """An async TokenCredential that returns a fixed token: for the local Graph emulator."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def build_credential(settings: Settings) -> Any:
    """The credential GRAPH_CREDENTIAL names; managed identity is the production default."""
    kind = settings.graph_credential
    if kind == "static":
        return StaticTokenCredential(settings.require("graph_static_token"))
    from azure.identity import aio

    if kind == "managed-identity":
        # ManagedIdentityCredential does not read AZURE_CLIENT_ID by itself (INTERFACES.md).
        return aio.ManagedIdentityCredential(client_id=settings.azure_client_id or None)
    if kind == "default":
        return aio.DefaultAzureCredential()
    if kind == "client-secret":
        import os

        missing = [
            n
            for n in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")
            if not os.environ.get(n)
        ]
        if missing:
            raise SettingsError(f"GRAPH_CREDENTIAL=client-secret needs {', '.join(missing)}")
        return aio.ClientSecretCredential(
            os.environ["AZURE_TENANT_ID"],
            os.environ["AZURE_CLIENT_ID"],
            os.environ["AZURE_CLIENT_SECRET"],
        )
    raise SettingsError(f"GRAPH_CREDENTIAL={kind!r} is not supported")


def build_client(settings: Settings, credential: Any, http: Any) -> Any:
    """A GraphServiceClient on GRAPH_BASE_URL whose SDK-level retries are off.

    The SDK's RetryHandler ignores decimal or zero Retry-After values and adds its own backoff
    (kiota-http 1.16), so the transport owns retries; two retry layers would multiply.
    """
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph_core import GraphClientFactory

    options = dict(graph_options)
    options[RetryHandlerOption.get_key()] = RetryHandlerOption(max_retries=0, should_retry=False)
    pipeline = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE])
    adapter = GraphRequestAdapter(auth, client=pipeline)
    adapter.base_url = settings.graph_base_url
    return GraphServiceClient(request_adapter=adapter)
