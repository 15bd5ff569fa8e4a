"""Which storage service (the state's tables, the work queue) to reach, and how to
authenticate, from the app settings.

The app's own storage account (`AzureWebJobsStorage`), as the Functions host itself reads it:
a connection string (`UseDevelopmentStorage=true` or explicit endpoints for Azurite), or an
identity-based connection (`AzureWebJobsStorage__accountName`, or
`AzureWebJobsStorage__tableServiceUri` / `__queueServiceUri`, with
`__credential=managedidentity` and `__clientId` for a user-assigned identity; otherwise
DefaultAzureCredential).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.settings import Settings, SettingsError

_RETRIES: dict[str, Any] = {
    # Two quick retries (about 0.2 s and 0.4 s), not the SDK's ten with 0.8 s back-off: a
    # budget check waiting on storage holds a worker slot, and failing closed is safe.
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 2,
    "connection_timeout": 5,
    "read_timeout": 20,
}


Service = Literal["table", "queue"]
_NEEDED_FOR = {
    "table": "the removal budget and holds live in that storage account's tables",
    "queue": "rechecks and re-sent messages go to that storage account's work queue",
}


@dataclass(frozen=True, slots=True)
class StorageEndpoint:
    """A connection string, or a service URI with the identity to use."""

    connection_string: str = ""
    service_uri: str = ""
    managed_identity: bool = False
    client_id: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, service: Service = "table") -> StorageEndpoint:
        """Raises SettingsError naming the settings when none is given."""
        if settings.storage_connection:
            return cls(connection_string=settings.storage_connection)
        uri = settings.storage_table_uri if service == "table" else settings.storage_queue_uri
        if not uri and settings.storage_account_name:
            uri = f"https://{settings.storage_account_name}.{service}.core.windows.net"
        if not uri:
            raise SettingsError(
                "AzureWebJobsStorage is not set (nor AzureWebJobsStorage__accountName or "
                f"AzureWebJobsStorage__{service}ServiceUri): {_NEEDED_FOR[service]}"
            )
        credential = settings.storage_credential
        if credential not in ("", "managedidentity"):
            raise SettingsError(
                f"AzureWebJobsStorage__credential={credential!r}: only 'managedidentity' is "
                "supported (leave it unset for DefaultAzureCredential)"
            )
        return cls(
            service_uri=uri.rstrip("/"),
            managed_identity=credential == "managedidentity",
            client_id=settings.storage_client_id,
        )

    def credential(self) -> Any:
        """The async azure-identity credential for an identity-based connection."""
        if self.managed_identity:
            from azure.identity.aio import ManagedIdentityCredential

            # ManagedIdentityCredential does not read AZURE_CLIENT_ID by itself (INTERFACES.md).
            return ManagedIdentityCredential(client_id=self.client_id or None)
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=self.client_id or None)

    def service_client(self) -> Any:
        """An async TableServiceClient (for a table endpoint); no request is made until it is
        used."""
        from azure.data.tables.aio import TableServiceClient

        if self.connection_string:
            return TableServiceClient.from_connection_string(self.connection_string, **_RETRIES)
        return TableServiceClient(self.service_uri, credential=self.credential(), **_RETRIES)


def table_service(settings: Settings) -> tuple[Any, str]:
    """An async TableServiceClient for the settings, or None and the reason (no storage
    setting): a store built without one fails each call, naming the settings, instead of the
    app failing at start."""
    try:
        endpoint = StorageEndpoint.from_settings(settings)
    except SettingsError as error:
        return None, str(error)
    return endpoint.service_client(), ""
