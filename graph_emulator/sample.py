"""Fixed ids of the sample tenant, shared by the emulator, the demo and rules.sample.toml.

The generator creates these groups and the CEO in every tenant it builds ("--tenant sample"), so
a rules file written against these ids works on any seed and size. `rule` is the Entra rule
each assigned group is meant to follow (what the sample rules file should say); the generator
seeds every group with a partly wrong membership so a first reconciliation has work to do.
"""

from __future__ import annotations

from typing import Final

TENANT_ID: Final = "7c2f4a10-5b1d-4e2a-9c3b-6d8e0f1a2b3c"
DOMAIN: Final = "fabrikam.example"
# The app the emulator pretends every caller is (subscriptions report it as applicationId).
APPLICATION_ID: Final = "3e1b6c0a-9d2f-4b8e-a7c5-1f0d2e3c4b5a"
# The app that owns the tenant's one directory extension (its appId without hyphens).
EXTENSION_APP_ID: Final = "b7d8e648520f41d3b9c0fdeb91768a0a"
EXTENSION_PROPERTY: Final = f"extension_{EXTENSION_APP_ID}_jobGroup"

CEO_ID: Final = "20000000-0000-4000-8000-000000000001"
EXCHANGE_ONLINE_PLAN_2: Final = "efb87545-963c-4e0d-99df-69c6916d9eb0"
EMEA_USAGE_LOCATIONS: Final = ("GB", "DE", "FR", "NL", "IE", "ES", "SE", "PL", "ZA", "AE")

SALES_ALL: Final = "10000000-0000-4000-8000-000000000001"
ENGINEERING_ENABLED: Final = "10000000-0000-4000-8000-000000000002"
GUESTS: Final = "10000000-0000-4000-8000-000000000003"
MANAGERS: Final = "10000000-0000-4000-8000-000000000004"
EMEA_STAFF: Final = "10000000-0000-4000-8000-000000000005"
EXCHANGE_PLAN_2_USERS: Final = "10000000-0000-4000-8000-000000000006"
CONTOSO_GUESTS: Final = "10000000-0000-4000-8000-000000000007"
RECENT_HIRES: Final = "10000000-0000-4000-8000-000000000008"
CEO_DIRECT_REPORTS: Final = "10000000-0000-4000-8000-000000000009"
BUILDING_7: Final = "10000000-0000-4000-8000-000000000010"
ALL_USERS: Final = "10000000-0000-4000-8000-000000000011"
DYNAMIC_LEGACY: Final = "10000000-0000-4000-8000-0000000000d1"
ALL_STAFF_DL: Final = "10000000-0000-4000-8000-0000000000e1"
ON_PREM_SYNCED: Final = "10000000-0000-4000-8000-0000000000f1"

_EMEA = ", ".join(f'"{code}"' for code in EMEA_USAGE_LOCATIONS)

# kind: "assigned" (writable), "dynamic" (writes get 403), "mail-enabled" (writes get 400),
# "on-premises-synced" (writes get 400).
SAMPLE_GROUPS: Final[list[dict[str, str | None]]] = [
    {
        "id": SALES_ALL,
        "displayName": "Sales - all",
        "kind": "assigned",
        "rule": 'user.department -eq "Sales"',
    },
    {
        "id": ENGINEERING_ENABLED,
        "displayName": "Engineering - enabled members",
        "kind": "assigned",
        "rule": '(user.department -eq "Engineering") -and (user.accountEnabled -eq true)'
        ' -and (user.userType -eq "Member")',
    },
    {
        "id": GUESTS,
        "displayName": "Guests",
        "kind": "assigned",
        "rule": 'user.userType -eq "Guest"',
    },
    {
        "id": MANAGERS,
        "displayName": "Managers",
        "kind": "assigned",
        "rule": 'user.jobTitle -contains "Manager"',
    },
    {
        "id": EMEA_STAFF,
        "displayName": "EMEA staff",
        "kind": "assigned",
        "rule": f'(user.usageLocation -in [{_EMEA}]) -and (user.userType -eq "Member")',
    },
    {
        "id": EXCHANGE_PLAN_2_USERS,
        "displayName": "Exchange Online (Plan 2) users",
        "kind": "assigned",
        "rule": "user.assignedPlans -any (assignedPlan.servicePlanId -eq "
        f'"{EXCHANGE_ONLINE_PLAN_2}" -and assignedPlan.capabilityStatus -eq "Enabled")',
    },
    {
        "id": CONTOSO_GUESTS,
        "displayName": "Contoso partner guests",
        "kind": "assigned",
        "rule": '(user.userType -eq "Guest") -and (user.companyName -eq "Contoso")',
    },
    {
        "id": RECENT_HIRES,
        "displayName": "Recent hires",
        "kind": "assigned",
        "rule": "user.employeeHireDate -ge system.now -minus p90d",
    },
    {
        "id": CEO_DIRECT_REPORTS,
        "displayName": "Direct reports of the CEO",
        "kind": "assigned",
        "rule": f'Direct Reports for "{CEO_ID}"',
    },
    {
        "id": BUILDING_7,
        "displayName": "Building 7",
        "kind": "assigned",
        "rule": 'user.physicalDeliveryOfficeName -eq "Building 7"',
    },
    {
        "id": ALL_USERS,
        "displayName": "All users",
        "kind": "assigned",
        "rule": "user.objectId -ne null",
    },
    {
        "id": DYNAMIC_LEGACY,
        "displayName": "Dynamic - legacy",
        "kind": "dynamic",
        "rule": 'user.department -eq "Marketing"',
    },
    {"id": ALL_STAFF_DL, "displayName": "All staff DL", "kind": "mail-enabled", "rule": None},
    {
        "id": ON_PREM_SYNCED,
        "displayName": "On-prem synced group",
        "kind": "on-premises-synced",
        "rule": None,
    },
]
