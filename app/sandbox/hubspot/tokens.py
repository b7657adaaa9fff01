"""The emulated app registration and its OAuth codes and tokens.

Access tokens last 1800 s (HubSpot's API documentation); refresh tokens live until
the app is uninstalled or the token is deleted, and refreshing returns the same
refresh token (HubSpot's observed behaviour; rotation is unverified).
"""

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from app.sandbox.clock import Clock

ACCESS_TOKEN_SECONDS = 1800
CODE_SECONDS = 600
DEFAULT_SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
]


@dataclass
class AppConfig:
    """The public app as registered with the emulated HubSpot."""

    client_id: str = "conturs-sandbox-client"
    client_secret: str = "conturs-sandbox-secret"
    app_id: int = 4242001
    redirect_urls: list[str] = field(default_factory=list)
    required_scopes: list[str] = field(default_factory=lambda: ["oauth"])


@dataclass
class Grant:
    """Who a code or token speaks for."""

    hub_id: int
    user_id: int
    user: str
    scopes: list[str]
    expires_at: float = 0.0
    redirect_uri: str = ""


class TokenBook:
    """Codes, access tokens and refresh tokens of all accounts."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}

    def issue_code(self, grant: Grant) -> str:
        """A single-use authorization code valid for 10 minutes."""
        code = secrets.token_hex(18)
        grant.expires_at = self._clock.now() + CODE_SECONDS
        with self._lock:
            self.codes[code] = grant
        return code

    def redeem_code(self, code: str) -> Grant | None:
        """Consume a code; None if unknown, used or expired."""
        with self._lock:
            grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at < self._clock.now():
            return None
        return grant

    def issue(self, grant: Grant, refresh_token: str | None = None) -> dict[str, Any]:
        """Mint an access token (and a refresh token unless one is reused)."""
        access = "C" + secrets.token_urlsafe(96)
        refresh = refresh_token or f"na1-{secrets.token_hex(2)}-{secrets.token_hex(16)}"
        expiring = Grant(
            grant.hub_id,
            grant.user_id,
            grant.user,
            list(grant.scopes),
            self._clock.now() + ACCESS_TOKEN_SECONDS,
        )
        with self._lock:
            self.access[access] = expiring
            self.refresh[refresh] = Grant(
                grant.hub_id, grant.user_id, grant.user, list(grant.scopes)
            )
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
        }

    def lookup(self, access_token: str) -> Grant | None:
        """The grant behind an access token (expired or not), or None."""
        with self._lock:
            return self.access.get(access_token)

    def revoke_account(self, hub_id: int) -> None:
        """Drop every token and code of an account (uninstall)."""
        with self._lock:
            for book in (self.codes, self.access, self.refresh):
                for key in [k for k, g in book.items() if g.hub_id == hub_id]:
                    del book[key]

    def delete_refresh(self, token: str) -> bool:
        """Delete one refresh token; issued access tokens stay valid."""
        with self._lock:
            return self.refresh.pop(token, None) is not None
