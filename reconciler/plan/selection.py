"""Which managed groups a run covers: all of the rules file's, or those asked for by id.

The one group selector for the CLI's --group, the jobs and the worker's group messages; each
caller decides what an unknown id means for it (a usage error, a ValueError, a log record).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.object_id import group_id
from reconciler.policy import ManagedGroup, Policy


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen groups in the rules file's order, and the ids asked for that name none."""

    groups: tuple[ManagedGroup, ...]
    unknown: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(g.id for g in self.groups)


def select_groups(policy: Policy, group_ids: Iterable[str] | None) -> Selection:
    """The policy's groups with an id: all of them (`group_ids` None), or those named (any
    case, surrounding blanks ignored, as the rules file's ids are lower-cased)."""
    groups = tuple(g for g in policy.groups if g.id)
    if group_ids is None:
        return Selection(groups)
    wanted = list(dict.fromkeys(group_id(text.strip()) for text in group_ids))
    known = {g.id for g in groups}
    return Selection(
        tuple(g for g in groups if g.id in set(wanted)),
        tuple(wanted_id for wanted_id in wanted if wanted_id not in known),
    )
