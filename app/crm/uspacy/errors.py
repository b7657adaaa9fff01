"""Uspacy's failures as our error hierarchy: HTTP statuses, Laravel error bodies
and transport failures become `app.crm.base` errors, so no status code or
`requests` exception reaches the services.

Messages are kept short and stripped of email addresses: Laravel's validation
messages may echo a rejected value, and the messages end up in logs.
"""

import json
import time
from collections.abc import Mapping
from typing import Any

from app.crm.base import (
    AccessRevoked,
    AuthExpired,
    CrmError,
    CrmUnavailable,
    RateLimited,
    Rejected,
    ScopeMissing,
)
from app.crm.failures import (
    TRANSPORT_ERRORS as TRANSPORT_ERRORS,
)
from app.crm.failures import (
    header,
    scrub,
    seconds_until,
)
from app.crm.uspacy import contract

MAX_ERROR_BODY_BYTES = 64 * 1024


class NotFound(Rejected):
    """The record, field or webhook does not exist (read as absent)."""


class Invalid(Rejected):
    """A 422: Uspacy's validation refused the values; `keys` are the fields or
    parameters its answer names."""

    def __init__(self, message: str = "", keys: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.keys = keys


def parse_body(raw: bytes | str | None) -> Any:
    """A JSON body as Python values; None when it is empty or not JSON (the
    proxy in front of Uspacy answers some errors with an HTML page)."""
    if isinstance(raw, bytes | bytearray):
        raw = bytes(raw).decode("utf-8", "replace")
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def error_keys(body: Any) -> tuple[str, ...]:
    """The keys a Laravel error body names (`{"errors": {key: [...]}}`)."""
    found = body.get(contract.ERRORS_KEY) if isinstance(body, dict) else None
    if not isinstance(found, dict):
        return ()
    return tuple(str(key)[:100] for key in list(found)[:20])


def describe(status: int, body: Any) -> str:
    """`STATUS: message`, from either of Uspacy's error bodies, scrubbed."""
    parts: list[str] = []
    if isinstance(body, dict):
        message = body.get(contract.MESSAGE_KEY)
        if isinstance(message, str):
            parts.append(message)
        found = body.get(contract.ERRORS_KEY)
        if isinstance(found, dict):
            for key, value in list(found.items())[:5]:
                texts = value if isinstance(value, list) else [value]
                said = "; ".join(str(t) for t in texts[:3] if isinstance(t, str))
                parts.append(f"{key}: {said}" if key != "text" else said)
    return scrub(f"{status}: {' | '.join(parts)}" if parts else str(status))


def retry_after(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds a 429 asks us to wait: `Retry-After` (seconds or an HTTP date),
    else Laravel's `X-RateLimit-Reset` (unix seconds); None when neither says."""
    now = time.time() if now is None else now
    stated = header(headers, "retry-after")
    seconds = None if stated is None else seconds_until(stated, now)
    reset = header(headers, "x-ratelimit-reset")
    if seconds is None and reset is not None:
        try:
            seconds = seconds_until(str(float(reset) - now), now)
        except ValueError:
            return None
    return seconds


def from_status(
    status: int, raw: bytes | str | None, headers: Mapping[str, str] | None = None
) -> CrmError:
    """The error for a non-2xx answer of a portal's API."""
    body = parse_body(raw)
    text = describe(status, body)
    if status == 401:
        return AuthExpired(text)
    if status == 403:
        if any(marker in text.lower() for marker in contract.REVOKED_403_MARKERS):
            return AccessRevoked(text)
        return ScopeMissing(text)
    if status == 429:
        return RateLimited(text, retry_after(headers))
    if status >= 500 or status == 0:
        return CrmUnavailable(text)
    if status == 404:
        return NotFound(text)
    if status == 422:
        return Invalid(text, error_keys(body))
    return Rejected(text)


def from_transport(error: Exception) -> CrmUnavailable:
    """The error for a timeout, refused connection or broken response."""
    return CrmUnavailable(f"Uspacy unreachable: {type(error).__name__}")
