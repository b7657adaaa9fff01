"""The Config API's use cases: registration and configuration (POST /config) and
outcome feedback (POST /feedback). Leads are known here only by keyed hashes."""

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client, Feedback, LeadSnapshot
from app.personalization.learning import REWARDS, sample_from_feedback
from app.personalization.profile import ClientProfile
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import (
    ClientError,
    find_client_by_key,
    normalise_email,
    register_client,
)
from app.services.learning.profiles import profile_of, update_stated_profile
from app.services.learning.weights import current_weights, refit, refit_due


class ConfigApiError(Exception):
    """A Config API request that cannot be served: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


NO_SNAPSHOT_MESSAGE = (
    "No factor values known for this lead: it was never scored for this client "
    "through POST /leads; send its factors with the feedback"
)


def check_action(action: str) -> None:
    """Only the five outcome actions exist."""
    if action not in REWARDS:
        raise ConfigApiError(
            400, f"Unknown action {action!r}; valid actions: {', '.join(REWARDS)}"
        )


def check_factors(factors: Mapping[str, float]) -> list[float]:
    """Factor values keyed by exactly the ten factor keys, in factor order."""
    unknown = sorted(set(factors) - set(FACTOR_KEYS))
    missing = [k for k in FACTOR_KEYS if k not in factors]
    if unknown or missing:
        raise ConfigApiError(
            400,
            f"factors must hold exactly the ten factor keys ({', '.join(FACTOR_KEYS)})"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else ""),
        )
    return [factors[k] for k in FACTOR_KEYS]


def lead_key(secret: str, lead_id: str) -> str:
    """The keyed hash under which a lead is known; the id itself is never stored."""
    key = hashlib.sha256(b"conturs-lead-key:" + secret.encode()).digest()
    normalised = lead_id.strip().lower().encode("utf-8", "surrogatepass")
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


@dataclass
class ConfigApi:
    """Registration, configuration and feedback against the local database."""

    sessions: sessionmaker[Session]
    secret: str
    open_registration: bool = True
    # Set by the app factory: queues a background job by task name.
    enqueue: Callable[..., None] = field(default=lambda name, **kwargs: None)

    def get_config(
        self, email: str, api_key: str | None, profile: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Register on first call (returning the key once), else authenticate."""
        email = normalise_email(email)
        with self.sessions.begin() as session:
            client = session.scalar(
                select(Client).where((Client.email == email) | (Client.id == email))
            )
            issued_key = None
            if client is None and api_key:
                raise ConfigApiError(401, "Invalid API key")
            if client is None:
                if not self.open_registration:
                    raise ConfigApiError(
                        403,
                        "Registration is closed on this server: ask its "
                        "operator for an API key",
                    )
                client, issued_key = self._register(session, email)
            elif not api_key or _owner(session, api_key) != client.id:
                raise ConfigApiError(401, "Invalid API key")
            if profile:
                _apply_profile(client, profile)
            if profile or issued_key is not None:
                session.flush()
                refit(session, client)
            body = _describe(session, client)
        body["is_new_client"] = issued_key is not None
        if issued_key is not None:
            body["api_key"] = issued_key
        return body

    def update_profile(
        self, client_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Set stated attributes of a client (CLI, admin) and refit its weights."""
        with self.sessions.begin() as session:
            client = session.get(Client, client_id)
            if client is None:
                raise ConfigApiError(404, f"No client {client_id}")
            _apply_profile(client, changes)
            session.flush()
            refit(session, client)
            return _describe(session, client)

    def _register(self, session: Session, email: str) -> tuple[Client, str]:
        try:
            client, api_key = register_client(session, email)
        except ClientError as error:
            raise ConfigApiError(400, str(error)) from None
        update_stated_profile(client, {})
        return client, api_key

    def record_feedback(
        self,
        api_key: str,
        client_id: str,
        lead_id: str,
        action: str,
        factors: Mapping[str, float] | None,
    ) -> dict[str, Any]:
        """Store one outcome once; refit when enough new outcomes arrived."""
        check_action(action)
        key = lead_key(self.secret, lead_id)
        with self.sessions.begin() as session:
            if _owner(session, api_key) != client_id:
                raise ConfigApiError(401, "Invalid API key")
            values = self._factor_values(session, client_id, key, factors)
            try:
                sample = sample_from_feedback(values, action, key)
            except ValueError as error:
                raise ConfigApiError(400, f"Invalid factors: {error}") from None
            duplicate = session.scalar(
                select(Feedback.id).where(
                    Feedback.client_id == client_id,
                    Feedback.lead_key == key,
                    Feedback.action == action,
                )
            )
            if duplicate is None:
                try:
                    with session.begin_nested():
                        session.add(
                            Feedback(
                                client_id=client_id,
                                lead_key=key,
                                action=action,
                                reward=sample.reward,
                                factor_values=list(sample.values),
                            )
                        )
                except IntegrityError:  # a concurrent duplicate won the race
                    duplicate = -1
            due = duplicate is None and refit_due(session, client_id)
        if due:
            self.enqueue("refit_client", client_id=client_id)
        return {
            "status": "duplicate" if duplicate is not None else "recorded",
            "client_id": client_id,
            "action": action,
            "reward": REWARDS[action],
            "refit_due": due,
        }

    def _factor_values(
        self,
        session: Session,
        client_id: str,
        key: str,
        factors: Mapping[str, float] | None,
    ) -> Sequence[float]:
        if factors is not None:
            return check_factors(factors)
        snapshot = session.get(LeadSnapshot, (client_id, key))
        if snapshot is None:
            raise ConfigApiError(422, NO_SNAPSHOT_MESSAGE)
        return snapshot.factor_values


def _apply_profile(client: Client, changes: Mapping[str, Any]) -> None:
    try:
        update_stated_profile(client, changes)
    except ClientError as error:
        raise ConfigApiError(400, str(error)) from None


def _describe(session: Session, client: Client) -> dict[str, Any]:
    """The client's current weights and profile, as the Config API reports them."""
    session.flush()
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


def _owner(session: Session, api_key: str) -> str | None:
    client = find_client_by_key(session, api_key)
    return client.id if client is not None else None


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
