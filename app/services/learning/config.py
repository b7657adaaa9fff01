"""The Config API's account use cases: register (the key is shown once), state a
profile, and describe the weights a client is served.

No fit runs here: registering or changing a profile publishes the prior that needs
no fitting (default or industry_prior) at once and queues the refit that looks at
similar clients and own outcomes, so a request never waits on learning.

With email verification (a mailer given), a call without a key answers the same for
every address and a job mails the address: its new key, or a notice that grants
nothing when it is registered already, so no one can learn which emails have
accounts and only the mailbox's owner can get a key.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client
from app.personalization.bands import bands_to_json
from app.personalization.profile import ClientProfile
from app.services.errors import (
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RegistrationClosed,
    Unavailable,
)
from app.services.keys import new_api_key
from app.services.learning.bands import served_bands
from app.services.learning.clients import (
    ClientError,
    find_client_by_key,
    register_client,
)
from app.services.learning.emails import (
    Mail,
    Mailer,
    canonical_email,
    key_mail,
    notice_mail,
)
from app.services.learning.profiles import profile_of, update_stated_profile
from app.services.learning.tables import served_tables
from app.services.learning.weights import (
    current_weights,
    latest_version,
    publish_prior,
)
from app.services.tasks import TaskQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientView:
    """A client's weights and profile as the Config API reports them."""

    body: dict[str, Any]
    api_key: str | None = None  # only on the call that registered the client
    refit_pending: bool = False
    # Email verification: the answer is in the caller's mailbox, not in this view.
    check_your_email: bool = False

    @property
    def is_new_client(self) -> bool:
        """True on the registering call."""
        return self.api_key is not None


class ConfigService:
    """Registration, profiles and weights against the local database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tasks: TaskQueue,
        open_registration: bool = True,
        mailer: Mailer | None = None,
    ) -> None:
        self._sessions = sessions
        self._tasks = tasks
        self.open_registration = open_registration
        self._mailer = mailer  # set: registration is verified by email

    def get_config(
        self, email: str, api_key: str | None, profile: Mapping[str, Any] | None
    ) -> ClientView:
        """Register on first call (returning the key once), else authenticate."""
        try:
            identity = _identity(email)
        except InvalidInput:
            if api_key:  # no key belongs to what is not an address
                raise NotAuthenticated("Invalid API key") from None
            raise
        if not api_key and self._mailer is not None and self.open_registration:
            return self._answer_by_mail(identity, profile)
        try:
            with self._sessions.begin() as session:
                client = _find(session, identity)
                issued_key = None
                if api_key:
                    if client is None or not _owns(session, client, api_key):
                        raise NotAuthenticated("Invalid API key")
                elif not self.open_registration:
                    # Known or not, one answer: a closed server lists no accounts.
                    raise RegistrationClosed(
                        "Registration is closed on this server: ask its "
                        "operator for an API key"
                    )
                elif client is None:
                    client, issued_key = _register(session, identity)
                else:
                    raise NotAuthenticated("Invalid API key")
                changed = issued_key is not None or bool(profile)
                if profile:
                    _apply_profile(client, profile)
                if changed:
                    session.flush()
                    publish_prior(session, client)
                client_id, pinned = client.id, client.pinned_weights is not None
        except SQLAlchemyError as error:
            raise Unavailable("The client store cannot be reached") from error
        pending = changed and not pinned and self._queue_refit(client_id)
        return ClientView(self.describe(client_id), issued_key, pending)

    def update_profile(self, client_id: str, changes: Mapping[str, Any]) -> ClientView:
        """Set stated attributes of a client (CLI, admin); its refit is queued."""
        try:
            with self._sessions.begin() as session:
                client = session.get(Client, client_id)
                if client is None:
                    raise NotFound(f"No client {client_id}")
                _apply_profile(client, changes)
                session.flush()
                publish_prior(session, client)
                pinned = client.pinned_weights is not None
        except SQLAlchemyError as error:
            raise Unavailable("The client store cannot be reached") from error
        pending = not pinned and self._queue_refit(client_id)
        return ClientView(self.describe(client_id), refit_pending=pending)

    def describe(self, client_id: str) -> dict[str, Any]:
        """The client's current weights and profile."""
        try:
            with self._sessions() as session:
                client = session.get(Client, client_id)
                if client is None:
                    raise NotFound(f"No client {client_id}")
                published = current_weights(session, client)
                latest = latest_version(session, client.id)
                bands = served_bands(client, latest)
                return {
                    "client_id": client.id,
                    "email": client.email,
                    "weights": published.weights,
                    "method": published.method,
                    "version": published.version,
                    "personalised": published.personalised,
                    "bands": bands_to_json(bands),
                    # learned values per factor level; absent factors keep the
                    # seed's values (remote scorers apply them as we do)
                    "value_tables": served_tables(client, latest).to_json(),
                    "profile": _profile_summary(profile_of(client)),
                }
        except SQLAlchemyError as error:
            raise Unavailable("The client store cannot be reached") from error

    def send_access_mail(
        self, identity: str, profile: Mapping[str, Any] | None = None
    ) -> None:
        """Mail a new address its key (registering it) and a registered one a notice
        that grants nothing, so a key only ever reaches the mailbox's owner."""
        if self._mailer is None:
            raise RuntimeError("email verification is off: no mailer was given")
        with self._sessions() as session:
            client = _find(session, identity)
            known_email = None if client is None else client.email
        if known_email is not None:
            _send(self._mailer, notice_mail(known_email))
            return
        if "@" not in identity or not self.open_registration:
            return  # an unknown client id has no mailbox to write to
        _check_registrable(identity, profile)
        api_key = new_api_key()
        # Mailed before it is stored: a key that could not be sent never exists.
        _send(self._mailer, key_mail(identity, api_key))
        try:
            with self._sessions.begin() as session:
                client, _ = _register(session, identity, api_key)
                if profile:
                    _apply_profile(client, profile)
                session.flush()
                publish_prior(session, client)
                client_id, pinned = client.id, client.pinned_weights is not None
        except IntegrityError:
            log.warning("an address was registered twice at once; the first stays")
            return
        if not pinned:
            self._queue_refit(client_id)

    def _answer_by_mail(
        self, identity: str, profile: Mapping[str, Any] | None
    ) -> ClientView:
        if "@" in identity:  # refused now, alike for every address
            _check_registrable(identity, profile)
        self._tasks.enqueue(
            "mail_access", identity=identity, profile=dict(profile or {}) or None
        )
        return ClientView({}, check_your_email=True)

    def _queue_refit(self, client_id: str) -> bool:
        return self._tasks.enqueue("refit_client", client_id=client_id)


def _identity(raw: str) -> str:
    """A client id as given, else the canonical email (InvalidInput if it is none)."""
    text = raw.strip()
    if "@" not in text and text.startswith("cl_"):
        return text
    return canonical_email(raw)


def _send(mailer: Mailer, mail: Mail) -> None:
    mailer.send(mail.to, mail.subject, mail.body)


def _check_registrable(email: str, profile: Mapping[str, Any] | None) -> None:
    """Refuse an address or profile that registration would refuse, without
    looking at the database."""
    _apply_profile(Client(email=email, stated_profile={}), profile or {})


def _find(session: Session, identity: str) -> Client | None:
    return session.scalar(
        select(Client).where((Client.email == identity) | (Client.id == identity))
    )


def _register(
    session: Session, email: str, api_key: str | None = None
) -> tuple[Client, str]:
    try:
        client, api_key = register_client(session, email, api_key=api_key)
    except ClientError as error:
        raise InvalidInput(str(error)) from None
    update_stated_profile(client, {})
    return client, api_key


def _owns(session: Session, client: Client, api_key: str) -> bool:
    owner = find_client_by_key(session, api_key)
    return owner is not None and owner.id == client.id


def _apply_profile(client: Client, changes: Mapping[str, Any]) -> None:
    try:
        update_stated_profile(client, changes)
    except ClientError as error:
        raise InvalidInput(str(error)) from None


def _profile_summary(profile: ClientProfile) -> dict[str, Any]:
    return {
        "vertical": profile.vertical,
        "country": profile.country,
        "free_mail": profile.free_mail,
        "company_size": _size(profile.company_size),
        "icp_industries": sorted(profile.icp_industries),
        "icp_company_sizes": _size(profile.icp_size_range),
    }


def _size(size: tuple[int, int | None] | None) -> str | None:
    if size is None:
        return None
    low, high = size
    return f"{low}+" if high is None else f"{low}-{high}"
