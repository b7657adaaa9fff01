"""The end of a HubSpot install: uninstalls found by asking HubSpot (it sends no
event for them), disconnect from our side, and the purge of uninstalled portals.

A mixin of HubSpotApp (app/services/crm/hubspot_app.py), which provides the
sessions, the token box and registry, the adapter and the clock.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import AccessRevoked, CrmError
from app.crm.hubspot import oauth
from app.crm.hubspot.config import CRM, HubSpotConfig
from app.crypto import SecretBox
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.accounts import (
    find_account,
    mark_uninstalled,
    purge_account,
    purge_uninstalled,
)
from app.services.crm.install_states import InstallStates
from app.services.crm.tokens import TokenRegistry
from app.services.errors import NotFound

log = logging.getLogger(__name__)


class PortalLifecycle:
    """Uninstall checks, disconnect and purge, for HubSpotApp."""

    _sessions: sessionmaker[Session]
    _box: SecretBox
    _states: InstallStates
    _clock: Callable[[], datetime]
    config: HubSpotConfig
    tokens: TokenRegistry

    def client(self, account_pk: int) -> Any:
        raise NotImplementedError

    # -- uninstalls -----------------------------------------------------------

    def check_uninstalls(self) -> list[str]:
        """Ask HubSpot about every installed portal's refresh token; mark those
        whose install is gone. Returns their hub ids."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    CrmAccount.id, CrmAccount.account_id, CrmAccount.refresh_token
                ).where(CrmAccount.crm == CRM, CrmAccount.status == INSTALLED)
            ).all()
        gone = []
        for pk, account_id, sealed in rows:
            if sealed is None:
                continue
            try:
                active = oauth.refresh_token_active(
                    self.config, self._box.decrypt(sealed)
                )
            except CrmError as failure:
                log.warning(
                    "uninstall check of portal %s failed: %s", account_id, failure
                )
                continue
            with self._sessions.begin() as session:
                account = session.get(CrmAccount, pk)
                if account is None:
                    continue
                account.last_checked_at = self._clock()
                if not active:
                    mark_uninstalled(session, account, self._clock())
                    gone.append(account_id)
            if not active:
                self.tokens.forget(pk)
        return gone

    def disconnect(self, account_id: str) -> None:
        """Uninstall the app from the portal and delete everything about it."""
        with self._sessions() as session:
            account = find_account(session, CRM, account_id)
            if account is None:
                raise NotFound(f"HubSpot portal {account_id} is not known")
            pk, installed = account.id, account.status == INSTALLED
        if installed:
            try:
                self.client(pk).uninstall()
            except AccessRevoked:
                pass  # already uninstalled in HubSpot
        with self._sessions.begin() as session:
            account = session.get(CrmAccount, pk)
            if account is not None:
                purge_account(session, account)
        self.tokens.forget(pk)

    def purge_uninstalled(self, purge_days: int) -> list[str]:
        """Purge portals uninstalled more than `purge_days` ago."""
        cutoff = self._clock() - timedelta(days=purge_days)
        with self._sessions.begin() as session:
            return purge_uninstalled(session, CRM, cutoff)

    def forget_used_states(self) -> int:
        """Delete install nonces old enough that their states expired."""
        return self._states.forget_used(self._clock())
