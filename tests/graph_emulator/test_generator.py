"""The tenant generator: deterministic, exact size, realistic values, sample groups with work."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from graph_emulator import sample
from graph_emulator.directory import Directory
from graph_emulator.generator import generate
from graph_emulator.tenant_document import TenantDocument

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tenant() -> TenantDocument:
    return generate(400, 5, now=NOW)


def test_same_seed_and_day_give_the_same_tenant() -> None:
    first = json.dumps(generate(60, 3, now=NOW).to_json(), sort_keys=True)
    second = json.dumps(generate(60, 3, now=NOW).to_json(), sort_keys=True)
    assert first == second


def test_another_seed_gives_other_users() -> None:
    assert generate(60, 3, now=NOW).users[5]["id"] != generate(60, 4, now=NOW).users[5]["id"]


@pytest.mark.parametrize("size", [1, 2, 7, 50])
def test_exactly_n_users_with_the_ceo_among_them(size: int) -> None:
    document = generate(size, 1, now=NOW)
    assert len(document.users) == size
    assert len({u["id"] for u in document.users}) == size
    assert document.users[0]["id"] == sample.CEO_ID


def test_sample_groups_exist_with_their_fixed_ids_and_kinds(tenant: TenantDocument) -> None:
    groups = {g["id"]: g for g in tenant.groups}
    for spec in sample.SAMPLE_GROUPS:
        group = groups[spec["id"]]
        assert group["displayName"] == spec["displayName"]
    assert groups[sample.DYNAMIC_LEGACY]["groupTypes"] == ["DynamicMembership"]
    assert groups[sample.DYNAMIC_LEGACY]["membershipRule"] == 'user.department -eq "Marketing"'
    assert groups[sample.ALL_STAFF_DL]["mailEnabled"] is True
    assert groups[sample.ON_PREM_SYNCED]["onPremisesSyncEnabled"] is True
    assert len(sample.SAMPLE_GROUPS) == 14


def test_users_carry_every_rule_property(tenant: TenantDocument) -> None:
    members = [u for u in tenant.users if u["userType"] == "Member"]
    for name in (
        "department",
        "country",
        "city",
        "jobTitle",
        "companyName",
        "usageLocation",
        "employeeId",
        "employeeHireDate",
        "proxyAddresses",
        "assignedPlans",
        sample.EXTENSION_PROPERTY,
    ):
        assert sum(1 for u in members if u.get(name)) > len(members) * 0.5, name
    assert any(u.get("otherMails") for u in members)
    assert any(u["accountEnabled"] is False for u in tenant.users)
    attributes = Counter(
        key for u in tenant.users for key in u.get("onPremisesExtensionAttributes", {})
    )
    assert set(attributes) <= {f"extensionAttribute{n}" for n in range(1, 16)}
    assert attributes["extensionAttribute1"] > 0
    assert re.fullmatch(r"extension_[0-9a-f]{32}_\w+", sample.EXTENSION_PROPERTY)


def test_values_are_realistic_and_skewed(tenant: TenantDocument) -> None:
    titles = Counter(u.get("jobTitle") for u in tenant.users)
    assert "Senior Engineer" in titles
    assert "Sales Manager" in titles
    departments = Counter(u.get("department") for u in tenant.users if u.get("department"))
    top, second = departments.most_common(2)
    assert top[0] == "Engineering" and top[1] > second[1]
    assert Counter(u.get("country") for u in tenant.users).most_common(1)[0][0] == "United States"
    guests = [u for u in tenant.users if u["userType"] == "Guest"]
    assert 0 < len(guests) < len(tenant.users) * 0.2
    assert all("#EXT#" in g["userPrincipalName"] for g in guests)


def test_manager_chains_lead_to_the_ceo(tenant: TenantDocument) -> None:
    managers = tenant.managers
    assert sample.CEO_ID not in managers
    depth = Counter()
    for user_id in managers:
        steps, current = 0, user_id
        while current in managers:
            current, steps = managers[current], steps + 1
            assert steps < 10, "a manager cycle"
        assert current == sample.CEO_ID
        depth[steps] += 1
    assert depth[1] >= 3 and max(depth) >= 3


def test_every_sample_group_has_matches_and_drift(tenant: TenantDocument) -> None:
    """Some right members, some missing, a few that should not be there."""
    users = {u["id"]: u for u in tenant.users}
    recent = (NOW - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rules = {
        sample.SALES_ALL: lambda u: u.get("department") == "Sales",
        sample.GUESTS: lambda u: u["userType"] == "Guest",
        sample.CONTOSO_GUESTS: lambda u: (
            u["userType"] == "Guest" and u.get("companyName") == "Contoso"
        ),
        sample.BUILDING_7: lambda u: u.get("officeLocation") == "Building 7",
        sample.RECENT_HIRES: lambda u: u.get("employeeHireDate", "") >= recent,
        sample.CEO_DIRECT_REPORTS: lambda u: tenant.managers.get(u["id"]) == sample.CEO_ID,
        sample.MANAGERS: lambda u: "manager" in (u.get("jobTitle") or "").lower(),
    }
    for group_id, rule in rules.items():
        members = set(tenant.members[group_id])
        right = {uid for uid, u in users.items() if rule(u)}
        assert right & members, group_id
        assert right - members, f"{group_id}: nothing missing"
        assert {m for m in members if m in users} - right, f"{group_id}: nothing wrong"


def test_one_group_holds_a_device(tenant: TenantDocument) -> None:
    device_ids = {d["id"] for d in tenant.devices}
    holders = [g for g, ids in tenant.members.items() if device_ids & set(ids)]
    assert holders == [sample.BUILDING_7]


def test_a_tiny_tenant_still_matches_every_assigned_sample_group() -> None:
    document = generate(8, 2, now=NOW)
    directory = Directory(document)
    exchange = [
        u
        for u in document.users
        if any(
            p["servicePlanId"] == sample.EXCHANGE_ONLINE_PLAN_2 for p in u.get("assignedPlans", [])
        )
    ]
    assert exchange
    assert any(u.get("officeLocation") == "Building 7" for u in document.users)
    assert any(u.get("companyName") == "Contoso" for u in document.users)
    assert any("Manager" in (u.get("jobTitle") or "") for u in document.users)
    assert any(u.get("usageLocation") in sample.EMEA_USAGE_LOCATIONS for u in document.users)
    assert directory.reports[sample.CEO_ID]


def test_extra_groups_have_log_normal_sizes() -> None:
    document = generate(2000, 1, now=NOW, extra_groups=200)
    sizes = sorted(len(document.members[g["id"]]) for g in document.groups[-200:])
    median = sizes[len(sizes) // 2]
    assert 50 <= median <= 200
    assert sum(sizes) / len(sizes) > median  # skewed: a long tail of big groups


def test_documents_round_trip_through_json(tenant: TenantDocument) -> None:
    text = json.dumps(tenant.to_json())
    again = TenantDocument.from_json(json.loads(text))
    assert again.to_json() == json.loads(text)
    assert sample.EXTENSION_PROPERTY in again.extension_properties
