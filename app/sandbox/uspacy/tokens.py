"""Uspacy tokens (Uspacy's API documentation): JWT-shaped access tokens
valid 1 day, refresh tokens valid 30 days that rotate on every refresh, and the
install/uninstall JWT Uspacy sends to the app, HS256-signed with the app secret."""

import secrets
import threading
from dataclasses import dataclass
from typing import Any

import jwt

from app.sandbox.clock import Clock
from app.sandbox.uspacy.store import APP_USER_ID

ACCESS_SECONDS = 86400
REFRESH_SECONDS = 30 * 86400
INSTALL_JWT_SECONDS = 300


@dataclass
class Issued:
    """A stored token: which portal and until when."""

    domain: str
    expires_at: float


class UspacyTokens:
    """Access and refresh tokens of every portal."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._signing_key = secrets.token_hex(32)
        self.access: dict[str, Issued] = {}
        self.refresh: dict[str, Issued] = {}

    def issue(self, domain: str) -> dict[str, Any]:
        """A new `{jwt, refreshToken, expireInSeconds}` for `domain`."""
        now = self._clock.now()
        payload = {
            "id": APP_USER_ID,
            "authUserId": APP_USER_ID,
            "domain": domain,
            "iat": int(now),
            "exp": int(now + ACCESS_SECONDS),
            "roles": ["app"],
            "permissions": {
                "create": ["crm"],
                "view": ["crm"],
                "edit": ["crm"],
                "delete": ["crm"],
                "export": [],
            },
            "jti": secrets.token_hex(8),
        }
        access = jwt.encode(payload, self._signing_key, algorithm="HS256")
        refresh = secrets.token_urlsafe(48)
        with self._lock:
            self.access[access] = Issued(domain, now + ACCESS_SECONDS)
            self.refresh[refresh] = Issued(domain, now + REFRESH_SECONDS)
        return {
            "jwt": access,
            "refreshToken": refresh,
            "expireInSeconds": ACCESS_SECONDS,
        }

    def portal_of(self, access: str) -> str | None:
        """The domain of a live access token, else None."""
        with self._lock:
            issued = self.access.get(access)
        if issued is None or issued.expires_at <= self._clock.now():
            return None
        return issued.domain

    def rotate(self, refresh: str) -> dict[str, Any] | None:
        """Spend a refresh token for a new pair; the old one stops working."""
        with self._lock:
            issued = self.refresh.pop(refresh, None)
        if issued is None or issued.expires_at <= self._clock.now():
            return None
        return self.issue(issued.domain)

    def revoke(self, domain: str) -> None:
        """Forget every token of a portal (uninstall)."""
        with self._lock:
            for book in (self.access, self.refresh):
                for key in [k for k, v in book.items() if v.domain == domain]:
                    del book[key]


def install_jwt(secret: str, domain: str, now: float, app_code: str) -> str:
    """The Bearer JWT of install/uninstall calls: HS256 with the app secret,
    `domain` in both the JOSE header and the payload, and iat/nbf/exp."""
    payload = {
        "domain": domain,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + INSTALL_JWT_SECONDS),
        "iss": "uspacy",
        "app_code": app_code,
    }
    return jwt.encode(payload, secret, algorithm="HS256", headers={"domain": domain})
