"""Builds a deterministic sample tenant document: users, manager chains, devices and groups.

Same seed, size and day give the same tenant. Hire dates are relative to `now` (midnight UTC of
the day by default) so "recent hires" stay recent; pass `now` to pin them. Users and group
memberships come from separate random streams, so adding groups never changes the users.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from graph_emulator import catalog, sample
from graph_emulator.tenant_document import TenantDocument

User = dict[str, Any]


class _Weighted:
    """Fast weighted choice: one random() and a bisect per draw."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def today_utc() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_COUNTRIES = _Weighted([(entry, entry[2]) for entry in catalog.COUNTRIES])
_DEPARTMENTS = _Weighted([(entry, entry[1]) for entry in catalog.DEPARTMENTS])
_IC_TITLES = {dept[0]: _Weighted(dept[3]) for dept in catalog.DEPARTMENTS}
_BUILDINGS = _Weighted(catalog.SEATTLE_BUILDINGS)
_PARTNERS = _Weighted([(entry, entry[2]) for entry in catalog.PARTNER_COMPANIES])
_GUEST_TITLES = _Weighted(catalog.GUEST_TITLES)
_EMPLOYEE_TYPES = _Weighted(catalog.EMPLOYEE_TYPES)
_JOB_GROUPS = _Weighted(catalog.JOB_GROUPS)
_WORK_MODES = _Weighted(catalog.WORK_MODES)
_LICENCES = _Weighted([(entry, entry[3]) for entry in catalog.LICENCES])
_DEVICE_KINDS = _Weighted([(entry, entry[3]) for entry in catalog.DEVICE_KINDS])
_US = next(entry for entry in catalog.COUNTRIES if entry[1] == "US")
_EMEA_COUNTRIES = [entry for entry in catalog.COUNTRIES if entry[1] in sample.EMEA_USAGE_LOCATIONS]
_CONTOSO = next(entry for entry in catalog.PARTNER_COMPANIES if entry[0] == "Contoso")


class _Plans:
    """Shared, never-mutated assignedPlans/assignedLicenses values: one list per licence state.

    Sharing keeps a 100,000-user tenant small; the emulator replaces, never edits, a value.
    """

    def __init__(self, now: datetime) -> None:
        assigned = iso(now - timedelta(days=400))
        self.by_key: dict[tuple[str, str], tuple[list, list]] = {}
        for name, sku, plans, _ in catalog.LICENCES:
            for status in ("Enabled", "Suspended", "Deleted"):
                assigned_plans = [
                    {
                        "assignedDateTime": assigned,
                        "capabilityStatus": status,
                        "service": service,
                        "servicePlanId": plan_id,
                    }
                    for plan_id, service in plans
                ]
                licences = [] if status == "Deleted" else [{"disabledPlans": [], "skuId": sku}]
                self.by_key[(name, status)] = (assigned_plans, licences)


class _Namer:
    """Unique mail nicknames: first.last, then first.last2, first.last3..."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def nickname(self, first: str, last: str) -> str:
        base = f"{first}.{last}".lower().replace(" ", "")
        count = self.used.get(base, 0) + 1
        self.used[base] = count
        return base if count == 1 else f"{base}{count}"


# Forced traits for the first users, so even a tiny tenant has a match for every sample group.
_PERSONAS: tuple[dict[str, Any], ...] = (
    {"department": "Sales", "manager_level": True, "country": "GB", "hire_days": 30},
    {"department": "Engineering", "office": "Building 7", "licence": "E5", "enabled": True},
    {"guest": "Contoso"},
    {"department": "Marketing", "country": "DE", "hire_days": 12},
    {"department": "Engineering", "disabled": True},
    {"guest": "Northwind Traders"},
)


def generate(
    users: int = 200,
    seed: int = 1,
    *,
    now: datetime | None = None,
    extra_groups: int = 0,
) -> TenantDocument:
    """Return a tenant document with exactly `users` users (the CEO among them)."""
    if users < 1:
        raise ValueError("a tenant needs at least one user (the CEO)")
    now = now or today_utc()
    rng = random.Random(f"users-{seed}")
    plans = _Plans(now)
    namer = _Namer()
    people: list[User] = [_ceo(now, plans, namer)]
    employee_numbers = rng.sample(range(100000, 100000 + 10 * users), users)
    for index in range(1, users):
        persona = _PERSONAS[index - 1] if index - 1 < len(_PERSONAS) else {}
        if persona.get("guest") or (not persona and rng.random() < 0.07):
            people.append(_guest(rng, now, namer, persona.get("guest")))
        else:
            people.append(_member(rng, now, plans, namer, employee_numbers[index], persona))
    managers = _manager_chains(rng, people)
    devices = _devices(random.Random(f"devices-{seed}"), max(3, users // 20), now)
    groups, members = _groups(random.Random(f"groups-{seed}"), people, managers, devices, now)
    if extra_groups:
        _add_extra_groups(random.Random(f"extra-{seed}"), extra_groups, people, groups, members)
    return TenantDocument(
        tenant_id=sample.TENANT_ID,
        domain=sample.DOMAIN,
        extension_properties=(sample.EXTENSION_PROPERTY,),
        users=people,
        managers=managers,
        groups=groups,
        members=members,
        devices=devices,
    )


def _ceo(now: datetime, plans: _Plans, namer: _Namer) -> User:
    nickname = namer.nickname("Morgan", "Blake")
    mail = f"{nickname}@{sample.DOMAIN}"
    assigned_plans, licences = plans.by_key[("E5", "Enabled")]
    return {
        "id": sample.CEO_ID,
        "accountEnabled": True,
        "displayName": "Morgan Blake",
        "givenName": "Morgan",
        "surname": "Blake",
        "userPrincipalName": mail,
        "mail": mail,
        "mailNickname": nickname,
        "jobTitle": "Chief Executive Officer",
        "department": "Executive",
        "companyName": "Fabrikam",
        "officeLocation": "Building 7",
        "city": "Seattle",
        "state": "WA",
        "postalCode": "98101",
        "country": "United States",
        "usageLocation": "US",
        "preferredLanguage": "en-US",
        "businessPhones": ["+1 425 555 0100"],
        "userType": "Member",
        "employeeId": "100001",
        "employeeType": "Employee",
        "employeeHireDate": iso(now - timedelta(days=4000)),
        "employeeOrgData": {"division": "Corporate", "costCenter": "CC-1000"},
        "createdDateTime": iso(now - timedelta(days=4000)),
        "onPremisesExtensionAttributes": {
            "extensionAttribute1": "FTE",
            "extensionAttribute10": "VIP",
        },
        sample.EXTENSION_PROPERTY: "E7",
        "proxyAddresses": [f"SMTP:{mail}", f"smtp:ceo@{sample.DOMAIN}"],
        "otherMails": [],
        "imAddresses": [mail],
        "assignedPlans": assigned_plans,
        "assignedLicenses": licences,
        "passwordPolicies": "None",
    }


def _phone(rng: random.Random, usage_location: str) -> str:
    return f"{catalog.PHONE_PREFIX[usage_location]} {rng.randrange(10000):04d}"


def _member(
    rng: random.Random,
    now: datetime,
    plans: _Plans,
    namer: _Namer,
    employee_number: int,
    persona: dict[str, Any],
) -> User:
    first = rng.choice(catalog.FIRST_NAMES)
    last = rng.choice(catalog.LAST_NAMES)
    nickname = namer.nickname(first, last)
    mail = f"{nickname}@{sample.DOMAIN}"
    if "country" in persona:
        country = next(e for e in catalog.COUNTRIES if e[1] == persona["country"])
    else:
        country = _COUNTRIES.draw(rng)
    if "office" in persona:
        country = _US
    country_name, usage_location, _, cities, language, region = country
    city, state, postal_code = rng.choice(cities)
    if "office" in persona:
        city, state, postal_code = "Seattle", "WA", "98101"
    dept = persona.get("department") or _DEPARTMENTS.draw(rng)[0]
    dept_entry = next(d for d in catalog.DEPARTMENTS if d[0] == dept)
    hire_days = persona.get("hire_days", min(int(rng.expovariate(1 / 900)), 5400))
    hired = now - timedelta(days=hire_days)
    employee_type = _EMPLOYEE_TYPES.draw(rng)
    synced = rng.random() < 0.35
    user: User = {
        "id": _uuid(rng),
        "accountEnabled": persona.get(
            "enabled", not persona.get("disabled") and rng.random() < 0.93
        ),
        "displayName": f"{first} {last}",
        "givenName": first,
        "surname": last,
        "userPrincipalName": mail,
        "mail": mail,
        "mailNickname": nickname,
        "jobTitle": None if rng.random() < 0.02 else _IC_TITLES[dept].draw(rng),
        "department": None if rng.random() < 0.02 and not persona else dept,
        "companyName": "Fabrikam" if rng.random() < 0.96 else None,
        "city": city,
        "state": state,
        "postalCode": postal_code,
        "country": country_name,
        "usageLocation": None if rng.random() < 0.03 and not persona else usage_location,
        "preferredLanguage": language,
        "userType": "Member",
        "employeeId": str(employee_number),
        "employeeType": employee_type,
        "employeeHireDate": iso(hired),
        "employeeOrgData": {"division": region, "costCenter": f"CC-{dept_entry[2]}"},
        "createdDateTime": iso(hired - timedelta(days=rng.randrange(1, 20))),
        "proxyAddresses": [f"SMTP:{mail}", f"smtp:{first[0]}{last}@{sample.DOMAIN}".lower()],
        "passwordPolicies": "DisablePasswordExpiration" if rng.random() < 0.1 else "None",
    }
    if persona.get("manager_level"):
        user["_manager_level"] = True
    if "office" in persona:
        user["officeLocation"] = persona["office"]
    elif city == "Seattle":
        user["officeLocation"] = _BUILDINGS.draw(rng)
    elif rng.random() < 0.85:
        user["officeLocation"] = f"{city} Office"
    else:
        user["officeLocation"] = "Remote"
    if rng.random() < 0.8:
        user["businessPhones"] = [_phone(rng, usage_location)]
    if rng.random() < 0.5:
        user["mobilePhone"] = _phone(rng, usage_location)
    if rng.random() < 0.2:
        user["otherMails"] = [f"{nickname}@personal-mail.example"]
    if rng.random() < 0.6:
        user["imAddresses"] = [mail]
    if rng.random() < 0.02:
        user["faxNumber"] = _phone(rng, usage_location)
    if rng.random() < 0.9:
        user[sample.EXTENSION_PROPERTY] = _JOB_GROUPS.draw(rng)
    _licence(rng, plans, user, persona.get("licence"))
    user["onPremisesExtensionAttributes"] = _extension_attributes(rng, employee_type, synced)
    if synced:
        _mark_synced(rng, user, first, last, dept, hired)
    return {key: value for key, value in user.items() if value is not None}


def _licence(rng: random.Random, plans: _Plans, user: User, forced: str | None) -> None:
    if forced is None and (user["usageLocation"] is None or rng.random() < 0.1):
        return
    name = forced or _LICENCES.draw(rng)[0]
    roll = rng.random()
    status = "Enabled" if forced or roll < 0.96 else ("Suspended" if roll < 0.98 else "Deleted")
    user["assignedPlans"], user["assignedLicenses"] = plans.by_key[(name, status)]


def _extension_attributes(rng: random.Random, employee_type: str, synced: bool) -> dict[str, str]:
    """Sparse: most of the fifteen are unset in real tenants; absent keys read as null."""
    attributes: dict[str, str] = {}
    if rng.random() < (0.85 if synced else 0.3):
        attributes["extensionAttribute1"] = {"Employee": "FTE"}.get(employee_type, employee_type)
    if rng.random() < 0.4:
        attributes["extensionAttribute2"] = f"B{rng.randrange(1000, 9999)}"
    if rng.random() < 0.5:
        attributes["extensionAttribute5"] = _WORK_MODES.draw(rng)
    if rng.random() < 0.01:
        attributes["extensionAttribute10"] = "VIP"
    if rng.random() < 0.005:
        attributes["extensionAttribute15"] = "NoAutoGroups"
    return attributes


def _mark_synced(
    rng: random.Random, user: User, first: str, last: str, dept: str, hired: datetime
) -> None:
    sam = f"{first[0]}{last}"[:20].lower()
    user.update(
        {
            "onPremisesSyncEnabled": True,
            "onPremisesSamAccountName": sam,
            "onPremisesDomainName": "corp.fabrikam.example",
            "onPremisesUserPrincipalName": f"{sam}@corp.fabrikam.example",
            "onPremisesDistinguishedName": f"CN={first} {last},OU={dept},DC=corp,DC=fabrikam,"
            "DC=example",
            "onPremisesSecurityIdentifier": f"S-1-5-21-3623811015-3361044348-30300820-"
            f"{rng.randrange(1000, 999999)}",
            "onPremisesImmutableId": uuid.UUID(int=rng.getrandbits(128)).hex[:22] + "==",
            "onPremisesLastSyncDateTime": iso(hired + timedelta(days=1)),
        }
    )


def _guest(rng: random.Random, now: datetime, namer: _Namer, company: str | None) -> User:
    first = rng.choice(catalog.FIRST_NAMES)
    last = rng.choice(catalog.LAST_NAMES)
    partner = _PARTNERS.draw(rng) if company is None else _partner(company)
    partner_name, partner_domain, _ = partner
    nickname = namer.nickname(first, last)
    external_mail = f"{nickname}@{partner_domain}"
    invited = now - timedelta(days=rng.randrange(1, 1100))
    accepted = rng.random() < 0.85
    guest = {
        "id": _uuid(rng),
        "accountEnabled": rng.random() < 0.97,
        "displayName": f"{first} {last} ({partner_name})",
        "givenName": first,
        "surname": last,
        "userPrincipalName": f"{external_mail.replace('@', '_')}#EXT#@{sample.DOMAIN}",
        "mail": external_mail,
        "mailNickname": f"{external_mail.replace('@', '_')}#EXT#",
        "jobTitle": _GUEST_TITLES.draw(rng),
        "companyName": partner_name if rng.random() < 0.92 or company else None,
        "userType": "Guest",
        "creationType": "Invitation",
        "externalUserState": "Accepted" if accepted else "PendingAcceptance",
        "externalUserStateChangeDateTime": iso(invited + timedelta(days=1)),
        "createdDateTime": iso(invited),
        "otherMails": [external_mail],
        "proxyAddresses": [f"SMTP:{external_mail}"],
        "onPremisesExtensionAttributes": {},
    }
    return {key: value for key, value in guest.items() if value is not None}


def _partner(name: str) -> tuple[str, str, int]:
    return next(entry for entry in catalog.PARTNER_COMPANIES if entry[0] == name)


def _manager_chains(rng: random.Random, people: list[User]) -> dict[str, str]:
    """CEO -> department heads -> directors -> managers -> individual contributors.

    Titles are rewritten to match the level, so "Sales Manager" is really someone's manager.
    Guests have no manager; about 3% of members have none either (not yet assigned).
    """
    manager_titles = {dept[0]: dept[4] for dept in catalog.DEPARTMENTS}
    by_dept: dict[str, list[User]] = {}
    for user in people[1:]:
        if user["userType"] == "Member" and user.get("department"):
            by_dept.setdefault(user["department"], []).append(user)
    managers: dict[str, str] = {}
    ceo = people[0]
    for dept, staff in by_dept.items():
        forced = [u for u in staff if u.pop("_manager_level", False)]
        forced_ids = {u["id"] for u in forced}
        rest = [u for u in staff if u["id"] not in forced_ids]
        head, rest = (rest[0], rest[1:]) if len(staff) >= 8 else (None, rest)
        directors_count = len(staff) // 60
        directors, rest = rest[:directors_count], rest[directors_count:]
        managers_count = max(1, len(staff) // 9) if len(staff) >= 3 else 0
        line_managers = forced + rest[: max(0, managers_count - len(forced))]
        rest = rest[max(0, managers_count - len(forced)) :]
        if head is not None:
            head["jobTitle"] = catalog.DEPARTMENT_HEAD_TITLES.get(dept, f"Vice President, {dept}")
            managers[head["id"]] = ceo["id"]
        for director in directors:
            director["jobTitle"] = f"Director of {dept}"
            managers[director["id"]] = (head or ceo)["id"]
        for manager in line_managers:
            manager["jobTitle"] = manager_titles[dept]
            boss = rng.choice(directors) if directors else (head or ceo)
            managers[manager["id"]] = boss["id"]
        bosses = line_managers or directors or [head or ceo]
        for user in rest:
            if rng.random() < 0.03:
                continue
            managers[user["id"]] = rng.choice(bosses)["id"]
    for user in people[1:]:
        user.pop("_manager_level", None)
    assistant = next(
        (u for u in people[1:] if u["userType"] == "Member" and u["id"] not in managers), None
    )
    if assistant is not None:
        assistant["jobTitle"] = "Executive Assistant"
        managers[assistant["id"]] = ceo["id"]
    return managers


def _devices(rng: random.Random, count: int, now: datetime) -> list[dict[str, Any]]:
    devices = []
    for number in range(1, count + 1):
        code, operating_system, version, _ = _DEVICE_KINDS.draw(rng)
        devices.append(
            {
                "id": _uuid(rng),
                "deviceId": _uuid(rng),
                "displayName": f"FAB-{code}-{number:05d}",
                "accountEnabled": True,
                "operatingSystem": operating_system,
                "operatingSystemVersion": version,
                "trustType": "AzureAd" if rng.random() < 0.7 else "ServerAd",
                "isCompliant": rng.random() < 0.9,
                "isManaged": True,
                "approximateLastSignInDateTime": iso(now - timedelta(hours=rng.randrange(1, 500))),
            }
        )
    return devices


# How each sample group is meant to be decided; mirrors `rule` in sample.SAMPLE_GROUPS.
def _sample_predicates(
    managers: dict[str, str], now: datetime
) -> dict[str, Callable[[User], bool]]:
    recent = iso(now - timedelta(days=90))

    def enabled_exchange_plan_2(user: User) -> bool:
        return any(
            plan["servicePlanId"] == sample.EXCHANGE_ONLINE_PLAN_2
            and plan["capabilityStatus"] == "Enabled"
            for plan in user.get("assignedPlans") or ()
        )

    return {
        sample.SALES_ALL: lambda u: u.get("department") == "Sales",
        sample.ENGINEERING_ENABLED: lambda u: (
            u.get("department") == "Engineering"
            and u["accountEnabled"]
            and u["userType"] == "Member"
        ),
        sample.GUESTS: lambda u: u["userType"] == "Guest",
        sample.MANAGERS: lambda u: "manager" in (u.get("jobTitle") or "").lower(),
        sample.EMEA_STAFF: lambda u: (
            u.get("usageLocation") in sample.EMEA_USAGE_LOCATIONS and u["userType"] == "Member"
        ),
        sample.EXCHANGE_PLAN_2_USERS: enabled_exchange_plan_2,
        sample.CONTOSO_GUESTS: lambda u: (
            u["userType"] == "Guest" and u.get("companyName") == "Contoso"
        ),
        sample.RECENT_HIRES: lambda u: (u.get("employeeHireDate") or "") >= recent,
        sample.CEO_DIRECT_REPORTS: lambda u: managers.get(u["id"]) == sample.CEO_ID,
        sample.BUILDING_7: lambda u: u.get("officeLocation") == "Building 7",
        sample.ALL_USERS: lambda u: True,
        sample.DYNAMIC_LEGACY: lambda u: u.get("department") == "Marketing",
    }


def _drifted(rng: random.Random, right: list[str], wrong_pool: list[str]) -> list[str]:
    """Most of the right members, some missing, a few that should not be there."""
    kept = [user_id for user_id in right if rng.random() >= 0.12]
    if right and len(kept) == len(right):
        kept.pop(rng.randrange(len(kept)))
    extra = min(len(wrong_pool), 2 + len(right) // 100)
    return kept + rng.sample(wrong_pool, extra)


def _group(group_id: str, name: str, kind: str, created: str) -> dict[str, Any]:
    nickname = "".join(ch for ch in name.lower() if ch.isalnum())[:40] or "group"
    group: dict[str, Any] = {
        "id": group_id,
        "displayName": name,
        "description": None,
        "mailNickname": nickname,
        "mailEnabled": False,
        "securityEnabled": True,
        "groupTypes": [],
        "createdDateTime": created,
        "visibility": None,
        "isAssignableToRole": False,
        "securityIdentifier": f"S-1-12-1-{int(group_id[:8], 16)}-{int(group_id[-8:], 16)}",
    }
    if kind == "dynamic":
        group["groupTypes"] = ["DynamicMembership"]
        group["membershipRuleProcessingState"] = "On"
    elif kind == "mail-enabled":
        group["mailEnabled"] = True
        group["securityEnabled"] = False
        group["mail"] = f"{nickname}@{sample.DOMAIN}"
        group["proxyAddresses"] = [f"SMTP:{nickname}@{sample.DOMAIN}"]
    elif kind == "on-premises-synced":
        group["onPremisesSyncEnabled"] = True
        group["onPremisesSamAccountName"] = nickname[:20]
        group["onPremisesDomainName"] = "corp.fabrikam.example"
        group["onPremisesNetBiosName"] = "FABRIKAM"
        group["onPremisesLastSyncDateTime"] = created
    return group


def _groups(
    rng: random.Random,
    people: list[User],
    managers: dict[str, str],
    devices: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    predicates = _sample_predicates(managers, now)
    created = iso(now - timedelta(days=700))
    groups: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    user_ids = [u["id"] for u in people]
    for spec in sample.SAMPLE_GROUPS:
        group_id, kind = str(spec["id"]), str(spec["kind"])
        group = _group(group_id, str(spec["displayName"]), kind, created)
        groups.append(group)
        if kind == "dynamic":
            group["membershipRule"] = spec["rule"]
            members[group_id] = [u["id"] for u in people if predicates[group_id](u)]
        elif kind == "mail-enabled":
            members[group_id] = [uid for uid in user_ids if rng.random() < 0.3]
        elif kind == "on-premises-synced":
            members[group_id] = [
                u["id"] for u in people if u.get("onPremisesSyncEnabled") and rng.random() < 0.5
            ]
        else:
            matches = predicates[group_id]
            right = [u["id"] for u in people if matches(u)]
            wrong = [u["id"] for u in people if not matches(u)]
            members[group_id] = _drifted(rng, right, wrong)
    # One non-user member, which a reconciler must leave alone: a device in "Building 7".
    members[sample.BUILDING_7].append(devices[0]["id"])
    extras = (
        ("Project Phoenix", [uid for uid in user_ids if rng.random() < 0.02]),
        ("VPN users", [uid for uid in user_ids if rng.random() < 0.25]),
    )
    for name, ids in extras:
        group = _group(_uuid(rng), name, "assigned", created)
        groups.append(group)
        members[group["id"]] = ids
    return groups, members


def _add_extra_groups(
    rng: random.Random,
    count: int,
    people: list[User],
    groups: list[dict[str, Any]],
    members: dict[str, list[str]],
) -> None:
    """Benchmark groups: log-normal sizes with a median near 100 and a mean near 300."""
    user_ids = [u["id"] for u in people]
    created = iso(datetime(2024, 1, 1, tzinfo=UTC))
    sigma = math.sqrt(2 * math.log(3))
    for number in range(1, count + 1):
        size = min(len(user_ids), max(1, int(rng.lognormvariate(math.log(100), sigma))))
        group = _group(_uuid(rng), f"Team {number:04d}", "assigned", created)
        groups.append(group)
        members[group["id"]] = rng.sample(user_ids, size)
