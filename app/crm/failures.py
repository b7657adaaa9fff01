"""What every adapter does with a CRM's failures the same way: which exceptions
mean the network failed, messages made safe to log, a Retry-After read, and one
retry with a refreshed token after a 401."""

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
import urllib3

from app.crm.base import AccessRevoked, AccessTokens, AuthExpired

T = TypeVar("T")

TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    urllib3.exceptions.HTTPError,
    requests.RequestException,
    OSError,
)
MAX_MESSAGE_CHARS = 300
MAX_RETRY_AFTER = 3600.0  # a longer wait asked for is "not within this job"
# CRMs echo rejected values ("Email address x@y is invalid") into messages, and
# messages end up in logs.
_EMAIL = re.compile(r"[^\s@\"'<>,;:]+@[^\s@\"'<>,;:]+")


def scrub(text: str) -> str:
    """A CRM message safe to log: emails masked, length bounded."""
    cleaned = _EMAIL.sub("[email]", " ".join(str(text).split()))
    if len(cleaned) > MAX_MESSAGE_CHARS:
        cleaned = cleaned[: MAX_MESSAGE_CHARS - 1] + "…"
    return cleaned


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value by case-insensitive name, stripped; None when absent."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if str(key).lower() == wanted:
            return str(value).strip()
    return None


def seconds_until(text: str, now: float | None = None) -> float | None:
    """A Retry-After value (seconds, or an HTTP date) as seconds from `now`,
    bounded to [0, MAX_RETRY_AFTER]; None when it says nothing usable."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        now = datetime.now(UTC).timestamp() if now is None else now
        seconds = moment.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def with_refresh(tokens: AccessTokens, attempt: Callable[[str], T]) -> T:
    """Run `attempt(token)`; on AuthExpired refresh once and run it again; a
    second refusal means the install is gone."""
    token = tokens.current()
    try:
        return attempt(token)
    except AuthExpired:
        fresh = tokens.refreshed(token)
    try:
        return attempt(fresh)
    except AuthExpired as again:
        raise AccessRevoked(f"refused after a refresh: {again.message}") from None
