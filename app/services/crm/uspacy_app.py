"""The Uspacy app's account lifecycle: install and uninstall callbacks, tokens
kept fresh, calls to a portal, backfill, purge.

Uspacy has no OAuth consent: after a portal's admin installs the app, Uspacy
posts the portal's tokens to our install callback with a JWT signed with the
app secret (app/crm/uspacy/install.py), and calls the uninstall callback the
same way. The portal is the JWT's domain, never a body field. A repeat install
updates the tokens and resumes the account (its client and learned weights).
An uninstall stops every call at once and leaves the data to the purge, after
the same delay as HubSpot's uninstalls.

Tokens live one day and rotate their refresh token on every refresh
(app/services/crm/tokens.py refreshes under the account's lease and stores the
new pair first); a periodic job refreshes those expiring within the hour,
traffic or not (uspacy_tokens.py). A refresh Uspacy refuses marks the portal as
needing a reinstall. Setup on install (fields, webhook, settings page), a job
so the callback answers at once and retried by the minute sweep until it
succeeds, is in uspacy_setup.py, webhook intake in uspacy_events.py, drains,
rescoring and outcomes in uspacy_sync.py.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmError, Installation
from app.crm.ratelimit import RateLimiter
from app.crm.retry import CallTally
from app.crm.uspacy import tokens as uspacy_tokens
from app.crm.uspacy.client import UspacyAccount
from app.crm.uspacy.config import CRM, UspacyConfig
from app.crm.uspacy.funnels import FunnelBook
from app.crm.uspacy.install import (
    CallerRefused,
    bearer_token,
    token_domain,
    verified_domain,
)
from app.crypto import SecretBox
from app.models.base import utcnow
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.accounts import (
    find_account,
    installed_account_pks,
    installed_pk,
    known_account_ids,
    mark_uninstalled,
    purge_account,
    purge_uninstalled,
    record_install,
)
from app.services.crm.inbox import EventInbox
from app.services.crm.outcomes import DealOutcomes
from app.services.crm.sync import RecordSync
from app.services.crm.tokens import TokenRegistry
from app.services.crm.uspacy_events import PortalEvents
from app.services.crm.uspacy_setup import PortalSetup
from app.services.crm.uspacy_sync import SETUP_TASK, SYNC_TASK, PortalSync
from app.services.crm.uspacy_tokens import PortalTokens
from app.services.errors import InvalidInput, NotAuthenticated, NotFound
from app.services.tasks import TaskQueue

log = logging.getLogger(__name__)

MAX_FUNNEL_BOOKS = 10_000


@dataclass(frozen=True)
class UspacyInstall:
    """What an install callback did."""

    domain: str
    account_pk: int
    client_id: str
    resumed: bool


class UspacyApp(PortalSetup, PortalTokens, PortalEvents, PortalSync):
    """Use cases of the Uspacy app, for its callbacks, jobs and the CLI."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        config: UspacyConfig,
        sync: RecordSync,
        tasks: TaskQueue,
        limiter: RateLimiter,
        *,
        outcomes: DealOutcomes,
        public_base_url: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.outcomes = outcomes
        self._inbox = EventInbox(sessions, tasks, wake_task=SYNC_TASK, clock=clock)
        # Funnels per portal, kept across tasks: fetched once, not per adapter.
        self._funnels: dict[int, FunnelBook] = {}
        self._setting_up: set[int] = set()
        self._setups_lock = threading.Lock()
        self._sessions = sessions
        self._box = box
        self.config = config
        self._sync = sync
        self._tasks = tasks
        self._limiter = limiter
        self._public_base_url = public_base_url.rstrip("/")
        self._clock = clock
        self.tokens = TokenRegistry(self._account_tokens)

    # -- callbacks from Uspacy --------------------------------------------------

    def caller_portal(self, authorization: str | None) -> str:
        """The portal a call signed by Uspacy (install and uninstall callbacks,
        the integration token) comes from; NotAuthenticated otherwise."""
        try:
            return verified_domain(
                bearer_token(authorization), self.config.client_secret
            )
        except CallerRefused as refused:
            raise NotAuthenticated(refused.message) from None

    def install(self, authorization: str | None, body: Any) -> UspacyInstall:
        """The install callback: record the portal and its tokens (sealed) and
        queue its setup (which queues the backfill). A refused JWT or unusable
        body stores nothing."""
        domain = self.caller_portal(authorization)
        if not isinstance(body, dict):
            raise InvalidInput("the install body must be a JSON object")
        try:
            tokens = uspacy_tokens.install_tokens(body)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        named = token_domain(tokens.access_token)
        if named is not None and named != domain:
            raise InvalidInput("the token belongs to another portal")
        installation = Installation(domain, tokens, None, None, domain)
        with self._sessions.begin() as session:
            account, resumed = record_install(
                session, CRM, installation, self._box, self._clock()
            )
            self.ensure_webhook_key(account)
            pk, client_id = account.id, account.client_id
        self.tokens.forget(pk)
        self._sync.restart_backfill(pk)
        # Setting up takes a score of calls, each retried while Uspacy fails:
        # the marketplace's callback is answered first, the worker sets up.
        self._tasks.enqueue(SETUP_TASK, account_pk=pk)
        return UspacyInstall(domain, pk, client_id, resumed)

    def uninstall(self, authorization: str | None) -> str:
        """The uninstall callback: stop every call for the portal now; its data
        goes with the purge. A portal we do not know is uninstalled already."""
        domain = self.caller_portal(authorization)
        with self._sessions.begin() as session:
            account = find_account(session, CRM, domain)
            if account is None:
                return domain
            mark_uninstalled(session, account, self._clock())
            pk = account.id
        self.tokens.forget(pk)
        return domain

    # -- calls to a portal --------------------------------------------------------

    def client(
        self, account_pk: int, on_call: Callable[[str], None] | None = None
    ) -> UspacyAccount:
        """The adapter for one portal: its shared tokens, its field codes, its
        webhook URL and its call budget (shared through Redis if set)."""
        with self._sessions() as session:
            account = session.get(CrmAccount, account_pk)
            if account is None or account.crm != CRM:
                raise NotFound("no such Uspacy portal")
            domain, codes = account.account_id, dict(account.field_codes or {})
            url = self._url_of(account)
        return UspacyAccount(
            self.config,
            domain,
            self.tokens.of(account_pk),
            limiter=self._limiter.for_account(f"uspacy:{domain}"),
            on_call=on_call,
            mapping_overrides=self._sync.mapping(account_pk),
            field_codes=codes,
            funnels=self._funnel_book(account_pk),
            webhook_url=url,
        )

    def _funnel_book(self, account_pk: int) -> FunnelBook:
        book = self._funnels.get(account_pk)
        if book is None:
            if len(self._funnels) >= MAX_FUNNEL_BOOKS:
                self._funnels.clear()
            book = self._funnels[account_pk] = FunnelBook()
        return book

    @contextmanager
    def _counted(self, account_pk: int) -> Iterator[UspacyAccount]:
        """The adapter, with its calls counted into the portal's success rate."""
        tally = CallTally()
        crm = self.client(account_pk, tally)
        try:
            yield crm
        finally:
            crm.close()
            self._sync.record_calls(account_pk, tally.counts())

    def backfill(self, account_pk: int, pages: int = 10) -> bool:
        """Score more of the portal's existing leads and contacts; True once all
        are done."""
        with self._counted(account_pk) as crm:
            return self._sync.backfill(account_pk, crm, pages)

    def unfinished_backfills(self) -> list[int]:
        """Installed portals whose backfill has not reached the end (and can
        go on: a portal without our fields waits for its setup)."""
        fieldless = self.not_set_up(fields_only=True)
        waiting = set(self._sync.finished_backfills()) | set(fieldless)
        return [pk for pk in self.installed_pks() if pk not in waiting]

    # -- accounts -----------------------------------------------------------------

    def account_pk(self, domain: str) -> int:
        """The row id of an installed portal; NotFound otherwise."""
        with self._sessions() as session:
            pk = installed_pk(session, CRM, domain)
        if pk is None:
            raise NotFound(f"Uspacy portal {domain} is not installed")
        return pk

    def account_ids(self) -> list[str]:
        """Every known portal, installed or not, by domain."""
        with self._sessions() as session:
            return known_account_ids(session, CRM)

    def installed_pks(self) -> list[int]:
        """Row ids of every installed portal."""
        with self._sessions() as session:
            return installed_account_pks(session, CRM)

    def disconnect(self, domain: str) -> None:
        """Remove our webhooks from the portal and delete everything about it
        (Uspacy has no call for an app to uninstall itself)."""
        with self._sessions() as session:
            account = find_account(session, CRM, domain)
            if account is None:
                raise NotFound(f"Uspacy portal {domain} is not known")
            pk, installed = account.id, account.status == INSTALLED
        if installed:
            with self._counted(pk) as crm:
                try:
                    crm.uninstall()
                except CrmError as failure:
                    # The data goes either way; a webhook left behind only
                    # meets our 404 once its key is gone.
                    log.warning("removing webhooks of %s failed: %s", domain, failure)
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
