"""The console's form token: equal in cookie and form, and signed for this principal."""

from __future__ import annotations

from reconciler.console import csrf

KEY = b"k" * 32


def test_a_token_is_valid_for_its_principal_in_cookie_and_form() -> None:
    token = csrf.new_token(KEY, "ana")
    assert csrf.valid(KEY, "ana", token, token)


def test_a_token_fails_for_another_principal_another_key_or_when_tampered() -> None:
    token = csrf.new_token(KEY, "ana")
    assert not csrf.valid(KEY, "mallory", token, token)
    assert not csrf.valid(b"x" * 32, "ana", token, token)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert not csrf.valid(KEY, "ana", forged, forged)


def test_form_and_cookie_must_both_be_there_and_equal() -> None:
    one, other = csrf.new_token(KEY, "ana"), csrf.new_token(KEY, "ana")
    assert not csrf.valid(KEY, "ana", one, other)
    assert not csrf.valid(KEY, "ana", None, one)
    assert not csrf.valid(KEY, "ana", one, None)
    assert not csrf.valid(KEY, "ana", "", "")


def test_a_valid_cookie_is_kept_and_an_invalid_one_replaced() -> None:
    token = csrf.new_token(KEY, "ana")
    assert csrf.token_for(KEY, "ana", token) == token
    replaced = csrf.token_for(KEY, "ben", token)
    assert replaced != token and csrf.valid(KEY, "ben", replaced, replaced)
