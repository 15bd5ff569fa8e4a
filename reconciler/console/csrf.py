"""CSRF protection for the console's POSTs: a double-submit token (cookie and form field)
that is also an HMAC over the principal, so a token made for one person fails for another
and one planted by another site without the key fails for everybody."""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "console_csrf"
FIELD = "csrf"


def new_token(key: bytes, principal_id: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(key, principal_id, nonce)}"


def token_for(key: bytes, principal_id: str, cookie: str | None) -> str:
    """The principal's current token (the cookie's, when it is valid for them), else a new one."""
    if cookie and valid(key, principal_id, cookie, cookie):
        return cookie
    return new_token(key, principal_id)


def valid(key: bytes, principal_id: str, cookie: str | None, field: str | None) -> bool:
    """True when the form's token equals the cookie's and was signed for this principal."""
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return False
    nonce, _, signature = field.partition(".")
    return bool(nonce) and hmac.compare_digest(
        signature.encode(), _sign(key, principal_id, nonce).encode()
    )


def _sign(key: bytes, principal_id: str, nonce: str) -> str:
    message = f"{principal_id}\n{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
