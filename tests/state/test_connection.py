"""Which table service and identity the settings name: connection string or identity-based,
as the Functions host reads AzureWebJobsStorage; the table prefix is checked."""

from __future__ import annotations

import pytest

from reconciler.settings import Settings, SettingsError
from reconciler.state import StateUnavailable
from reconciler.state.connection import StorageEndpoint
from reconciler.state.tables import TableStateStore


def test_a_connection_string_wins_and_reaches_the_table_endpoint() -> None:
    settings = Settings.from_env(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "AzureWebJobsStorage__accountName": "ignored",
        }
    )
    endpoint = StorageEndpoint.from_settings(settings)
    assert endpoint.connection_string == "UseDevelopmentStorage=true"
    assert endpoint.service_client().url.startswith("http://127.0.0.1:10002/devstoreaccount1")


def test_an_account_name_means_its_table_service_with_default_credential() -> None:
    settings = Settings.from_env({"AzureWebJobsStorage__accountName": "contoso"})
    endpoint = StorageEndpoint.from_settings(settings)
    assert endpoint.service_uri == "https://contoso.table.core.windows.net"
    assert type(endpoint.credential()).__name__ == "DefaultAzureCredential"
    assert endpoint.service_client().url.startswith("https://contoso.table.core.windows.net")


def test_a_user_assigned_identity_is_passed_its_client_id() -> None:
    settings = Settings.from_env(
        {
            "AzureWebJobsStorage__tableServiceUri": "https://contoso.table.core.windows.net/",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "00000000-0000-4000-8000-000000000042",
        }
    )
    endpoint = StorageEndpoint.from_settings(settings)
    assert endpoint.service_uri == "https://contoso.table.core.windows.net"
    assert endpoint.managed_identity and endpoint.client_id.endswith("42")
    assert type(endpoint.credential()).__name__ == "ManagedIdentityCredential"


def test_an_unknown_credential_kind_is_named() -> None:
    settings = Settings.from_env(
        {"AzureWebJobsStorage__accountName": "x", "AzureWebJobsStorage__credential": "cert"}
    )
    with pytest.raises(SettingsError, match="AzureWebJobsStorage__credential"):
        StorageEndpoint.from_settings(settings)


async def test_no_storage_at_all_makes_every_call_unavailable() -> None:
    store = TableStateStore.from_settings(Settings.from_env({}))
    with pytest.raises(StateUnavailable, match="AzureWebJobsStorage is not set"):
        await store.read_budget(["g"])
    with pytest.raises(StateUnavailable, match="AzureWebJobsStorage is not set"):
        await store.holds()
    await store.close()


@pytest.mark.parametrize("prefix", ["1abc", "re-con", "x" * 57])
def test_a_table_prefix_azure_would_refuse_is_an_error(prefix: str) -> None:
    with pytest.raises(SettingsError, match="STATE_TABLE_PREFIX"):
        Settings.from_env({"STATE_TABLE_PREFIX": prefix})


def test_budget_settings_are_read_and_checked() -> None:
    settings = Settings.from_env(
        {"REMOVAL_WINDOW_MINUTES": "15", "MAX_TENANT_REMOVALS_PER_WINDOW": "0", "HISTORY_DAYS": "7"}
    )
    assert (settings.removal_window_minutes, settings.max_tenant_removals_per_window) == (15, 0)
    assert settings.history_days == 7
    with pytest.raises(SettingsError, match="REMOVAL_WINDOW_MINUTES"):
        Settings.from_env({"REMOVAL_WINDOW_MINUTES": "0"})
