"""Fuzz the rule parser and evaluator: only RuleError, never a hang, never a crash.

Each parse has a 2 s hang detector (the target is 100 ms; the figure comes from
bench/bench_parse_fuzz.py, never from an assertion here; INTERFACES.md "Tests, timing and CI").
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.fuzz_inputs import CORPUS, graph_users, rule_texts
from harness.hang import HANG_SECONDS, hang_detector
from reconciler.rules import Rule, RuleError, parse

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def parse_bounded(text: str) -> Rule | None:
    """Parse; RuleError is an answer, anything else (RecursionError included) fails the test."""
    started = time.perf_counter()
    try:
        with hang_detector(text):
            return parse(text)
    except RuleError as error:
        assert isinstance(error.position, int) and 0 <= error.position <= max(len(text), 1)
        str(error)  # the caret rendering must not fail either
        return None
    finally:
        elapsed = time.perf_counter() - started
        assert elapsed < HANG_SECONDS, f"parse took {elapsed:.2f}s for {text[:120]!r}"


def test_every_corpus_rule_parses_or_gives_a_rule_error() -> None:
    for text in CORPUS:
        parse_bounded(text)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=rule_texts)
@example("(" * 3000)
@example("-not " * 600 + 'user.department -eq "x"')
@example('user.department -match "(a+)+$"')
@example("user.assignedPlans -any (" * 300)
@example("x" * 3073)
@example("user\u00b3employeehreate -le 020-06-10T18:1-in3:20Z")  # "³": lexer looped forever
@example("user.department -eq \u0663")
def test_parse_raises_only_rule_error_and_never_hangs(text: str) -> None:
    parse_bounded(text)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=rule_texts, users=st.lists(graph_users, min_size=1, max_size=3))
def test_evaluating_a_parsed_rule_raises_only_rule_error(text: str, users: list[dict]) -> None:
    rule = parse_bounded(text)
    if rule is None:
        return
    for user in users:
        started = time.perf_counter()
        try:
            with hang_detector(text):
                assert isinstance(rule.matches(user, NOW), bool)
        except RuleError as error:
            assert error.kind in ("RegexTimeout", "AttributeTypeMismatch"), error
        assert time.perf_counter() - started < HANG_SECONDS
