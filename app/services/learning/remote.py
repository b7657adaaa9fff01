"""Self-hosted scoring against a central Config API (CONFIG_API_URL).

Weights are fetched on a client's first request and kept in the database and in
memory; when the Config API is down the stored copy keeps serving, and a client
never seen before is scored with the default weights (method "default"). Feedback is
queued in a durable outbox and delivered with retries; only keyed hashes of lead ids
and factor values leave this service.
"""

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import CachedConfig, LeadSnapshot, OutboxMessage
from app.models.base import utcnow
from app.personalization.learning import REWARDS
from app.personalization.profile import (
    ClientProfile,
    normalise_icp_industries,
    normalise_size,
)
from app.scoring import DEFAULT_WEIGHTS, FACTOR_KEYS, WeightsError, validate_weights
from app.services.learning.clients import hash_api_key, normalise_email
from app.services.learning.config import (
    NO_SNAPSHOT_MESSAGE,
    ConfigApiError,
    check_action,
    check_factors,
    lead_key,
)
from app.services.scoring.configs import (
    ClientConfig,
    ConfigUnavailableError,
    build_config,
)

log = logging.getLogger(__name__)

_MAX_BACKOFF = timedelta(minutes=30)


class RemoteConfigSource:
    """Loads configurations from the Config API, remembering the last good answer."""

    def __init__(
        self, base_url: str, sessions: sessionmaker[Session], timeout: float = 3.0
    ) -> None:
        self._url = base_url.rstrip("/") + "/config"
        self._sessions = sessions
        self._timeout = timeout

    def load(self, api_key: str, identity: str) -> ClientConfig | None:
        try:
            response = requests.post(
                self._url,
                json={"email": identity, "api_key": api_key},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            raise ConfigUnavailableError(f"Config API unreachable: {error}") from None
        if response.status_code in (401, 403):
            self._forget(api_key)  # a revoked key must not live on in the copy
            return None
        if response.status_code != 200:
            raise ConfigUnavailableError(f"Config API answered {response.status_code}")
        try:
            payload = response.json()
            config = _config_from_payload(payload, identity)
        except (ValueError, KeyError, TypeError, WeightsError) as error:
            raise ConfigUnavailableError(
                f"Config API sent a bad config: {error}"
            ) from None
        self._store(api_key, config, payload)
        return config

    def stored(self, api_key: str, identity: str) -> ClientConfig | None:
        try:
            with self._sessions() as session:
                copy = session.get(CachedConfig, hash_api_key(api_key))
        except SQLAlchemyError:
            return None
        if copy is not None and (
            identity == copy.client_id or normalise_email(identity) == copy.email
        ):
            return _config_from_payload(copy.payload, copy.email)
        return None

    def fallback(self, api_key: str, identity: str) -> ClientConfig | None:
        # Never seen (or another identity): score, but with the baseline weights.
        return build_config(
            identity,
            normalise_email(identity),
            tuple(DEFAULT_WEIGHTS.values()),
            "default",
        )

    def _forget(self, api_key: str) -> None:
        try:
            with self._sessions.begin() as session:
                session.execute(
                    delete(CachedConfig).where(
                        CachedConfig.key_hash == hash_api_key(api_key)
                    )
                )
        except SQLAlchemyError:
            log.exception("could not drop the stored config of a refused key")

    def _store(self, api_key: str, config: ClientConfig, payload: dict) -> None:
        try:
            with self._sessions.begin() as session:
                session.merge(
                    CachedConfig(
                        key_hash=hash_api_key(api_key),
                        client_id=config.client_id,
                        email=config.email,
                        payload=payload,
                        fetched_at=utcnow(),
                    )
                )
        except SQLAlchemyError:
            log.exception("could not store the fetched config")


def _config_from_payload(payload: dict[str, Any], identity: str) -> ClientConfig:
    profile = payload.get("profile") or {}
    email = normalise_email(payload.get("email") or identity)
    sizes = profile.get("icp_company_sizes")
    icp = ClientProfile(
        icp_industries=normalise_icp_industries(profile.get("icp_industries") or []),
        icp_size_range=normalise_size(sizes) if sizes else None,
    ).to_icp()
    return build_config(
        payload["client_id"],
        email,
        validate_weights(payload["weights"]),
        payload["method"],
        payload.get("version"),
        icp,
    )


class RemoteFeedback:
    """POST /feedback on a self-hosted scoring service: resolve the factors from the
    local snapshots, then queue the feedback for the Config API."""

    def __init__(
        self, outbox: "FeedbackOutbox", sessions: sessionmaker[Session], secret: str
    ) -> None:
        self._outbox = outbox
        self._sessions = sessions
        self._secret = secret

    def record_feedback(
        self,
        api_key: str,
        client_id: str,
        lead_id: str,
        action: str,
        factors: Mapping[str, float] | None,
    ) -> dict[str, Any]:
        check_action(action)
        if factors is not None:
            values = check_factors(factors)
        else:
            with self._sessions() as session:
                snapshot = session.get(
                    LeadSnapshot, (client_id, lead_key(self._secret, lead_id))
                )
                if snapshot is None:
                    raise ConfigApiError(422, NO_SNAPSHOT_MESSAGE)
                values = list(snapshot.factor_values)
        self._outbox.enqueue(
            api_key,
            client_id,
            lead_id,
            action,
            dict(zip(FACTOR_KEYS, values, strict=True)),
        )
        return {
            "status": "queued",
            "client_id": client_id,
            "action": action,
            "reward": REWARDS[action],
        }


class FeedbackOutbox:
    """Feedback waiting for the Config API, delivered in order with backoff."""

    def __init__(
        self,
        base_url: str,
        sessions: sessionmaker[Session],
        secret: str,
        timeout: float = 5.0,
    ) -> None:
        self._url = base_url.rstrip("/") + "/feedback"
        self._sessions = sessions
        self._secret = secret
        self._timeout = timeout

    def enqueue(
        self,
        api_key: str,
        client_id: str,
        lead_id: str,
        action: str,
        factors: dict[str, float],
    ) -> None:
        """Accept feedback durably; the lead id leaves only as a keyed hash."""
        with self._sessions.begin() as session:
            session.add(
                OutboxMessage(
                    payload={
                        "api_key": api_key,
                        "client_id": client_id,
                        "lead_id": lead_key(self._secret, lead_id),
                        "action": action,
                        "factors": factors,
                    }
                )
            )

    def deliver(self, limit: int = 100) -> int:
        """Send due messages; returns how many were delivered."""
        delivered = 0
        with self._sessions() as session:
            due = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.next_attempt_at <= utcnow())
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
            for message in due:
                error = self._send(message.payload)
                if error is None:
                    session.delete(message)
                    delivered += 1
                else:
                    message.attempts += 1
                    message.last_error = error
                    backoff = min(timedelta(seconds=2**message.attempts), _MAX_BACKOFF)
                    message.next_attempt_at = utcnow() + backoff
                session.commit()
        return delivered

    def _send(self, payload: dict[str, Any]) -> str | None:
        try:
            response = requests.post(self._url, json=payload, timeout=self._timeout)
        except requests.RequestException as error:
            return f"unreachable: {error}"
        if response.status_code < 300:
            return None
        if 400 <= response.status_code < 500 and response.status_code != 429:
            # The Config API refused it for good (bad key, bad data): keep a record
            # in the log and stop retrying.
            log.error(
                "feedback refused by Config API: %s %s",
                response.status_code,
                response.text[:200],
            )
            return None
        return f"HTTP {response.status_code}"
