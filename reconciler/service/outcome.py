"""What a job's result means for whoever ran it: done, retry later (and why), held, or failed.

In the spirit of controller-runtime's `Result`: the queue worker, the timers and the CLI map
an `Outcome` to their own answer (complete, retry, exit code) from its kind and retry cause
alone. Its `reason` is for people and is never parsed: rewording an error cannot change what
happens to a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from reconciler.plan.model import Fault

OutcomeKind = Literal["done", "retry", "held", "failed"]
RetryCause = Literal["directory", "state", "pass"]
"""Why a retry may succeed: the directory (Graph) failed a read or write, the state store
(removal budget, holds) was unreachable (removals wait for it, nothing else does), or a
burst pass that will cover the message is still running (service/burst.py)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """`retry` is set exactly when `kind` is "retry"."""

    kind: OutcomeKind
    reason: str = ""
    retry: RetryCause | None = None

    @classmethod
    def done(cls, reason: str = "") -> Outcome:
        return cls("done", reason)

    @classmethod
    def held(cls, reason: str) -> Outcome:
        return cls("held", reason)

    @classmethod
    def failed(cls, reason: str) -> Outcome:
        """Failed in a way a retry repeats (a refused group, a rule error, a missing setting)."""
        return cls("failed", reason)

    @classmethod
    def retry_later(cls, cause: RetryCause, reason: str) -> Outcome:
        return cls("retry", reason, cause)


def judge_faults(faults: Iterable[Fault], *, errors: Iterable[str], held: Iterable[str]) -> Outcome:
    """The outcome of a run from its faults, error texts and held groups. A directory fault
    wins over a state one: the message is retried as a whole, which also retries removals."""
    found = set(faults)
    texts = list(errors)
    reason = "; ".join(texts[:3]) + (f" (and {len(texts) - 3} more)" if len(texts) > 3 else "")
    if "directory" in found:
        return Outcome.retry_later("directory", reason)
    if "state" in found:
        return Outcome.retry_later("state", reason)
    if texts:
        return Outcome.failed(reason)
    held_groups = list(held)
    if held_groups:
        return Outcome.held(f"held: {', '.join(held_groups)}")
    return Outcome.done()
