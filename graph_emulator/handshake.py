"""The validation handshake Graph performs before it creates a subscription.

Graph POSTs to the URL with `?validationToken=...` added to its query (an existing `?code=`
stays) and needs, within 10 seconds, a 200 with Content-Type text/plain whose body is the
decoded token. Real tokens contain spaces and colons, so this one does too.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import aiohttp


def new_token() -> str:
    return (
        "Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()}"
    )


def with_token(url: str, token: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}validationToken={quote(token, safe='')}"


async def validate(session: aiohttp.ClientSession, url: str, timeout: float) -> str | None:
    """Return None when the endpoint answered correctly, else why it failed (for the error)."""
    token = new_token()
    try:
        async with session.post(
            with_token(url, token),
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.read()
            content_type = response.headers.get("Content-Type", "")
    except TimeoutError:
        return f"no answer within {timeout:g} seconds"
    except (aiohttp.ClientError, OSError) as exc:
        return f"the request failed ({type(exc).__name__})"
    if response.status != 200:
        return f"the endpoint answered {response.status}"
    if not content_type.lower().startswith("text/plain"):
        return f"the endpoint answered with Content-Type '{content_type}', not text/plain"
    if body.decode("utf-8", "replace") != token:
        return "the endpoint did not echo the decoded validation token"
    return None
