"""The state tokens of `/users/delta` links: what they carry, how they are read, when they expire.

Graph encodes a round's query options into opaque tokens, so a client only follows links. Here a
token is base64url JSON: the change log's epoch, the round's position (a change number or the
last id of an initial round), the `$select` and `$filter` ids, and when it was issued (a serial
and the emulator's clock). Nothing is stored per token: expiring tokens means remembering two
marks, a serial and an instant, and comparing each token against them when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

from graph_emulator.errors import GraphError

_PREFIX = "emud1."
# Graph's lifetime of delta links for directory objects (graph-facts §5): seven days.
GRAPH_LIFETIME_SECONDS = 7 * 24 * 3600

Kind = Literal["delta", "initial", "changes"]
_KINDS: dict[str, Kind] = {"d": "delta", "i": "initial", "c": "changes"}
_CODES = {kind: code for code, kind in _KINDS.items()}


@dataclass(frozen=True)
class DeltaState:
    """Where a round stands.

    - `delta` (a deltaLink): changes numbered above `since` are still to be reported.
    - `initial` (a nextLink of the first round): users with ids above `after_id`; `since` is the
      change number when the round began, which its deltaLink will carry.
    - `changes` (a nextLink of a later round): changes above `since`, resuming after change
      number `after_seq`.
    """

    kind: Kind
    epoch: str
    since: int
    select: tuple[str, ...] | None
    after_id: str | None = None
    after_seq: int = 0
    serial: int = 0
    issued_at: float = 0.0  # POSIX seconds on the emulator's clock
    ids: tuple[str, ...] | None = None  # `$filter=id eq ...`: only these users


def bad_token(detail: str) -> GraphError:
    # Made up in Graph's shape: Graph does not document its answer to a damaged token.
    return GraphError(
        400,
        "BadRequest",
        f"The delta state token is invalid: {detail}. Follow the @odata.nextLink or "
        "@odata.deltaLink exactly as returned, or start a new round with GET /users/delta.",
    )


class DeltaTokens:
    """Issues tokens and knows which have been expired; a reset forgets the marks."""

    def __init__(self) -> None:
        self.serial = 0
        self.expired_through = 0  # tokens with a serial up to this are expired
        self.expired_before: float | None = None  # tokens issued before this instant too

    def issue(self, state: DeltaState, now: float) -> str:
        self.serial += 1
        payload: dict[str, Any] = {
            "k": _CODES[state.kind],
            "e": state.epoch,
            "s": state.since,
            "n": self.serial,
            "t": round(now, 6),
        }
        if state.select is not None:
            payload["sel"] = list(state.select)
        if state.ids is not None:
            payload["ids"] = list(state.ids)
        if state.kind == "initial":
            payload["a"] = state.after_id
        elif state.kind == "changes":
            payload["a"] = state.after_seq
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return _PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def read(token: str, option: str) -> DeltaState:
        """Decode a `$deltatoken` or `$skiptoken`; anything we did not issue is a 400."""
        if not token.startswith(_PREFIX):
            raise bad_token(f"this ${option} was not issued by /users/delta")
        body = token[len(_PREFIX) :]
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            kind = _KINDS[payload["k"]]
            select, ids = payload.get("sel"), payload.get("ids")
            state = DeltaState(
                kind=kind,
                epoch=str(payload["e"]),
                since=int(payload["s"]),
                select=None if select is None else tuple(str(name) for name in select),
                after_id=str(payload["a"]) if kind == "initial" else None,
                after_seq=int(payload["a"]) if kind == "changes" else 0,
                serial=int(payload["n"]),
                issued_at=float(payload["t"]),
                ids=None if ids is None else tuple(str(user_id) for user_id in ids),
            )
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            raise bad_token(f"this ${option} is damaged") from None
        if (option == "deltatoken") != (kind == "delta"):
            wanted = "$deltatoken" if kind == "delta" else "$skiptoken"
            raise bad_token(f"this token belongs in {wanted}, not ${option}")
        return state

    def is_expired(self, state: DeltaState, now: float, lifetime: float | None) -> bool:
        if state.serial <= self.expired_through:
            return True
        if self.expired_before is not None and state.issued_at < self.expired_before:
            return True
        return lifetime is not None and now - state.issued_at > lifetime

    def expire(self, before: float | None) -> None:
        """Expire every token issued so far, or (with `before`) those issued before then."""
        if before is None:
            self.expired_through = self.serial
        else:
            self.expired_before = max(self.expired_before or before, before)
