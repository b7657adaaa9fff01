"""Keeping Uspacy portals' tokens valid, for UspacyApp: each portal's tokens
refreshed by the shared machinery (app/services/crm/tokens.py: under the
account's lease, the rotated refresh token stored before anything else) with
Uspacy's refresh call, and a periodic pass over tokens about to expire.

Tokens live a day; Uspacy's own app template refreshes every 30 minutes those
expiring within the hour, and so does the worker, traffic or not. A refresh
Uspacy refuses (401, or 403 "tariff exceeded") marks the portal as needing a
reinstall: the app is still installed there, so nothing is purged. 5xx, 429
and network failures are retried by the adapter's refresh policy, then left for
the next pass.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import AccessRevoked, CrmError, Tokens
from app.crm.uspacy import tokens as uspacy_tokens
from app.crm.uspacy.config import CRM, UspacyConfig
from app.crypto import SecretBox
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.accounts import mark_needs_reinstall, note_error
from app.services.crm.tokens import AccountTokens, TokenRegistry

log = logging.getLogger(__name__)

REFRESH_WINDOW = timedelta(hours=1)


class PortalTokens:
    """Token upkeep of Uspacy portals, for UspacyApp."""

    _sessions: sessionmaker[Session]
    _box: SecretBox
    _clock: Callable[[], datetime]
    config: UspacyConfig
    tokens: TokenRegistry

    def refresh_expiring(self, within: timedelta = REFRESH_WINDOW) -> list[str]:
        """Refresh the tokens of installed portals that expire within `within`;
        the portals refreshed. Refusals mark a portal as needing a reinstall;
        an unreachable Uspacy is tried again on the next run."""
        horizon = self._clock() + within
        with self._sessions() as session:
            due = session.execute(
                select(CrmAccount.id, CrmAccount.account_id).where(
                    CrmAccount.crm == CRM,
                    CrmAccount.status == INSTALLED,
                    CrmAccount.token_expires_at < horizon,
                )
            ).all()
        refreshed = []
        for pk, domain in due:
            try:
                self.tokens.of(pk).valid_for(within)
            except AccessRevoked:
                log.warning("Uspacy portal %s needs the app installed again", domain)
                continue
            except CrmError as failure:
                log.warning("token refresh of portal %s failed: %s", domain, failure)
                continue
            refreshed.append(domain)
        return refreshed

    def _account_tokens(self, account_pk: int) -> AccountTokens:
        with self._sessions() as session:
            account = session.get(CrmAccount, account_pk)
            domain = account.account_id if account is not None else ""

        def refresh(refresh_token: str) -> Tokens:
            return uspacy_tokens.refresh(self.config, domain, refresh_token)

        return AccountTokens(
            self._sessions,
            self._box,
            account_pk,
            refresh,
            self._needs_reinstall,
            clock=self._clock,
        )

    def _needs_reinstall(self, account_pk: int) -> None:
        with self._sessions.begin() as session:
            account = session.get(CrmAccount, account_pk)
            if account is not None:
                mark_needs_reinstall(session, account)
                note_error(
                    session,
                    account_pk,
                    "Uspacy refused to refresh the app's tokens: install the app "
                    "on the portal again",
                )
