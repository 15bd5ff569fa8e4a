"""The ADMIN routes' plain answers: who decides, and refusals that need no storage."""

from __future__ import annotations

from reconciler.operator_http import PRINCIPAL_HEADER, decide_answer, decider
from reconciler.settings import Settings


def test_the_body_names_who_decides_else_the_easy_auth_principal() -> None:
    assert decider(b'{"by": " ana@contoso.com "}', {PRINCIPAL_HEADER: "ben"}) == "ana@contoso.com"
    assert decider(b"", {PRINCIPAL_HEADER: "ben@contoso.com"}) == "ben@contoso.com"
    assert decider(b"not json", {}) is None
    assert decider(b'{"by": 7}', {}) is None


async def test_a_decision_without_a_decider_or_with_an_unknown_action_is_refused() -> None:
    settings = Settings()  # no storage: neither answer may reach it
    missing = await decide_answer(settings, "0123456789ab", "approve", None)
    assert missing.status == 400 and missing.body["error"]["code"] == "MissingDecider"
    unknown = await decide_answer(settings, "0123456789ab", "delete", "ana")
    assert unknown.status == 404
