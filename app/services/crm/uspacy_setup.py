"""Setting a Uspacy portal up, and what its settings page shows.

On every install (idempotent): our fields on leads and contacts, keeping the
codes Uspacy returns on the account, and one webhook for lead and contact
changes and deal stage moves, pointed at the portal's own secret URL
(`/uspacy/v1/webhooks/<key>`; the key is random, stored sealed, found by its
hash). Uspacy lets only admins manage webhooks: when the app's token may not,
the install still succeeds and the settings page shows the admin the URL and
the events to add by hand.

The settings page answers the portal's integration token (the app-secret JWT)
or a user's own token, which the portal itself must accept; the domain such a
token names is only believed once the portal has answered.

A mixin of UspacyApp (app/services/crm/uspacy_app.py), which provides the
sessions, the token box, the adapter and the record sync.
"""

import hashlib
import secrets
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmError, FieldSetup, ScopeMissing
from app.crm.uspacy import contract
from app.crm.uspacy.config import CRM, UspacyConfig
from app.crm.uspacy.install import (
    CallerRefused,
    bearer_token,
    token_domain,
    user_accepted,
    verified_domain,
)
from app.crm.uspacy.manifest import WEBHOOKS_PREFIX
from app.crypto import SecretBox
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.accounts import find_account
from app.services.crm.scorer import iso_or_none
from app.services.crm.sync import RecordSync
from app.services.crm.uspacy_sync import BACKFILL_TASK
from app.services.errors import InvalidInput, NotAuthenticated, NotFound, Unavailable
from app.services.tasks import TaskQueue

# The sweep retries a failed setup only this long after the install, so it
# does not run beside the install's own (slow while Uspacy fails).
SETUP_RETRY_AFTER = timedelta(minutes=5)

WEBHOOK_REGISTERED = "registered"
WEBHOOK_CONFIRMED = "confirmed"
WEBHOOK_NEEDS_ADMIN = "needs_admin"
MAX_KEY_CHARS = 128


@dataclass(frozen=True)
class SetupOutcome:
    """What setting a portal up did: our fields (None when creating them
    failed), the webhook's state, and what went wrong."""

    fields: FieldSetup | None
    webhook: str | None
    problem: str | None


def key_hash(key: str) -> str:
    """How a webhook key is stored to be found: SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class PortalSetup:
    """Fields, webhook and settings page of Uspacy portals, for UspacyApp."""

    _sessions: sessionmaker[Session]
    _box: SecretBox
    _sync: RecordSync
    _public_base_url: str
    _tasks: TaskQueue
    _clock: Callable[[], datetime]
    # Portals this process is setting up now (UspacyApp makes both).
    _setting_up: set[int]
    _setups_lock: threading.Lock
    config: UspacyConfig

    def client(self, account_pk: int, on_call: Any = None) -> Any:
        raise NotImplementedError

    def _counted(self, account_pk: int) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def caller_portal(self, authorization: str | None) -> str:
        raise NotImplementedError

    def ensure_webhook_key(self, account: CrmAccount) -> None:
        """Give the account its secret webhook key, once (a reinstall keeps it,
        so the webhook registered before still reaches us). Caller commits."""
        if account.webhook_key is None:
            key = secrets.token_urlsafe(32)
            account.webhook_key = self._box.encrypt(key)
            account.webhook_key_hash = key_hash(key)

    def _url_of(self, account: CrmAccount) -> str | None:
        if account.webhook_key is None:
            return None
        key = self._box.decrypt(account.webhook_key)
        return self._public_base_url + WEBHOOKS_PREFIX + key

    def setup(self, account_pk: int) -> SetupOutcome:
        """Create our fields and register our webhook where missing; keep the
        field codes and the webhook's state on the account."""
        problems: list[str] = []
        fields, webhook = None, None
        with self._sessions() as session:
            account = session.get(CrmAccount, account_pk)
            status_before = account.webhook_status if account else None
        with self._counted(account_pk) as crm:
            try:
                fields = crm.ensure_fields()
            except CrmError as failure:
                problems.append(f"Creating the Conturs fields failed: {failure}")
            try:
                # Changes this user makes are our own writes coming back.
                user_id = crm.app_user_id()
            except CrmError as failure:
                user_id = None
                problems.append(f"Reading the app's own user failed: {failure}")
            try:
                made = crm.ensure_webhook(events=contract.OUTCOME_WEBHOOK_EVENTS)
            except ScopeMissing:
                webhook = WEBHOOK_NEEDS_ADMIN
            except CrmError as failure:
                problems.append(f"Registering the webhook failed: {failure}")
            else:
                webhook = WEBHOOK_CONFIRMED if made.confirmed else WEBHOOK_REGISTERED
            codes = crm.field_codes
        problem = "; ".join(problems) or None
        with self._sessions.begin() as session:
            account = session.get(CrmAccount, account_pk)
            if account is not None:
                if fields is not None:
                    account.field_codes = codes
                if webhook in (WEBHOOK_CONFIRMED, WEBHOOK_NEEDS_ADMIN):
                    account.webhook_status = webhook
                else:
                    # Compare-and-set: the handshake may have landed (and
                    # confirmed the webhook) while we were registering it.
                    session.execute(
                        update(CrmAccount)
                        .where(
                            CrmAccount.id == account_pk,
                            CrmAccount.webhook_status.is_not_distinct_from(
                                status_before
                            ),
                        )
                        .values(webhook_status=webhook)
                        .execution_options(synchronize_session=False)
                    )
                if user_id is not None:
                    account.app_user_id = user_id
                account.last_error = problem[:2000] if problem else None
        return SetupOutcome(fields, webhook, problem)

    def finish_setup(self, account_pk: int) -> SetupOutcome | None:
        """Set the portal up, then queue its backfill once our fields exist
        (the install, and the sweep's retry of a setup that failed). None when
        this process is setting the portal up already: two setups at once
        could each add a webhook."""
        with self._setups_lock:
            if account_pk in self._setting_up:
                return None
            self._setting_up.add(account_pk)
        try:
            outcome = self.setup(account_pk)
        finally:
            with self._setups_lock:
                self._setting_up.discard(account_pk)
        if outcome.fields is not None:
            self._tasks.enqueue(BACKFILL_TASK, account_pk=account_pk)
        return outcome

    def unfinished_setups(self) -> list[int]:
        """Portals whose setup the sweep retries: not set up (Uspacy failed at
        the time), once the install's own setup has had its time. A webhook
        only an admin may add is not retried; the settings page says what to
        do."""
        return self.not_set_up(self._clock() - SETUP_RETRY_AFTER)

    def not_set_up(
        self, installed_before: datetime | None = None, fields_only: bool = False
    ) -> list[int]:
        """Installed portals that lack our fields or a webhook (`fields_only`:
        our fields), installed before `installed_before` if given."""
        query = select(
            CrmAccount.id, CrmAccount.field_codes, CrmAccount.webhook_status
        ).where(CrmAccount.crm == CRM, CrmAccount.status == INSTALLED)
        if installed_before is not None:
            query = query.where(CrmAccount.installed_at <= installed_before)
        with self._sessions() as session:
            rows = session.execute(query)
            return [
                pk
                for pk, codes, webhook in rows
                if not codes or (webhook is None and not fields_only)
            ]

    def account_by_webhook_key(self, key: str) -> int | None:
        """The installed portal whose webhook URL carries `key`, if any."""
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            return None
        with self._sessions() as session:
            return session.scalars(
                select(CrmAccount.id).where(
                    CrmAccount.crm == CRM,
                    CrmAccount.status == INSTALLED,
                    CrmAccount.webhook_key_hash == key_hash(key),
                )
            ).one_or_none()

    def confirm_webhook(self, account_pk: int, validation_link: str) -> None:
        """Fetch the validation link Uspacy posted to the portal's webhook URL,
        so the webhook starts delivering; InvalidInput for a link off the
        portal's host."""
        try:
            with self._counted(account_pk) as crm:
                crm.confirm_webhook(validation_link)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        with self._sessions.begin() as session:
            account = session.get(CrmAccount, account_pk)
            if account is not None:
                account.webhook_status = WEBHOOK_CONFIRMED

    def settings_portal(self, authorization: str | None) -> str:
        """The portal whose settings page the caller may see: the one its
        integration token names, or the one that accepts its user token."""
        try:
            token = bearer_token(authorization)
        except CallerRefused as refused:
            raise NotAuthenticated(refused.message) from None
        try:
            return verified_domain(token, self.config.client_secret)
        except CallerRefused:
            pass  # not the app's token: perhaps a user's
        domain = token_domain(token)
        with self._sessions() as session:
            account = find_account(session, CRM, domain) if domain else None
            known = account is not None and account.status == INSTALLED
        # Only a portal with the app installed is asked, so a forged domain
        # cannot make this server call a host of the caller's choosing.
        if not known or domain is None:
            raise NotAuthenticated("the token is not valid for a portal with Conturs")
        try:
            accepted = user_accepted(self.config, domain, token)
        except CrmError:
            raise Unavailable("Uspacy could not check the token: try again") from None
        if not accepted:
            raise NotAuthenticated("Uspacy did not accept the token")
        return domain

    def describe(self, domain: str) -> dict[str, Any]:
        """What the portal's settings page and `conturs accounts show` print."""
        with self._sessions() as session:
            account = find_account(session, CRM, domain)
            if account is None:
                raise NotFound(f"Uspacy portal {domain} is not known")
            return {
                "crm": CRM,
                "account": account.account_id,
                "status": account.status,
                "client_id": account.client_id,
                "webhook_status": account.webhook_status,
                "webhook_url": self._url_of(account),
                "webhook_events": [
                    {"table": table, "actions": list(actions)}
                    for table, actions in contract.OUTCOME_WEBHOOK_EVENTS
                ],
                "field_codes": dict(account.field_codes or {}),
                "installed_at": iso_or_none(account.installed_at),
                "uninstalled_at": iso_or_none(account.uninstalled_at),
                "token_expires_at": iso_or_none(account.token_expires_at),
                "last_error": account.last_error,
                **self._sync.status(account.id),
            }
