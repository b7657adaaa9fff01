"""Access tokens of installed CRM accounts: refreshed before they expire, by one
caller at a time however many threads and processes need them, stored sealed.

HubSpot's advice is to refresh before expiry, not after a 401, and a burst of
calls at the moment a token expires must not become a burst of refreshes (each
one may rotate the refresh token and strand the others). So:

- a token within REFRESH_MARGIN of its expiry counts as expired;
- in a process, one thread per account refreshes while the others wait on a lock;
- across processes, the one that takes the row's refresh lease (an UPDATE that
  only one writer can win) refreshes; the others poll the row until its token
  version moves, for up to `wait_seconds`;
- the new tokens are stored the moment the CRM returns them, before any use.

A refresh the CRM refuses for good (the install is gone) marks the account
uninstalled and raises AccessRevoked; every later call fails at once.
"""

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import AccessRevoked, CrmUnavailable, Tokens
from app.crypto import SecretBox
from app.models.base import utcnow
from app.models.crm import INSTALLED, CrmAccount

REFRESH_MARGIN = timedelta(minutes=5)
LEASE = timedelta(seconds=30)
_POLL_SECONDS = 0.05

# refresh token -> new tokens; raises AccessRevoked or CrmUnavailable.
Refresher = Callable[[str], Tokens]
# Called (with the account's primary key) once a refresh proved the install gone.
OnRevoked = Callable[[int], None]


class AccountTokens:
    """The access tokens of one account (implements app.crm.base.AccessTokens)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        account_pk: int,
        refresher: Refresher,
        on_revoked: OnRevoked,
        *,
        clock: Callable[[], datetime] = utcnow,
        wait_seconds: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._pk = account_pk
        self._refresher = refresher
        self._on_revoked = on_revoked
        self._clock = clock
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._cached: tuple[str, datetime] | None = None

    def current(self) -> str:
        """A token valid for at least REFRESH_MARGIN, refreshed first if needed."""
        cached = self._cached
        if cached and cached[1] - self._clock() > REFRESH_MARGIN:
            return cached[0]
        with self._lock:
            return self._fresh(stale=None)

    def refreshed(self, stale: str) -> str:
        """A token other than `stale`, which the CRM refused: refreshed once for
        every caller that saw the same refusal."""
        with self._lock:
            return self._fresh(stale=stale)

    def valid_for(self, margin: timedelta) -> str:
        """A token valid for at least `margin` (and REFRESH_MARGIN), refreshed
        first if it is not: a periodic job keeps tokens fresh, traffic or not."""
        with self._lock:
            return self._fresh(stale=None, margin=max(margin, REFRESH_MARGIN))

    def forget(self) -> None:
        """Drop the cached token (after the account's tokens were replaced)."""
        self._cached = None

    def _fresh(self, stale: str | None, margin: timedelta = REFRESH_MARGIN) -> str:
        deadline = time.monotonic() + self._wait
        while True:
            with self._sessions() as session:
                account = session.get(CrmAccount, self._pk)
                if account is None or account.status != INSTALLED:
                    raise AccessRevoked("the account is not installed")
                if account.access_token is None or account.refresh_token is None:
                    raise AccessRevoked("the account has no tokens")
                token = self._box.decrypt(account.access_token)
                expires = account.token_expires_at or self._clock()
                version = account.token_version
                refresh_token = account.refresh_token
            if token != stale and expires - self._clock() > margin:
                self._cached = (token, expires)
                return token
            lease = self._take_lease(version)
            if lease:
                return self._refresh(lease, self._box.decrypt(refresh_token))
            if time.monotonic() > deadline:
                raise CrmUnavailable("a token refresh elsewhere did not finish")
            time.sleep(_POLL_SECONDS)

    def _take_lease(self, version: int) -> str | None:
        lease, now = secrets.token_hex(8), self._clock()
        with self._sessions.begin() as session:
            taken = session.execute(
                update(CrmAccount)
                .where(
                    CrmAccount.id == self._pk,
                    CrmAccount.token_version == version,
                    or_(
                        CrmAccount.refresh_lease.is_(None),
                        CrmAccount.refresh_lease_until < now,
                    ),
                )
                .values(refresh_lease=lease, refresh_lease_until=now + LEASE)
            ).rowcount
        return lease if taken == 1 else None

    def _refresh(self, lease: str, refresh_token: str) -> str:
        try:
            tokens = self._refresher(refresh_token)
        except AccessRevoked:
            self._cached = None
            self._on_revoked(self._pk)
            raise
        except BaseException:
            self._release(lease)
            raise
        with self._sessions.begin() as session:
            account = session.scalars(
                select(CrmAccount)
                .where(CrmAccount.id == self._pk, CrmAccount.refresh_lease == lease)
                .with_for_update()
            ).one_or_none()
            if account is not None:  # else: uninstalled meanwhile
                store_tokens(account, tokens, self._box)
        self._cached = (tokens.access_token, tokens.expires_at)
        return tokens.access_token

    def _release(self, lease: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(CrmAccount)
                .where(CrmAccount.id == self._pk, CrmAccount.refresh_lease == lease)
                .values(refresh_lease=None, refresh_lease_until=None)
            )


def store_tokens(account: CrmAccount, tokens: Tokens, box: SecretBox) -> None:
    """Seal `tokens` into the account row and release any refresh lease."""
    account.access_token = box.encrypt(tokens.access_token)
    if tokens.refresh_token:  # some refreshes return none: the old one stays valid
        account.refresh_token = box.encrypt(tokens.refresh_token)
    account.token_expires_at = tokens.expires_at
    if tokens.scopes:
        account.scopes = " ".join(sorted(tokens.scopes))
    account.token_version = (account.token_version or 0) + 1
    account.refresh_lease = None
    account.refresh_lease_until = None


class TokenRegistry:
    """One AccountTokens per account in this process (bounded, least recently
    used out), so every caller shares its lock and cached token."""

    def __init__(self, build: Callable[[int], AccountTokens], size: int = 4096):
        self._build = build
        self._size = size
        self._entries: OrderedDict[int, AccountTokens] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, account_pk: int) -> AccountTokens:
        """The tokens of account `account_pk`."""
        with self._lock:
            tokens = self._entries.get(account_pk)
            if tokens is None:
                tokens = self._entries[account_pk] = self._build(account_pk)
                if len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(account_pk)
            return tokens

    def forget(self, account_pk: int) -> None:
        """Drop what this process holds for an account (reinstalled, removed)."""
        with self._lock:
            self._entries.pop(account_pk, None)
