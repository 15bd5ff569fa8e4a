"""The console's HTTP shapes: the request as the trigger gives it, the page it answers, and the
headers every page carries (a strict Content-Security-Policy: no script runs at all)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

MAX_FORM_BYTES = 64 * 1024
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class FormError(ValueError):
    """A POST body the console cannot read (too large, not a form)."""


@dataclass(frozen=True, slots=True)
class ConsoleRequest:
    method: str
    url: str
    path: str  # below /api/console/, without slashes at either end
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.header("cookie"))
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel else None

    def form(self) -> dict[str, str]:
        """The urlencoded body, one value per field (the last one wins)."""
        if len(self.body) > MAX_FORM_BYTES:
            raise FormError(f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
        kind = self.header("content-type").split(";")[0].strip().lower()
        if self.body and kind != "application/x-www-form-urlencoded":
            raise FormError(f"expected a form (application/x-www-form-urlencoded), not {kind!r}")
        try:
            fields = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError as error:
            raise FormError("the form is not UTF-8") from error
        return {name: values[-1] for name, values in fields.items()}

    @property
    def secure(self) -> bool:
        forwarded = self.header("x-forwarded-proto").lower()
        return urlsplit(self.url).scheme == "https" or forwarded == "https"


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    body: str | bytes
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        return {**SECURITY_HEADERS, **self.headers}


def csrf_cookie(name: str, value: str, *, secure: bool) -> str:
    """SameSite=Strict and HttpOnly: no other site sends it, no script reads it."""
    flags = "; Secure" if secure else ""
    return f"{name}={value}; Path=/api/console; HttpOnly; SameSite=Strict{flags}"
