"""OAuth codes and tokens of the emulated HubSpot, and a count of token calls.

Access tokens last `expires_in` seconds (1800 unless the portal's knob says
otherwise) and vary in length, as HubSpot's do (up to ~300 characters). Refresh
tokens live until the app is uninstalled or the token is revoked; a refresh
returns the same refresh token unless the portal rotates them (unverified either
way, so rotation is a knob). Refresh tokens that died are remembered (bounded), so
failed refreshes still count against the portal they belonged to.
"""

import secrets
import threading
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Any

from app.sandbox.clock import Clock

CODE_SECONDS = 600
MAX_DEAD_TOKENS = 10_000
# Expired access tokens are kept (so their 401 can say how long ago they
# expired) up to this many; the oldest go first. Unused codes likewise.
MAX_ACCESS_TOKENS = 100_000
MAX_CODES = 10_000
MAX_CALL_LOG = 10_000
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


@dataclass
class Grant:
    """Who a code or token speaks for."""

    hub_id: int
    user_id: int
    user: str
    scopes: list[str]
    expires_at: float = 0.0
    redirect_uri: str = ""


@dataclass
class Issued:
    """One token exchange's result, before it is shaped for an API version."""

    access_token: str
    refresh_token: str
    expires_in: int
    grant: Grant = field(repr=False)


class TokenBook:
    """Codes, access tokens and refresh tokens of all accounts."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self._dead_refresh: OrderedDict[str, int] = OrderedDict()
        self._counts: Counter[tuple[int | None, str]] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=MAX_CALL_LOG)

    # -- codes --

    def issue_code(self, grant: Grant) -> str:
        """A single-use authorization code valid for 10 minutes."""
        code = secrets.token_hex(18)
        grant.expires_at = self._clock.now() + CODE_SECONDS
        with self._lock:
            self.codes[code] = grant
            _trim(self.codes, MAX_CODES)
        return code

    def hub_of_code(self, code: str) -> int | None:
        """The portal a (still unused) code belongs to."""
        with self._lock:
            grant = self.codes.get(code)
        return grant.hub_id if grant else None

    def redeem_code(self, code: str) -> Grant | None:
        """Consume a code; None if unknown, used or expired."""
        with self._lock:
            grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at < self._clock.now():
            return None
        return grant

    # -- tokens --

    def issue(
        self, grant: Grant, lifetime: int, refresh_token: str | None = None
    ) -> Issued:
        """Mint an access token (and a refresh token unless one is reused)."""
        access = "C" + secrets.token_urlsafe(100 + secrets.randbelow(120))
        refresh = refresh_token or f"na1-{secrets.token_hex(2)}-{secrets.token_hex(16)}"
        expiring = replace(
            grant, scopes=list(grant.scopes), expires_at=self._clock.now() + lifetime
        )
        with self._lock:
            self.access[access] = expiring
            _trim(self.access, MAX_ACCESS_TOKENS)
            self.refresh[refresh] = replace(
                grant, scopes=list(grant.scopes), expires_at=0.0, redirect_uri=""
            )
        return Issued(access, refresh, lifetime, expiring)

    def renew(self, refresh_token: str, lifetime: int, rotate: bool) -> Issued | None:
        """Exchange a live refresh token; with `rotate` the old one dies."""
        with self._lock:
            grant = self.refresh.get(refresh_token)
            if grant is not None and rotate:
                del self.refresh[refresh_token]
                self._remember_dead(refresh_token, grant.hub_id)
        if grant is None:
            return None
        return self.issue(grant, lifetime, None if rotate else refresh_token)

    def lookup(self, access_token: str) -> Grant | None:
        """The grant behind an access token (expired or not), or None."""
        with self._lock:
            return self.access.get(access_token)

    def lookup_refresh(self, refresh_token: str) -> Grant | None:
        """The grant behind a live refresh token, or None."""
        with self._lock:
            return self.refresh.get(refresh_token)

    def hub_of_refresh(self, refresh_token: str) -> int | None:
        """The portal of a live or dead refresh token, if ever known."""
        with self._lock:
            grant = self.refresh.get(refresh_token)
            if grant is not None:
                return grant.hub_id
            return self._dead_refresh.get(refresh_token)

    def expire_access(self, hub_id: int) -> int:
        """Make every access token of the portal expire now; return how many."""
        now = self._clock.now()
        with self._lock:
            grants = [g for g in self.access.values() if g.hub_id == hub_id]
            for grant in grants:
                grant.expires_at = min(grant.expires_at, now)
        return len(grants)

    def revoke_account(self, hub_id: int) -> None:
        """Drop every token and code of an account (uninstall)."""
        with self._lock:
            for book in (self.codes, self.access, self.refresh):
                for key in [k for k, g in book.items() if g.hub_id == hub_id]:
                    del book[key]
                    if book is self.refresh:
                        self._remember_dead(key, hub_id)

    def delete_refresh(self, token: str) -> bool:
        """Delete one refresh token; issued access tokens stay valid."""
        with self._lock:
            grant = self.refresh.pop(token, None)
            if grant is not None:
                self._remember_dead(token, grant.hub_id)
        return grant is not None

    def _remember_dead(self, token: str, hub_id: int) -> None:
        self._dead_refresh[token] = hub_id
        while len(self._dead_refresh) > MAX_DEAD_TOKENS:
            self._dead_refresh.popitem(last=False)

    # -- counting --

    def record_call(
        self,
        hub_id: int | None,
        endpoint: str,
        version: str,
        grant_type: str | None,
        status: int,
    ) -> None:
        """Note one call of a token endpoint (token, introspect or revoke)."""
        kind = grant_type if grant_type in GRANT_TYPES else None
        key = (kind or "other") if endpoint == "token" else endpoint
        with self._lock:
            self._counts[(hub_id, key)] += 1
            self._log.append(
                {
                    "at": self._clock.now(),
                    "hub_id": hub_id,
                    "endpoint": endpoint,
                    "version": version,
                    "grant_type": kind,
                    "status": status,
                }
            )

    def call_counts(self, hub_id: int | None) -> dict[str, int]:
        """Token endpoint calls of a portal by grant type (plus introspect and
        revoke); `None` counts calls that named no known portal."""
        with self._lock:
            return {key: n for (hub, key), n in self._counts.items() if hub == hub_id}

    def call_log(self, hub_id: int | None) -> list[dict[str, Any]]:
        """The portal's token endpoint calls, oldest first (last 10,000 kept)."""
        with self._lock:
            return [dict(call) for call in self._log if call["hub_id"] == hub_id]


def _trim(book: dict[str, Grant], limit: int) -> None:
    """Drop the oldest entries (dicts keep insertion order) beyond `limit`."""
    while len(book) > limit:
        del book[next(iter(book))]
