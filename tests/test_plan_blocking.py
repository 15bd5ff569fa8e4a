"""The pure parts of a run's read -> plan -> write: what blocks a group, which groups a run
covers, and which groups a user is a direct member of."""

from __future__ import annotations

import pytest

from reconciler.directory import GroupInfo, Member
from reconciler.plan.blocking import Reads, block, blocked_or, unblocked, unwritable
from reconciler.plan.membership import direct_groups, member_of_index
from reconciler.plan.selection import select_groups
from reconciler.policy import Policy, loads_policy

SALES = "10000000-0000-4000-8000-000000000001"
ENG = "10000000-0000-4000-8000-000000000002"
SOURCE = "30000000-0000-4000-8000-000000000001"
USER = "20000000-0000-4000-8000-000000000001"
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = 'user.department -eq "Sales"'

[[groups]]
id = "{ENG}"
name = "Engineering"
rule = 'user.memberOf -any (group.objectId -in ["{SOURCE}"])'
"""


def policy() -> Policy:
    loaded = loads_policy(RULES)
    assert loaded.ok, loaded.problems
    return loaded


def test_nothing_read_wrong_blocks_nothing() -> None:
    groups = policy().groups
    assert unblocked(groups, Reads()) == list(groups)


def test_a_refused_or_missing_group_is_blocked_for_good() -> None:
    sales, eng = policy().groups
    reads = Reads(infos={SALES: GroupInfo(SALES, "Sales", refusal="dynamic"), ENG: None})
    assert block(sales, reads).fault is None and "dynamic" in block(sales, reads).reason
    assert block(eng, reads).reason == "the group does not exist in the directory"
    assert unwritable(GroupInfo(SALES, "Sales")) is None


@pytest.mark.parametrize(
    ("reads", "blocked"),
    [
        (Reads(infos_failed="503"), {SALES, ENG}),
        (Reads(users_failed="503"), {SALES, ENG}),
        (Reads(listing_failed="503"), {SALES, ENG}),
        (Reads(members_failed={SALES: "503"}), {SALES}),
        (Reads(counts_failed={ENG: "503"}), {ENG}),
        (Reads(sources_failed={SOURCE: "503"}), {ENG}),  # only the memberOf rule reads it
    ],
)
def test_a_failed_read_blocks_the_groups_it_was_about_with_a_directory_fault(
    reads: Reads, blocked: set[str]
) -> None:
    groups = policy().groups
    found = {g.id: block(g, reads) for g in groups}
    assert {g for g, b in found.items() if b} == blocked
    assert all(b.fault == "directory" and "503" in b.reason for b in found.values() if b)


def test_a_member_read_that_failed_wins_over_a_lookup_that_never_happened() -> None:
    sales = policy().groups[0]
    reads = Reads(infos={}, counts_failed={SALES: "timeout"})
    assert block(sales, reads).fault == "directory"


def test_blocked_or_gives_the_blocked_plan_or_the_groups_own() -> None:
    sales = policy().groups[0]
    blocked = blocked_or(sales, Reads(listing_failed="503"), None)
    assert blocked.faults == {"directory"} and not blocked.changes
    with pytest.raises(ValueError, match="neither blocked nor planned"):
        blocked_or(sales, Reads(), None)


def test_select_groups_takes_any_case_keeps_the_file_order_and_names_unknown_ids() -> None:
    selection = select_groups(policy(), [f" {ENG.upper()} ", SALES, "nope", SALES])
    assert selection.ids == (SALES, ENG)
    assert selection.unknown == ("nope",)
    assert select_groups(policy(), None).ids == (SALES, ENG)


def test_direct_groups_counts_groups_only() -> None:
    user = {
        "id": USER,
        "memberOf": [
            {"@odata.type": "#microsoft.graph.group", "id": SALES},
            {"@odata.type": "#microsoft.graph.directoryRole", "id": ENG},
            {"id": SOURCE},  # no type: a group, as the emulator and tests write them
        ],
    }
    assert direct_groups(user) == {SALES, SOURCE}
    assert direct_groups(user, {SALES, ENG}) == {SALES}
    assert direct_groups({"id": USER}) == set()


def test_member_of_index_maps_users_to_their_source_groups() -> None:
    index = member_of_index({SOURCE: [Member(USER.upper()), Member(ENG, "#microsoft.graph.group")]})
    assert index == {USER: {SOURCE}}
