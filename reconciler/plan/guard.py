"""The guard against mass change: hold a group's writes when a run looks like bad data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """From the settings (MAX_REMOVAL_PERCENT, REMOVAL_FLOOR, MIN_EXPECTED_USERS,
    ALLOW_MASS_REMOVAL), with the CLI's --allow-mass-removal folded in."""

    max_removal_percent: float = 20.0
    removal_floor: int = 10
    min_expected_users: int = 0
    allow_mass_removal: bool = False


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """The guard's numbers for one group and whether they hold its writes.

    `held`: no write at all for the group this run (adds included). `released`: the numbers
    would hold it, but mass removal was allowed. `members`/`users_listed` are None when this
    run did not know them (the incremental path knows no listing size).
    """

    held: bool
    released: bool
    reasons: tuple[str, ...]
    removals: int
    members: int | None
    max_removal_percent: float
    removal_floor: int
    users_listed: int | None
    min_expected_users: int

    @classmethod
    def clear(cls) -> GuardVerdict:
        return cls(False, False, (), 0, None, 0.0, 0, None, 0)

    def to_json(self) -> dict[str, object]:
        return {
            "held": self.held,
            "released": self.released,
            "reasons": list(self.reasons),
            "removals": self.removals,
            "members": self.members,
            "maxRemovalPercent": self.max_removal_percent,
            "removalFloor": self.removal_floor,
            "usersListed": self.users_listed,
            "minExpectedUsers": self.min_expected_users,
        }


def judge(
    limits: GuardLimits,
    *,
    removals: int,
    members: int | None,
    group_percent: float | None = None,
    users_listed: int | None = None,
) -> GuardVerdict:
    """Hold when removals exceed both the group's share limit (its own max_removal_percent,
    else the setting) of its current members and the absolute floor, so a tiny group can
    still lose a few members; hold every group when a full listing returned fewer users than
    MIN_EXPECTED_USERS. With unknown members only the floor can be judged: the caller reads
    the member count when removals pass the floor."""
    percent = limits.max_removal_percent if group_percent is None else group_percent
    reasons = []
    if removals > limits.removal_floor and (members is None or removals > members * percent / 100):
        share = f" of {members} members ({removals / members:.0%})" if members else ""
        reasons.append(
            f"{removals} removals{share} exceed {percent:g}% of the members and the floor of "
            f"{limits.removal_floor}"
        )
    if users_listed is not None and users_listed < limits.min_expected_users:
        reasons.append(
            f"the user listing returned {users_listed} users, fewer than MIN_EXPECTED_USERS="
            f"{limits.min_expected_users}"
        )
    tripped = bool(reasons)
    return GuardVerdict(
        held=tripped and not limits.allow_mass_removal,
        released=tripped and limits.allow_mass_removal,
        reasons=tuple(reasons),
        removals=removals,
        members=members,
        max_removal_percent=percent,
        removal_floor=limits.removal_floor,
        users_listed=users_listed,
        min_expected_users=limits.min_expected_users,
    )
