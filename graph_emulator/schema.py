"""Which properties users, groups and devices have, which are returned by default, and their kinds.

The names follow the Graph v1.0 resources. Only what the emulator needs to answer `$select`
faithfully is here: a known property without a value comes back as null (an empty collection as
`[]`, as Graph does), an unknown one is Graph's 400.
"""

from __future__ import annotations

USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)

USER_COLLECTIONS = frozenset(
    {
        "businessPhones",
        "otherMails",
        "proxyAddresses",
        "imAddresses",
        "assignedPlans",
        "assignedLicenses",
        "provisionedPlans",
        "licenseAssignmentStates",
        "identities",
        "onPremisesProvisioningErrors",
        "serviceProvisioningErrors",
        "interests",
        "pastProjects",
        "responsibilities",
        "schools",
        "skills",
    }
)

USER_PROPERTIES = (
    *USER_DEFAULT,
    *sorted(USER_COLLECTIONS - set(USER_DEFAULT)),
    "aboutMe",
    "accountEnabled",
    "ageGroup",
    "authorizationInfo",
    "birthday",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "createdDateTime",
    "creationType",
    "customSecurityAttributes",
    "deletedDateTime",
    "department",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "employeeType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "faxNumber",
    "hireDate",
    "isResourceAccount",
    "lastPasswordChangeDateTime",
    "legalAgeGroupClassification",
    "mailNickname",
    "mailboxSettings",
    "mySite",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesExtensionAttributes",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "passwordPolicies",
    "passwordProfile",
    "postalCode",
    "preferredDataLocation",
    "preferredName",
    "securityIdentifier",
    "showInAddressList",
    "signInActivity",
    "signInSessionsValidFromDateTime",
    "state",
    "streetAddress",
    "usageLocation",
    "userType",
)

# Never echoed back: Graph does not return passwords.
USER_WRITE_ONLY = frozenset({"passwordProfile"})

# Properties Graph computes; a write that sets them is refused.
USER_READ_ONLY = frozenset(
    {"id", "createdDateTime", "deletedDateTime", "assignedPlans", "provisionedPlans"}
)

EXTENSION_ATTRIBUTES = tuple(f"extensionAttribute{n}" for n in range(1, 16))

GROUP_DEFAULT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)

GROUP_COLLECTIONS = frozenset(
    {
        "creationOptions",
        "groupTypes",
        "proxyAddresses",
        "resourceBehaviorOptions",
        "resourceProvisioningOptions",
        "onPremisesProvisioningErrors",
        "serviceProvisioningErrors",
        "assignedLabels",
        "assignedLicenses",
    }
)

GROUP_PROPERTIES = (*GROUP_DEFAULT, "assignedLabels", "assignedLicenses", "isArchived")

DEVICE_DEFAULT = (
    "id",
    "accountEnabled",
    "approximateLastSignInDateTime",
    "deviceId",
    "displayName",
    "isCompliant",
    "isManaged",
    "operatingSystem",
    "operatingSystemVersion",
    "physicalIds",
    "trustType",
)

DEVICE_COLLECTIONS = frozenset({"physicalIds"})

ODATA_TYPES = {
    "user": "#microsoft.graph.user",
    "group": "#microsoft.graph.group",
    "device": "#microsoft.graph.device",
}


class PropertySet:
    """Case-insensitive lookup of one resource's property names, as Graph's `$select` is."""

    def __init__(
        self, type_name: str, names: tuple[str, ...], defaults: tuple[str, ...], collections
    ) -> None:
        self.type_name = type_name
        self.defaults = defaults
        self.collections = frozenset(collections)
        self._canonical = {name.lower(): name for name in names}

    def canonical(self, name: str) -> str | None:
        return self._canonical.get(name.lower())

    def add(self, name: str) -> None:
        self._canonical.setdefault(name.lower(), name)

    def empty_value(self, name: str) -> list | None:
        return [] if name in self.collections else None


def user_properties(extension_names: tuple[str, ...] = ()) -> PropertySet:
    props = PropertySet(
        "user", (*USER_PROPERTIES, *extension_names), USER_DEFAULT, USER_COLLECTIONS
    )
    return props


GROUPS = PropertySet("group", GROUP_PROPERTIES, GROUP_DEFAULT, GROUP_COLLECTIONS)
DEVICES = PropertySet("device", DEVICE_DEFAULT, DEVICE_DEFAULT, DEVICE_COLLECTIONS)
