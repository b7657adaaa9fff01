"""Feedback on a self-hosted scoring service (CONFIG_API_URL): outcomes are resolved
to factor values from the local score history, then queued in a durable outbox and
delivered to the central Config API with retries. Retractions and privacy
deletions travel the same outbox as kinds of message, after every earlier message
about the same lead, so a record and its retraction arrive in the order they were
made.

Only keyed hashes of lead ids and factor values leave this service. The client's
API key, which the Config API needs to accept the feedback, is stored sealed with
the deployment's encryption keys (`app.crypto`), never in clear.
"""

import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config_client import ConfigApiClient
from app.crypto import SecretBox, SecretUnreadableError
from app.models import OutboxMessage
from app.models.base import utcnow
from app.personalization.outcomes import REWARDS
from app.scoring import FACTOR_KEYS
from app.services.errors import NotAuthenticated, Unavailable
from app.services.learning.feedback import (
    OutcomeReceipt,
    check_action,
    resolve_values,
)

log = logging.getLogger(__name__)

_MAX_BACKOFF = timedelta(minutes=30)
# What a message asks of the Config API; a message without a kind records.
RECORD, RETRACT, FORGET = "record", "retract", "forget"
_DELETIONS = (RETRACT, FORGET)

# A lead as messages name it: (client id, lead key).
Lead = tuple[str, str]


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

    def drop_lead(self, session: Session, client_id: str, lead_key: str) -> int:
        """Delete the unsent messages naming one lead of one client."""
        return session.execute(
            delete(OutboxMessage)
            .where(
                OutboxMessage.payload["client_id"].as_string() == client_id,
                OutboxMessage.payload["lead_id"].as_string() == lead_key,
            )
            .execution_options(synchronize_session=False)
        ).rowcount

    def deliver(self, limit: int = 100) -> int:
        """Send due messages; returns how many were delivered.

        A message waits while an earlier one about the same lead is unsent, so
        retractions and deletions never overtake what they take back. Rows are
        changed by id, not through the loaded objects, so a message that a
        privacy deletion removed meanwhile is simply gone.
        """
        delivered = 0
        with self._sessions() as session:
            due = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.next_attempt_at <= utcnow())
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
            unsent = _unsent_by_lead(session, due)
            for message in due:
                lead = _lead_of(message.payload)
                queue = unsent.get(lead) if lead else None
                if lead and (not queue or queue[0][0] != message.id):
                    if queue and any(queued == message.id for queued, _ in queue):
                        # An earlier message about this lead goes first: wait for it.
                        _set(session, message.id, next_attempt_at=queue[0][1])
                        session.commit()
                    continue  # else a privacy deletion removed it meanwhile
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
                    _postpone(
                        session,
                        message,
                        queue,
                        "credential unreadable: old key not configured",
                    )
                    session.commit()
                    continue
                kind = body.pop("kind", RECORD)
                result = (
                    self._api.remove_feedback(body)
                    if kind in _DELETIONS
                    else self._api.send_feedback(body)
                )
                if result.delivered or not result.retry:
                    if not result.delivered:
                        log.error("feedback refused by Config API: %s", result.error)
                    session.execute(
                        delete(OutboxMessage).where(OutboxMessage.id == message.id)
                    )
                    if queue:
                        queue.popleft()
                    delivered += result.delivered
                else:
                    _postpone(session, message, queue, result.error)
                session.commit()
        return delivered

    def _api_key(self, message: OutboxMessage) -> str:
        if message.credential is not None:
            return self._box.decrypt(message.credential)
        # Written before credentials were sealed; `conturs keys rotate` seals them.
        return str(message.payload.get("api_key", ""))


def _lead_of(payload: dict[str, Any]) -> Lead | None:
    client_id, lead_key = payload.get("client_id"), payload.get("lead_id")
    if not isinstance(client_id, str) or not isinstance(lead_key, str):
        return None  # not about one lead: nothing to keep in order
    return client_id, lead_key


def _unsent_by_lead(
    session: Session, due: Sequence[OutboxMessage]
) -> dict[Lead, deque[tuple[int, datetime]]]:
    """Every unsent message (id, next attempt) about the leads of `due`, oldest
    first, due or not."""
    leads = (_lead_of(message.payload) for message in due)
    lead_keys = {lead[1] for lead in leads if lead}
    if not lead_keys:
        return {}
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.next_attempt_at,
            OutboxMessage.payload["client_id"].as_string(),
            OutboxMessage.payload["lead_id"].as_string(),
        )
        .where(OutboxMessage.payload["lead_id"].as_string().in_(lead_keys))
        .order_by(OutboxMessage.id)
    ).all()
    unsent: dict[Lead, deque[tuple[int, datetime]]] = {}
    for message_id, next_attempt_at, client_id, lead_key in rows:
        unsent.setdefault((client_id, lead_key), deque()).append(
            (message_id, next_attempt_at)
        )
    return unsent


def _postpone(
    session: Session,
    message: OutboxMessage,
    queue: deque[tuple[int, datetime]] | None,
    error: str | None,
) -> None:
    """Retry later, backing off exponentially up to _MAX_BACKOFF; later messages
    about the same lead in this batch wait as long."""
    attempts = message.attempts + 1
    next_attempt_at = utcnow() + min(timedelta(seconds=2**attempts), _MAX_BACKOFF)
    _set(
        session,
        message.id,
        attempts=attempts,
        last_error=error,
        next_attempt_at=next_attempt_at,
    )
    if queue and queue[0][0] == message.id:
        queue[0] = (message.id, next_attempt_at)


def _set(session: Session, message_id: int, **values: Any) -> None:
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


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
        api_key = _required(api_key)
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

    def retract_outcome(
        self,
        client_id: str,
        lead_key: str,
        action: str,
        *,
        api_key: str | None = None,
    ) -> bool:
        """Queue the removal of one outcome, after whatever was queued before."""
        check_action(action)
        api_key = _required(api_key)
        message = {
            "kind": RETRACT,
            "client_id": client_id,
            "lead_id": lead_key,
            "action": action,
        }
        try:
            with self._sessions.begin() as session:
                self._outbox.add(session, api_key, message)
        except SQLAlchemyError as error:
            raise Unavailable("Feedback cannot be queued right now") from error
        return True

    def forget_lead(
        self, client_id: str, lead_key: str, *, api_key: str | None = None
    ) -> int:
        """Drop the unsent messages about the lead and queue the removal of every
        outcome of it at the Config API; the dropped messages plus that one."""
        api_key = _required(api_key)
        message = {"kind": FORGET, "client_id": client_id, "lead_id": lead_key}
        try:
            with self._sessions.begin() as session:
                dropped = self._outbox.drop_lead(session, client_id, lead_key)
                self._outbox.add(session, api_key, message)
        except SQLAlchemyError as error:
            raise Unavailable("Feedback cannot be queued right now") from error
        return dropped + 1


def _required(api_key: str | None) -> str:
    if not api_key:
        raise NotAuthenticated(
            "Forwarding feedback to the Config API needs the client's API key"
        )
    return api_key
