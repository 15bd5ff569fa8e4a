"""Every case of the shared conformance corpus (a copy of ../shared/conformance/rules.json)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.rules import RuleError, parse

CASES = json.loads((Path(__file__).parent / "conformance.json").read_text(encoding="utf-8"))
EVALUATIONS = [c for c in CASES if not c.get("expect_error")]
REJECTIONS = [c for c in CASES if c.get("expect_error")]


def test_corpus_is_the_full_public_part() -> None:
    assert (len(EVALUATIONS), len(REJECTIONS)) == (179, 43)


@pytest.mark.parametrize("case", EVALUATIONS, ids=[c["id"] for c in EVALUATIONS])
def test_evaluation_case(case: dict) -> None:
    now = datetime.fromisoformat(case["now"]) if "now" in case else None
    rule = parse(case["rule"])
    assert rule.matches(case["user"], now) is case["expect"], case.get("note", "")
    assert rule.explain(case["user"], now).result is case["expect"]


@pytest.mark.parametrize("case", REJECTIONS, ids=[c["id"] for c in REJECTIONS])
def test_rejection_case(case: dict) -> None:
    with pytest.raises(RuleError) as caught:
        parse(case["rule"])
    error = caught.value
    assert 0 <= error.position <= len(case["rule"])
    assert error.message and error.kind in str(error)
