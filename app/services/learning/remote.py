"""Feedback on a self-hosted scoring service (CONFIG_API_URL): outcomes are resolved
to factor values from the local score history, then queued in a durable outbox and
delivered to the central Config API with retries.

Only keyed hashes of lead ids and factor values leave this service. The client's
API key, which the Config API needs to accept the feedback, is stored sealed with
the deployment's encryption keys (`app.crypto`), never in clear.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config_client import ConfigApiClient
from app.crypto import SecretBox, SecretUnreadableError
from app.models import OutboxMessage
from app.models.base import utcnow
from app.personalization.learning import REWARDS
from app.scoring import FACTOR_KEYS
from app.services.errors import NotAuthenticated, Unavailable
from app.services.learning.feedback import (
    OutcomeReceipt,
    check_action,
    resolve_values,
)

log = logging.getLogger(__name__)

_MAX_BACKOFF = timedelta(minutes=30)


class FeedbackOutbox:
    """Feedback waiting for the Config API, delivered in order with backoff."""

    def __init__(
        self, api: ConfigApiClient, sessions: sessionmaker[Session], box: SecretBox
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._box = box

    def add(self, session: Session, api_key: str, payload: dict[str, Any]) -> None:
        """Accept one message in the caller's transaction; the key is sealed."""
        session.add(
            OutboxMessage(payload=payload, credential=self._box.encrypt(api_key))
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
                try:
                    body = {**message.payload, "api_key": self._api_key(message)}
                except SecretUnreadableError:
                    log.error(
                        "outbox message %d: no configured key opens its credential; "
                        "kept until TOKEN_ENCRYPTION_KEYS includes the old key",
                        message.id,
                    )
                    # Postponed like a failed delivery, so unreadable messages at the
                    # head of the queue cannot keep every later one from being sent.
                    _postpone(message, "credential unreadable: old key not configured")
                    session.commit()
                    continue
                result = self._api.send_feedback(body)
                if result.delivered or not result.retry:
                    if not result.delivered:
                        log.error("feedback refused by Config API: %s", result.error)
                    session.delete(message)
                    delivered += result.delivered
                else:
                    _postpone(message, result.error)
                session.commit()
        return delivered

    def _api_key(self, message: OutboxMessage) -> str:
        if message.credential is not None:
            return self._box.decrypt(message.credential)
        # Written before credentials were sealed; `conturs keys rotate` seals them.
        return str(message.payload.get("api_key", ""))


def _postpone(message: OutboxMessage, error: str | None) -> None:
    """Retry later, backing off exponentially up to _MAX_BACKOFF."""
    message.attempts += 1
    message.last_error = error
    backoff = min(timedelta(seconds=2**message.attempts), _MAX_BACKOFF)
    message.next_attempt_at = utcnow() + backoff


class RemoteFeedback:
    """A FeedbackRecorder that forwards outcomes to the central Config API."""

    def __init__(self, outbox: FeedbackOutbox, sessions: sessionmaker[Session]) -> None:
        self._outbox = outbox
        self._sessions = sessions

    def record_outcome(
        self,
        client_id: str,
        lead_key: str,
        action: str,
        values: Sequence[float] | None = None,
        *,
        at: datetime | None = None,
        api_key: str | None = None,
    ) -> OutcomeReceipt:
        """Queue one outcome for delivery (the Config API deduplicates it)."""
        check_action(action)
        if not api_key:
            raise NotAuthenticated(
                "Forwarding feedback to the Config API needs the client's API key"
            )
        try:
            with self._sessions.begin() as session:
                resolved = resolve_values(session, client_id, lead_key, values, at)
                self._outbox.add(
                    session,
                    api_key,
                    {
                        "client_id": client_id,
                        "lead_id": lead_key,
                        "action": action,
                        "factors": dict(zip(FACTOR_KEYS, resolved, strict=True)),
                    },
                )
        except SQLAlchemyError as error:
            raise Unavailable("Feedback cannot be queued right now") from error
        return OutcomeReceipt("queued", client_id, action, REWARDS[action])
