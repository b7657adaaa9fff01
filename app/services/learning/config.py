"""The Config API's account use cases: register (the key is shown once), state a
profile, and describe the weights a client is served.

No fit runs here: registering or changing a profile publishes the prior that needs
no fitting (default or industry_prior) at once and queues the refit that looks at
similar clients and own outcomes, so a request never waits on learning.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client
from app.personalization.profile import ClientProfile
from app.services.errors import (
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RegistrationClosed,
    Unavailable,
)
from app.services.keys import normalise_email
from app.services.learning.clients import (
    ClientError,
    find_client_by_key,
    register_client,
)
from app.services.learning.profiles import profile_of, update_stated_profile
from app.services.learning.weights import current_weights, publish_prior
from app.services.tasks import TaskQueue


@dataclass(frozen=True)
class ClientView:
    """A client's weights and profile as the Config API reports them."""

    body: dict[str, Any]
    api_key: str | None = None  # only on the call that registered the client
    refit_pending: bool = False

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
    ) -> None:
        self._sessions = sessions
        self._tasks = tasks
        self.open_registration = open_registration

    def get_config(
        self, email: str, api_key: str | None, profile: Mapping[str, Any] | None
    ) -> ClientView:
        """Register on first call (returning the key once), else authenticate."""
        email = normalise_email(email)
        try:
            with self._sessions.begin() as session:
                client = session.scalar(
                    select(Client).where((Client.email == email) | (Client.id == email))
                )
                issued_key = None
                if client is None and api_key:
                    raise NotAuthenticated("Invalid API key")
                if client is None:
                    if not self.open_registration:
                        raise RegistrationClosed(
                            "Registration is closed on this server: ask its "
                            "operator for an API key"
                        )
                    client, issued_key = _register(session, email)
                elif not api_key or not _owns(session, client, api_key):
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
        with self._sessions.begin() as session:
            client = session.get(Client, client_id)
            if client is None:
                raise NotFound(f"No client {client_id}")
            _apply_profile(client, changes)
            session.flush()
            publish_prior(session, client)
            pinned = client.pinned_weights is not None
        pending = not pinned and self._queue_refit(client_id)
        return ClientView(self.describe(client_id), refit_pending=pending)

    def describe(self, client_id: str) -> dict[str, Any]:
        """The client's current weights and profile."""
        with self._sessions() as session:
            client = session.get(Client, client_id)
            if client is None:
                raise NotFound(f"No client {client_id}")
            published = current_weights(session, client)
            return {
                "client_id": client.id,
                "email": client.email,
                "weights": published.weights,
                "method": published.method,
                "version": published.version,
                "personalised": published.personalised,
                "profile": _profile_summary(profile_of(client)),
            }

    def _queue_refit(self, client_id: str) -> bool:
        return self._tasks.enqueue("refit_client", client_id=client_id)


def _register(session: Session, email: str) -> tuple[Client, str]:
    try:
        client, api_key = register_client(session, email)
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
