"""Runs a group's examples against its rule: rules are tested like code before they deploy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.policy.model import ManagedGroup, RuleExample
from reconciler.rules import RuleError

if TYPE_CHECKING:
    from reconciler.rules import Explanation


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """One example's outcome. `actual` is None when the rule could not decide (e.g. a regular
    expression timed out; `error` says why). `explanation` is the trace, kept for failures."""

    group: ManagedGroup
    example: RuleExample
    actual: bool | None
    error: str | None = None
    explanation: Explanation | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.actual is self.example.expect


def run_examples(group: ManagedGroup) -> tuple[ExampleResult, ...]:
    """Evaluate every example of a group; nothing runs when the rule did not compile."""
    rule = group.rule
    if rule is None:
        return ()
    results = []
    for example in group.examples:
        try:
            actual = rule.matches(example.user, now=example.now)
        except RuleError as error:
            results.append(ExampleResult(group, example, None, f"{error.kind}: {error.message}"))
            continue
        explanation = None
        if actual is not example.expect:
            explanation = rule.explain(example.user, now=example.now)
        results.append(ExampleResult(group, example, actual, explanation=explanation))
    return tuple(results)
