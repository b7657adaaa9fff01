"""HubSpot's OAuth authorization-code flow on the date-versioned endpoints: the
authorize URL, code exchange, refresh, introspect and revoke.

hubspot-api-client 12 knows only `/oauth/v1`, which HubSpot switches off on
2027-02-16, so these calls use `requests` with a form body. Every call has a
timeout and is retried on 429, 5xx and transport failures by the config's
`oauth_retry` policy. Token calls are made with the app's credentials, not a
portal's access token, so they do not take from a portal's call budget.

Retrying a refresh whose first attempt HubSpot did process cannot make things
worse: if HubSpot rotated the refresh token then, the new one was lost with the
answer either way.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import requests

from app.crm.base import (
    AccessRevoked,
    CrmError,
    CrmUnavailable,
    Installation,
    RateLimited,
    Rejected,
    Tokens,
)
from app.crm.hubspot import errors, paths
from app.crm.hubspot.config import HubSpotConfig

MAX_STATE_CHARS = 2000
MAX_TOKEN_CHARS = 4096
MAX_EXPIRES_IN = 366 * 86_400
MAX_SCOPES = 500
# What refresh answers when the install is gone (uninstall or revoke).
REVOKED_ERRORS = {"invalid_grant"}
REVOKED_STATUSES = {"BAD_REFRESH_TOKEN"}
# Token info fields worth keeping; the token itself is left out on purpose.
INFO_FIELDS = (
    "active",
    "app_id",
    "client_id",
    "expires_in",
    "hub_domain",
    "hub_id",
    "is_private_distribution",
    "scopes",
    "token_type",
    "token_use",
    "user",
    "user_id",
)


def authorize_url(config: HubSpotConfig, state: str) -> str:
    """Where to send the installing user: HubSpot's consent page for our scopes;
    `state` comes back unchanged on the redirect (CSRF check, install context)."""
    if not state or len(state) > MAX_STATE_CHARS:
        raise ValueError(f"state must be 1–{MAX_STATE_CHARS} characters")
    params = {
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "scope": " ".join(config.required_scopes),
    }
    if config.optional_scopes:
        params["optional_scope"] = " ".join(config.optional_scopes)
    params["state"] = state
    # HubSpot documents scopes separated by %20, not by "+".
    return f"{config.authorize_url}?{urlencode(params, quote_via=quote)}"


def exchange_code(
    config: HubSpotConfig, code: str, now: datetime | None = None
) -> Installation:
    """Trade the redirect's `code` for tokens and learn the portal and the user."""
    if not code or len(code) > MAX_TOKEN_CHARS:
        raise Rejected("the authorization code is missing or too long")
    body = _post(
        config,
        paths.TOKEN_PATH,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": config.redirect_uri,
        },
        revoked_on_invalid_grant=False,
    )
    tokens = _tokens(body, None, now)
    info: dict[str, Any] | None = None
    try:
        info = introspect(config, tokens.access_token)
    except CrmError:
        # The user's email is a nicety; the install stands without it as long
        # as the token response named the portal.
        if _id(body.get("hub_id")) is None:
            raise
    info = info or {}
    hub_id = _id(body.get("hub_id")) or _id(info.get("hub_id"))
    if hub_id is None:
        raise CrmUnavailable("HubSpot named no portal for the new install")
    user = info.get("user")
    domain = info.get("hub_domain")
    return Installation(
        account_id=hub_id,
        tokens=tokens,
        user_email=user if isinstance(user, str) and user else None,
        user_id=_id(body.get("user_id")) or _id(info.get("user_id")),
        account_domain=domain if isinstance(domain, str) and domain else None,
    )


def refresh(
    config: HubSpotConfig, refresh_token: str, now: datetime | None = None
) -> Tokens:
    """New tokens for an install; AccessRevoked when the install is gone."""
    if not refresh_token or len(refresh_token) > MAX_TOKEN_CHARS:
        raise AccessRevoked("no usable refresh token")
    body = _post(
        config,
        paths.TOKEN_PATH,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        revoked_on_invalid_grant=True,
    )
    return _tokens(body, refresh_token, now)


def introspect(config: HubSpotConfig, access_token: str) -> dict[str, Any] | None:
    """What HubSpot knows about an access token (hub_id, user, scopes…), without
    the token itself; None when the token is not active."""
    return _introspect(config, access_token, "access_token")


def refresh_token_active(config: HubSpotConfig, refresh_token: str) -> bool:
    """Whether the install behind a refresh token still exists: HubSpot sends no
    event on uninstall, and asking costs no refresh (and rotates nothing)."""
    info = _introspect(config, refresh_token, "refresh_token")
    return info is not None and info.get("token_use", "refresh_token") == (
        "refresh_token"
    )


def _introspect(config: HubSpotConfig, token: str, hint: str) -> dict[str, Any] | None:
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    body = _post(
        config,
        paths.INTROSPECT_PATH,
        {"token": token, "token_type_hint": hint},
        revoked_on_invalid_grant=False,
    )
    if body.get("active") is not True:
        return None
    return {name: body[name] for name in INFO_FIELDS if name in body}


def revoke(config: HubSpotConfig, refresh_token: str) -> None:
    """Invalidate a refresh token (the app stays installed; see uninstall)."""
    if not refresh_token or len(refresh_token) > MAX_TOKEN_CHARS:
        return
    _post(
        config,
        paths.REVOKE_PATH,
        {"token": refresh_token, "token_type_hint": "refresh_token"},
        revoked_on_invalid_grant=False,
        expect_json=False,
    )


def _post(
    config: HubSpotConfig,
    path: str,
    fields: dict[str, str],
    revoked_on_invalid_grant: bool,
    expect_json: bool = True,
) -> dict[str, Any]:
    """POST a form with our client credentials, retried as the config says; the
    JSON answer or our error."""
    return config.oauth_retry.run(
        lambda: _post_once(config, path, fields, revoked_on_invalid_grant, expect_json)
    )


def _post_once(
    config: HubSpotConfig,
    path: str,
    fields: dict[str, str],
    revoked_on_invalid_grant: bool,
    expect_json: bool,
) -> dict[str, Any]:
    form = {
        **fields,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
    }
    try:
        with requests.post(
            config.url(path),
            data=form,
            headers={"Accept": "application/json"},
            timeout=config.timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = response.raw.read(errors.MAX_BODY_BYTES, decode_content=True)
            status, headers = response.status_code, response.headers
    except errors.TRANSPORT_ERRORS as failure:
        raise errors.from_transport(failure) from None
    body = errors.parse_body(raw)
    if 200 <= status < 300:
        if expect_json and not body:
            raise CrmUnavailable(f"{status}: HubSpot sent an unreadable answer")
        return body
    raise _oauth_error(status, body, headers, revoked_on_invalid_grant)


def _oauth_error(
    status: int, body: dict[str, Any], headers: Any, revoked_on_invalid_grant: bool
) -> CrmError:
    codes = [body.get(key) for key in ("error", "status")]
    named = " ".join(c for c in codes if isinstance(c, str) and c.isidentifier())
    message = body.get("error_description") or body.get("message") or ""
    text = (
        errors.scrub(f"{status} {named}: {message}")
        if named
        else errors.describe(status, body)
    )
    if (
        revoked_on_invalid_grant
        and 400 <= status < 500
        and (
            body.get("error") in REVOKED_ERRORS
            or body.get("status") in REVOKED_STATUSES
        )
    ):
        return AccessRevoked(text)
    if status == 429:
        return RateLimited(text, errors.rate_limit_wait(body, headers))
    if status >= 500:
        return CrmUnavailable(text)
    return Rejected(text)


def _tokens(
    body: dict[str, Any], previous_refresh: str | None, now: datetime | None
) -> Tokens:
    access = body.get("access_token")
    # HubSpot may or may not rotate refresh tokens: keep whichever it sends.
    refresh_token = body.get("refresh_token") or previous_refresh
    expires_in = body.get("expires_in")
    if (
        not isinstance(access, str)
        or not 0 < len(access) <= MAX_TOKEN_CHARS
        or not isinstance(refresh_token, str)
        or not 0 < len(refresh_token) <= MAX_TOKEN_CHARS
        or isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not 0 < expires_in <= MAX_EXPIRES_IN
    ):
        raise CrmUnavailable("HubSpot sent a token answer without usable tokens")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Tokens(
        access_token=access,
        refresh_token=refresh_token,
        expires_at=moment + timedelta(seconds=float(expires_in)),
        scopes=frozenset(_scopes(body.get("scopes"))),
    )


def _scopes(raw: Any) -> Iterable[str]:
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list):
        return ()
    return [s for s in raw[:MAX_SCOPES] if isinstance(s, str) and 0 < len(s) <= 200]


def _id(raw: Any) -> str | None:
    """A HubSpot numeric id (int or digit string) as our string id."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if raw > 0 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        return str(int(raw)) if int(raw) > 0 else None
    return None
