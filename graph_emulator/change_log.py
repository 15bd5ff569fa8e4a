"""Per-user change sequence numbers, from which `/users/delta` answers "what changed since".

Every user change takes the next number of one tenant-wide, monotonically increasing sequence.
For each user that ever changed, the log keeps one `UserTrack`: the number of its latest
change, the number at which each property last changed, when it (re)appeared and whether it
is removed. A delta token is then just a sequence number, so memory grows with the users and
properties that changed, never with the number of tokens handed out (no snapshot per token).
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_COMPACT_SLACK = 1024
MANAGER = "manager"  # a relationship that delta tracks like a property (`$select=manager`)


@dataclass(slots=True)
class UserTrack:
    """What one user's changes were, by sequence number; 0 means "before the log began"."""

    user_id: str
    seq: int = 0  # the latest change of any kind
    appeared: int = 0  # created or restored at this number (0: part of the loaded tenant)
    removed: str | None = None  # None, "changed" (soft-deleted) or "deleted" (hard-deleted)
    properties: dict[str, int] = field(default_factory=dict)  # name -> last change number
    manager_removed: str | None = None  # the manager the latest manager change took away

    def changed_since(self, since: int) -> set[str]:
        return {name for name, seq in self.properties.items() if seq > since}


class ChangeLog:
    """The tenant's change sequence; a fresh log (a reset, a new tenant) gets a new epoch."""

    def __init__(self) -> None:
        self.epoch = uuid.uuid4().hex[:12]  # tokens from another epoch lost their sync state
        self.sequence = 0
        self.tracks: dict[str, UserTrack] = {}
        # (seq, user id) in sequence order, one entry per change; entries a later change of the
        # same user superseded are skipped when read and dropped by compaction.
        self._seqs: list[int] = []
        self._ids: list[str] = []

    # ----- recording ------------------------------------------------------------------------

    def created(self, user_id: str) -> None:
        track = self._next(user_id)
        track.appeared, track.removed, track.properties = track.seq, None, {}

    def restored(self, user_id: str) -> None:
        """Back from deleted items; property numbers stay, so a value cleared before the
        deletion is still reported as changed to a client that saw the old value."""
        track = self._next(user_id)
        track.appeared, track.removed = track.seq, None

    def updated(self, user_id: str, properties: Iterable[str]) -> None:
        names = list(properties)
        if not names:
            return  # a PATCH that set the values already stored changes nothing
        track = self._next(user_id)
        for name in names:
            track.properties[name] = track.seq

    def manager_changed(self, user_id: str, *, removed: str | None) -> None:
        """A new manager (`removed=None`), or none any more (`removed` names the old one)."""
        track = self._next(user_id)
        track.properties[MANAGER] = track.seq
        track.manager_removed = removed

    def removed(self, user_id: str, reason: str) -> None:
        self._next(user_id).removed = reason

    def _next(self, user_id: str) -> UserTrack:
        self.sequence += 1
        track = self.tracks.get(user_id)
        if track is None:
            track = self.tracks[user_id] = UserTrack(user_id)
        track.seq = self.sequence
        self._seqs.append(self.sequence)
        self._ids.append(user_id)
        if len(self._seqs) > 2 * len(self.tracks) + _COMPACT_SLACK:
            self._compact()
        return track

    def _compact(self) -> None:
        live = sorted((t.seq, t.user_id) for t in self.tracks.values() if t.seq > 0)
        self._seqs = [seq for seq, _ in live]
        self._ids = [user_id for _, user_id in live]

    # ----- reading --------------------------------------------------------------------------

    @property
    def index_size(self) -> int:
        """Entries in the sequence index: at most about twice the tracked users."""
        return len(self._seqs)

    def after(self, position: int) -> Iterator[UserTrack]:
        """Users whose latest change is numbered above `position`, in sequence order.

        A user changed again while a caller iterates page by page moves behind the cursor, so
        a round that pages on until nothing is left sees it again rather than missing it.
        """
        start = bisect.bisect_right(self._seqs, position)
        seqs, ids, tracks = self._seqs, self._ids, self.tracks
        for index in range(start, len(seqs)):
            track = tracks[ids[index]]
            if track.seq == seqs[index]:
                yield track
