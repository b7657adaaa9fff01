"""A portal's tokens: the pair Uspacy's install callback brings, and the refresh
that trades a refresh token for a new pair (`POST /auth/v1/auth/refresh_token`
on the portal's host, `Bearer <refresh token>`, empty body).

The refresh token rotates: the old one stops working the moment Uspacy answers,
so the services store the new pair before anything else (and run one refresh
per portal at a time). A refusal (401, or 403 "tariff exceeded") means the
portal must reinstall the app: AccessRevoked. 5xx, 429 and network failures are
retried by the config's `refresh_retry`; retrying a refresh whose first answer
was lost cannot make things worse, since that answer's new refresh token was
lost with it either way.

Refresh calls are not paced by the portal's call budget: they authenticate with
the refresh token, outside the API's per-user throttle.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests

from app.crm.base import (
    AccessRevoked,
    CrmError,
    CrmUnavailable,
    RateLimited,
    Rejected,
    Tokens,
)
from app.crm.uspacy import contract, errors
from app.crm.uspacy.config import UspacyConfig

MAX_TOKEN_CHARS = 8192
MAX_EXPIRES_IN = 366 * 86_400
MAX_ANSWER_BYTES = 64 * 1024


def refresh(
    config: UspacyConfig, domain: str, refresh_token: str, now: datetime | None = None
) -> Tokens:
    """New tokens for a portal; AccessRevoked when the portal refuses the
    refresh token (the app must be reinstalled there)."""
    if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= (
        MAX_TOKEN_CHARS
    ):
        raise AccessRevoked("no usable refresh token")
    url = config.base_url(domain) + contract.REFRESH_PATH
    body = config.refresh_retry.run(lambda: _post(config, url, refresh_token))
    access = body.get(contract.ACCESS_KEY)
    rotated = body.get(contract.REFRESH_KEY)
    expires_in = next(
        (body[k] for k in contract.EXPIRES_KEYS if body.get(k) is not None), None
    )
    moment = _utc(now)
    if not _usable(access) or not _usable(rotated):
        raise CrmUnavailable("Uspacy sent a refresh answer without usable tokens")
    seconds = _seconds(expires_in)
    expires_at = (
        moment + timedelta(seconds=seconds)
        if seconds is not None
        else _jwt_expiry(access)
    )
    if expires_at is None:
        raise CrmUnavailable("Uspacy sent a refresh answer without an expiry")
    return Tokens(access, rotated, expires_at, frozenset())


def install_tokens(body: Mapping[str, Any]) -> Tokens:
    """The tokens an install callback brings (`{token, refresh_token,
    expiry_date}`, expiry in unix seconds); ValueError when they are unusable.
    Uspacy grants no OAuth scopes, so `scopes` is empty."""
    access = body.get(contract.INSTALL_ACCESS_KEY)
    refresh_token = body.get(contract.INSTALL_REFRESH_KEY)
    expiry = body.get(contract.INSTALL_EXPIRY_KEY)
    if not _usable(access) or not _usable(refresh_token):
        raise ValueError("token and refresh_token must be non-empty strings")
    if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry <= 0:
        raise ValueError("expiry_date must be a unix time in seconds")
    try:
        expires_at = datetime.fromtimestamp(expiry, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("expiry_date is out of range") from None
    return Tokens(access, refresh_token, expires_at, frozenset())


def _post(config: UspacyConfig, url: str, refresh_token: str) -> dict[str, Any]:
    try:
        with requests.post(
            url,
            headers={
                "Authorization": f"Bearer {refresh_token}",
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as answer:
            raw = answer.raw.read(MAX_ANSWER_BYTES, decode_content=True)
            status, headers = answer.status_code, answer.headers
    except errors.TRANSPORT_ERRORS as failure:
        raise errors.from_transport(failure) from None
    if 200 <= status < 300:
        body = errors.parse_body(raw)
        if not isinstance(body, dict):
            raise CrmUnavailable(f"{status}: Uspacy sent an unreadable answer")
        return body
    raise _refresh_error(status, raw, headers)


def _refresh_error(status: int, raw: bytes, headers: Mapping[str, str]) -> CrmError:
    text = errors.describe(status, errors.parse_body(raw))
    if status in (401, 403):
        return AccessRevoked(f"refresh refused: {text}")
    if status == 429:
        return RateLimited(text, errors.retry_after(headers))
    if status >= 500:
        return CrmUnavailable(text)
    return Rejected(text)


def _usable(token: Any) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS


def _seconds(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if 0 < raw <= MAX_EXPIRES_IN else None


def _jwt_expiry(access: str) -> datetime | None:
    """The `exp` claim of the access token, read without verifying it: the
    token is Uspacy's to check, we only learn when it ends."""
    try:
        claims = jwt.decode(access, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= 0:
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)
