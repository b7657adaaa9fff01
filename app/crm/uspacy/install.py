"""Who is calling: the JWT Uspacy sends with its install and uninstall callbacks
(and, as the integration token, with requests of the app's settings page), and
a user's own Uspacy token, which only the portal itself can vouch for.

Uspacy signs it HS256 with the app's client secret and names the portal in the
JOSE header `domain` (its Laravel template reads it there), with the payload's
`domain` as the fallback. The check is strict (reference/uspacy.md §9.1): HS256
and nothing else (no `alg: none`, no HS512, no RS256 whose public key could be
the secret), `exp`, `nbf` and `iat` required with a small leeway, and the domain
read only after the signature checks out. The template falls back to an
unverified read of the domain when verification fails; we never do.
"""

from typing import Any

import jwt
import requests

from app.crm.base import CrmUnavailable
from app.crm.uspacy import contract, errors
from app.crm.uspacy.config import UspacyConfig, checked_domain

ALGORITHM = "HS256"
# Clocks of Uspacy and of this server may differ a little; the reference allows
# up to 60 s, and less is stricter.
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ("exp", "nbf", "iat")
MAX_JWT_CHARS = 8192
DOMAIN_CLAIM = "domain"


class CallerRefused(Exception):
    """The JWT does not prove the call comes from Uspacy for a portal."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise CallerRefused("the call carries no Bearer token")
    if len(token) > MAX_JWT_CHARS:
        raise CallerRefused("the Bearer token is too long")
    return token


def verified_domain(token: str, client_secret: str) -> str:
    """The portal a JWT signed by Uspacy names; CallerRefused for any token
    that is not HS256 with our secret, is expired or not yet valid, lacks a
    time claim, or names no portal (or two different ones)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise CallerRefused("the Bearer token is not a JWT") from None
    # Checked before decoding too, so the refusal names the reason; decode
    # below accepts HS256 only either way.
    if header.get("alg") != ALGORITHM:
        raise CallerRefused(f"the JWT must be signed with {ALGORITHM}")
    try:
        claims = jwt.decode(
            token,
            client_secret.encode("utf-8"),
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise CallerRefused("the JWT has expired") from None
    except jwt.ImmatureSignatureError:
        raise CallerRefused("the JWT is not valid yet") from None
    except jwt.MissingRequiredClaimError as missing:
        raise CallerRefused(f"the JWT has no {missing.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise CallerRefused("the JWT's signature does not match") from None
    except jwt.PyJWTError:
        raise CallerRefused("the JWT is not valid") from None
    return _domain(header, claims)


def _domain(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The signed domain: the header's, else the payload's; both must agree."""
    named = {
        value
        for value in (header.get(DOMAIN_CLAIM), claims.get(DOMAIN_CLAIM))
        if value is not None
    }
    if not named:
        raise CallerRefused("the JWT names no portal domain")
    try:
        domains = {checked_domain(value) for value in named}
    except ValueError:
        raise CallerRefused("the JWT's domain is not a portal host name") from None
    if len(domains) != 1:
        raise CallerRefused("the JWT names two different portals")
    return domains.pop()


def token_domain(token: str) -> str | None:
    """The portal a Uspacy access token names, read WITHOUT verifying it (only
    Uspacy can): good for choosing where to ask, never as proof."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    try:
        return checked_domain(claims.get(DOMAIN_CLAIM))
    except ValueError:
        return None


def user_accepted(config: UspacyConfig, domain: str, token: str) -> bool:
    """Whether portal `domain` accepts `token` as one of its users' (it answers
    `GET /company/v1/users/me` with it); CrmUnavailable when it cannot say.
    Call it only for a portal that has the app installed: the domain comes
    from the caller."""
    url = config.base_url(domain) + contract.ME_PATH
    try:
        with requests.get(
            url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=config.timeout_seconds,
            allow_redirects=False,
            stream=True,
        ) as answer:
            status = answer.status_code
    except errors.TRANSPORT_ERRORS as failure:
        raise errors.from_transport(failure) from None
    if status >= 500 or status == 429:
        raise CrmUnavailable(f"{status}: Uspacy could not check the token")
    return status == 200
