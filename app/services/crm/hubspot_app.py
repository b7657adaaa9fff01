"""The HubSpot app's account lifecycle: install (consent → tokens → properties),
the periodic uninstall check, disconnect, and the purge of uninstalled portals.

HubSpot sends no event when a portal uninstalls the app; a refresh token that
introspects as inactive (or a refresh refused with BAD_REFRESH_TOKEN) is how an
uninstall shows, so `check_uninstalls` asks for every installed portal, traffic
or not.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmError, FieldSetup, Tokens
from app.crm.hubspot import oauth
from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.companies import COMPANIES_SCOPE, CompanyCaches
from app.crm.hubspot.config import CRM, HubSpotConfig
from app.crm.hubspot.deals import StageBooks
from app.crm.ratelimit import RateLimiter
from app.crypto import SecretBox
from app.models.base import utcnow
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.accounts import (
    find_account,
    installed_pk,
    known_account_ids,
    mark_uninstalled,
    note_error,
    record_install,
)
from app.services.crm.hubspot_lifecycle import PortalLifecycle
from app.services.crm.hubspot_sync import PortalSync
from app.services.crm.install_states import InstallStates
from app.services.crm.outcomes import DealOutcomes
from app.services.crm.overview import account_overview
from app.services.crm.privacy import ContactRemovals
from app.services.crm.reconcile import PortalReconciliation
from app.services.crm.scorer import iso_or_none
from app.services.crm.sync import RecordSync
from app.services.crm.tokens import AccountTokens, TokenRegistry
from app.services.errors import InvalidInput, NotFound, Unavailable
from app.services.tasks import TaskQueue

log = logging.getLogger(__name__)

# What a missing optional scope switches off, in the words of the status page.
OPTIONAL_FEATURES = {
    "crm.objects.companies.read": (
        "Industry and company size from the contact's company (the portal did not "
        "grant access to companies; contacts' own industry and size are used)"
    ),
}


@dataclass(frozen=True)
class InstallOutcome:
    """What an install did, for the page the installer lands on."""

    account_id: str
    client_id: str
    resumed: bool
    fields: FieldSetup | None
    features_off: list[str] = field(default_factory=list)
    problem: str | None = None
    account_pk: int = 0


class HubSpotApp(PortalSync, PortalLifecycle, PortalReconciliation):
    """Use cases of the HubSpot app, for web routes, jobs and the CLI."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        box: SecretBox,
        config: HubSpotConfig,
        states: InstallStates,
        sync: RecordSync,
        tasks: TaskQueue,
        limiter: RateLimiter,
        *,
        removals: ContactRemovals,
        outcomes: DealOutcomes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._removals = removals
        self.outcomes = outcomes
        self._stage_books = StageBooks()  # pipelines per portal, bounded
        self._sessions = sessions
        self._box = box
        self.config = config
        self._states = states
        self._sync = sync
        self._tasks = tasks
        self._limiter = limiter
        self._clock = clock
        self.tokens = TokenRegistry(self._account_tokens)
        self._companies = CompanyCaches()  # per portal, bounded

    # -- install --------------------------------------------------------------

    def install_url(self) -> str:
        """Where to send a user who wants to install the app."""
        return oauth.authorize_url(self.config, self._states.issue(CRM))

    def complete_install(
        self, *, code: str | None, state: str | None, error: str | None = None
    ) -> InstallOutcome:
        """The OAuth callback: check the state (once), exchange the code, record
        the portal and create its properties. Refusals store nothing."""
        self._states.consume(state or "", CRM)
        if error:
            raise InvalidInput(
                "The install was cancelled in HubSpot: nothing was connected"
                if error == "access_denied"
                else "HubSpot refused the install: nothing was connected"
            )
        if not code or len(code) > 512:
            raise InvalidInput("The install callback has no valid code")
        try:
            installation = oauth.exchange_code(self.config, code)
        except CrmError as failure:
            if failure.retryable:
                raise Unavailable(
                    "HubSpot did not answer: try the install again"
                ) from None
            raise InvalidInput("HubSpot refused the install code: try again") from None
        missing = set(self.config.required_scopes) - installation.tokens.scopes
        if missing:
            raise InvalidInput(
                "HubSpot did not grant " + ", ".join(sorted(missing)) + ": nothing "
                "was connected"
            )
        with self._sessions.begin() as session:
            account, resumed = record_install(
                session, CRM, installation, self._box, self._clock()
            )
            pk, client_id = account.id, account.client_id
        self.tokens.forget(pk)
        self._sync.restart_backfill(pk)
        fields, problem = None, None
        try:
            fields = self.client(pk).ensure_fields()
        except CrmError as failure:
            problem = f"Creating the Conturs properties failed: {failure}"
            self._note_error(pk, problem)
        else:
            self._tasks.enqueue("backfill_account", account_pk=pk)
        return InstallOutcome(
            account_id=installation.account_id,
            client_id=client_id,
            resumed=resumed,
            fields=fields,
            features_off=self.features_off(installation.tokens.scopes),
            problem=problem,
            account_pk=pk,
        )

    def features_off(self, scopes: frozenset[str]) -> list[str]:
        """What the portal's missing optional scopes switch off."""
        return [
            OPTIONAL_FEATURES[scope]
            for scope in self.config.optional_scopes
            if scope not in scopes and scope in OPTIONAL_FEATURES
        ]

    # -- calls to a portal ----------------------------------------------------

    def client(
        self, account_pk: int, on_call: Callable[[str], None] | None = None
    ) -> HubSpotAccount:
        """The adapter for one installed portal: its shared tokens, and the
        portal's call budget (shared by every process through Redis if set)."""
        with self._sessions() as session:
            granted = getattr(session.get(CrmAccount, account_pk), "scope_set", ())
        return HubSpotAccount(
            self.config,
            self.tokens.of(account_pk),
            limiter=self._limiter.for_account(f"hubspot:{account_pk}"),
            on_call=on_call,
            mapping_overrides=self._sync.mapping(account_pk),
            stages=self._stage_books.of(account_pk),
            companies=self._companies.of(account_pk),
            read_companies=COMPANIES_SCOPE in granted,
        )

    def account_pk(self, account_id: str) -> int:
        """The row id of an installed portal; NotFound otherwise."""
        with self._sessions() as session:
            pk = installed_pk(session, CRM, account_id)
        if pk is None:
            raise NotFound(f"HubSpot portal {account_id} is not installed")
        return pk

    def account_ids(self) -> list[str]:
        """Every known portal, installed or not, by hub id."""
        with self._sessions() as session:
            return known_account_ids(session, CRM)

    def describe(self, account_id: str) -> dict[str, object]:
        """What the portal's status page and `conturs accounts show` print."""
        with self._sessions() as session:
            account = find_account(session, CRM, account_id)
            if account is None:
                raise NotFound(f"HubSpot portal {account_id} is not known")
            return {
                "crm": CRM,
                "account": account.account_id,
                "status": account.status,
                "client_id": account.client_id,
                "scopes": sorted(account.scope_set),
                "features_off": self.features_off(account.scope_set)
                if account.status == INSTALLED
                else [],
                "installed_by": account.installed_by,
                "installed_at": iso_or_none(account.installed_at),
                "uninstalled_at": iso_or_none(account.uninstalled_at),
                "last_checked_at": iso_or_none(account.last_checked_at),
                "last_error": account.last_error,
                **self._sync.status(account.id),
                **account_overview(session, account),
            }

    # -- internals ------------------------------------------------------------

    def _account_tokens(self, account_pk: int) -> AccountTokens:
        return AccountTokens(
            self._sessions,
            self._box,
            account_pk,
            self._refresh,
            self._revoked,
            clock=self._clock,
        )

    def _refresh(self, refresh_token: str) -> Tokens:
        return oauth.refresh(self.config, refresh_token)

    def _revoked(self, account_pk: int) -> None:
        with self._sessions.begin() as session:
            account = session.get(CrmAccount, account_pk)
            if account is not None:
                mark_uninstalled(session, account, self._clock())

    def _note_error(self, account_pk: int, problem: str) -> None:
        with self._sessions.begin() as session:
            note_error(session, account_pk, problem)
