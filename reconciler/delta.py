"""What a `/users/delta` round gives the catch-up, whoever reads it (Graph, a test double)."""

from __future__ import annotations

from dataclasses import dataclass


class DeltaExpired(Exception):
    """The saved delta link can no longer be followed (410 Gone, syncStateNotFound): a full
    resynchronisation is needed."""


@dataclass(frozen=True, slots=True)
class DeltaRound:
    """One round: users changed or created (`changed`) and removed (`removed`, soft or hard
    deleted) since the link, de-duplicated in first-seen order, and the link for next time."""

    changed: tuple[str, ...]
    removed: tuple[str, ...]
    delta_link: str
    pages: int
