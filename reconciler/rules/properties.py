"""The catalogue of rule properties: their type and where Graph v1.0 keeps each value.

rule-language.md §7 (users) and §10 (devices). Rule names are Azure AD Graph's; Graph sources
follow §7, with the project decisions of INTERFACES.md (sipProxyAddress reads imAddresses[0]).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class PropType(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    STRING_COLLECTION = "string collection"
    OBJECT_COLLECTION = "object collection"
    MEMBER_OF = "memberOf"


@dataclass(frozen=True, slots=True)
class Property:
    """One rule property and how to read it from a Graph object.

    `path` is the key path into the Graph JSON; `index` picks one element of an array-valued
    Graph property (telephoneNumber -> businessPhones[0]). `select` is the top-level name to
    put in `$select`.
    """

    name: str
    type: PropType
    path: tuple[str, ...]
    index: int | None = None

    @property
    def select(self) -> str:
        return self.path[0]

    @property
    def graph_name(self) -> str:
        joined = ".".join(self.path)
        return joined if self.index is None else f"{joined}[{self.index}]"


def _p(name: str, kind: PropType, graph: str | None = None, index: int | None = None) -> Property:
    return Property(name, kind, tuple((graph or name).split(".")), index)


S, B, D = PropType.STRING, PropType.BOOLEAN, PropType.DATETIME
SC, OC = PropType.STRING_COLLECTION, PropType.OBJECT_COLLECTION

USER_PROPERTIES: tuple[Property, ...] = (
    _p("accountEnabled", B),
    _p("dirSyncEnabled", B, "onPremisesSyncEnabled"),
    _p("employeeHireDate", D),
    _p("city", S),
    _p("country", S),
    _p("companyName", S),
    _p("department", S),
    _p("displayName", S),
    _p("employeeId", S),
    _p("facsimileTelephoneNumber", S, "faxNumber"),
    _p("givenName", S),
    _p("jobTitle", S),
    _p("mail", S),
    _p("mailNickName", S, "mailNickname"),
    _p("mobile", S, "mobilePhone"),
    _p("objectId", S, "id"),
    _p("onPremisesDistinguishedName", S),
    _p("onPremisesSecurityIdentifier", S),
    _p("passwordPolicies", S),
    _p("physicalDeliveryOfficeName", S, "officeLocation"),
    _p("postalCode", S),
    _p("preferredLanguage", S),
    _p("sipProxyAddress", S, "imAddresses", 0),
    _p("state", S),
    _p("streetAddress", S),
    _p("surname", S),
    _p("telephoneNumber", S, "businessPhones", 0),
    _p("usageLocation", S),
    _p("userPrincipalName", S),
    _p("userType", S),
    _p("otherMails", SC),
    _p("proxyAddresses", SC),
    _p("assignedPlans", OC),
    _p("memberOf", PropType.MEMBER_OF),
)

# Graph v1.0 device names where they differ from the rule names (rule-language.md §10).
DEVICE_PROPERTIES: tuple[Property, ...] = (
    _p("accountEnabled", B),
    _p("isRooted", B),
    _p("deviceCategory", S),
    _p("deviceId", S),
    _p("deviceManagementAppId", S),
    _p("deviceManufacturer", S, "manufacturer"),
    _p("deviceModel", S, "model"),
    _p("displayName", S),
    _p("deviceOSType", S, "operatingSystem"),
    _p("deviceOSVersion", S, "operatingSystemVersion"),
    _p("deviceOwnership", S),
    _p("deviceTrustType", S, "trustType"),
    _p("enrollmentProfileName", S),
    _p("managementType", S),
    _p("objectId", S, "id"),
    _p("profileType", S),
    _p("devicePhysicalIds", SC, "physicalIds"),
    _p("systemLabels", SC),
    _p("memberOf", PropType.MEMBER_OF),
)

# Inside `user.assignedPlans -any (...)`: the fields of one assignedPlan (S12).
ASSIGNED_PLAN_FIELDS: tuple[Property, ...] = (
    _p("capabilityStatus", S),
    _p("service", S),
    _p("servicePlanId", S),
)

_BY_TYPE = {
    "user": {p.name.casefold(): p for p in USER_PROPERTIES},
    "device": {p.name.casefold(): p for p in DEVICE_PROPERTIES},
}
PLAN_FIELDS = {p.name.casefold(): p for p in ASSIGNED_PLAN_FIELDS}

_EXTENSION_ATTRIBUTE = re.compile(r"extensionattribute(\d+)", re.IGNORECASE)
# extension_<app id without dashes>_<name>; the double underscore of old docs means the same
# property (INTERFACES.md).
_DIRECTORY_EXTENSION = re.compile(r"extension_([0-9a-z]{32})__?([A-Za-z0-9_]+)", re.IGNORECASE)


def lookup(object_type: str, name: str) -> Property | None:
    """The property `name` (any case) of `object_type`, or None when Entra would not know it."""
    found = _BY_TYPE[object_type].get(name.casefold())
    if found is not None:
        return found
    m = _EXTENSION_ATTRIBUTE.fullmatch(name)
    if m:
        number = int(m.group(1))
        if not 1 <= number <= 15 or m.group(1).startswith("0"):
            return None
        container = (
            "onPremisesExtensionAttributes" if object_type == "user" else "extensionAttributes"
        )
        return Property(
            f"extensionAttribute{number}", S, (container, f"extensionAttribute{number}")
        )
    m = _DIRECTORY_EXTENSION.fullmatch(name)
    if m and object_type == "user":
        graph_name = f"extension_{m.group(1)}_{m.group(2)}"
        return Property(graph_name, S, (graph_name,))
    return None


def known_names(object_type: str) -> list[str]:
    """Property names for "what would be valid" hints."""
    return sorted(p.name for p in _BY_TYPE[object_type].values())
