"""Outcomes of leads become feedback: the use case a CRM worker and POST /feedback
share. A recorder takes (client, lead key, action, factor values) — no API key, no
request — and is local (this database learns from it) or remote (an outbox forwards
it to a central Config API). An outcome can be taken back: one action of a lead
(a reopened deal) or every action of it (a privacy deletion)."""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client, Feedback
from app.models.base import utcnow
from app.personalization.outcomes import REWARDS, sample_from_feedback
from app.scoring import FACTOR_KEYS
from app.services.errors import InvalidInput, NoFactorValues, NotFound, Unavailable
from app.services.learning.weights import latest_version, refit_due
from app.services.scoring.history import values_at
from app.services.tasks import TaskQueue

log = logging.getLogger(__name__)

NO_FACTOR_VALUES_MESSAGE = (
    "No factor values known for this lead: it was never scored for this client "
    "through POST /leads; send its factors with the feedback"
)


@dataclass(frozen=True)
class OutcomeReceipt:
    """What happened to an outcome: recorded, a duplicate, or queued for delivery."""

    status: str
    client_id: str
    action: str
    reward: float
    refit_due: bool = False


class FeedbackRecorder(Protocol):
    """Records outcomes of leads for learning."""

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
        """Record one outcome once. Without `values`, the factor values of the last
        score at or before `at` (default: now) are used, so fields that changed
        because of the outcome do not leak into learning. `api_key` is needed only
        by a recorder that forwards to a remote Config API."""
        ...

    def retract_outcome(
        self,
        client_id: str,
        lead_key: str,
        action: str,
        *,
        api_key: str | None = None,
    ) -> bool:
        """Remove one recorded outcome; True if one was removed (or queued for
        removal)."""
        ...

    def forget_lead(
        self, client_id: str, lead_key: str, *, api_key: str | None = None
    ) -> int:
        """Remove every outcome keyed by the lead (all actions); how many rows were
        removed or queued."""
        ...


def check_action(action: str) -> None:
    """Only the five outcome actions exist."""
    if action not in REWARDS:
        raise InvalidInput(
            f"Unknown action {action!r}; valid actions: {', '.join(REWARDS)}"
        )


def check_factors(factors: Mapping[str, float]) -> list[float]:
    """Factor values keyed by exactly the ten factor keys, in factor order."""
    unknown = sorted(set(factors) - set(FACTOR_KEYS))
    missing = [k for k in FACTOR_KEYS if k not in factors]
    if unknown or missing:
        raise InvalidInput(
            f"factors must hold exactly the ten factor keys ({', '.join(FACTOR_KEYS)})"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    return [factors[k] for k in FACTOR_KEYS]


def remove_outcomes(
    recorder: FeedbackRecorder,
    client_id: str,
    lead_key: str,
    action: str | None,
    *,
    api_key: str | None = None,
) -> int:
    """DELETE /feedback: retract one action of a lead, or forget the lead when no
    action is named; how many outcomes were removed (or queued for removal)."""
    if action is None:
        return recorder.forget_lead(client_id, lead_key, api_key=api_key)
    check_action(action)
    return int(recorder.retract_outcome(client_id, lead_key, action, api_key=api_key))


def resolve_values(
    session: Session,
    client_id: str,
    lead_key: str,
    values: Sequence[float] | None,
    at: datetime | None,
) -> Sequence[float]:
    """The given values, else the last recorded score's at or before `at`."""
    if values is not None:
        return values
    recorded = values_at(session, client_id, lead_key, at or utcnow())
    if recorded is None:
        raise NoFactorValues(NO_FACTOR_VALUES_MESSAGE)
    return recorded


class LocalFeedback:
    """Stores outcomes in this database and queues refits as they accumulate."""

    def __init__(self, sessions: sessionmaker[Session], tasks: TaskQueue) -> None:
        self._sessions = sessions
        self._tasks = tasks

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
        """Store one outcome once; queue a refit when enough new ones arrived."""
        check_action(action)
        try:
            with self._sessions.begin() as session:
                recorded, due = self._store(
                    session, client_id, lead_key, action, values, at
                )
        except SQLAlchemyError as error:
            log.exception("could not record an outcome of client %s", client_id)
            raise Unavailable("Feedback cannot be stored right now") from error
        if due:
            self._tasks.enqueue("refit_client", client_id=client_id)
        return OutcomeReceipt(
            "recorded" if recorded else "duplicate",
            client_id,
            action,
            REWARDS[action],
            due,
        )

    def _store(
        self,
        session: Session,
        client_id: str,
        lead_key: str,
        action: str,
        values: Sequence[float] | None,
        at: datetime | None,
    ) -> tuple[bool, bool]:
        if session.get(Client, client_id) is None:
            raise NotFound(f"No client {client_id}")
        resolved = resolve_values(session, client_id, lead_key, values, at)
        try:
            sample = sample_from_feedback(resolved, action, lead_key)
        except ValueError as error:
            raise InvalidInput(f"Invalid factors: {error}") from None
        duplicate = session.scalar(
            select(Feedback.id).where(
                Feedback.client_id == client_id,
                Feedback.lead_key == lead_key,
                Feedback.action == action,
            )
        )
        if duplicate is not None:
            return False, False
        try:
            with session.begin_nested():
                session.add(
                    Feedback(
                        client_id=client_id,
                        lead_key=lead_key,
                        action=action,
                        reward=sample.reward,
                        factor_values=list(sample.values),
                    )
                )
        except IntegrityError:  # a concurrent duplicate won the race
            return False, False
        return True, refit_due(session, client_id)

    def retract_outcome(
        self,
        client_id: str,
        lead_key: str,
        action: str,
        *,
        api_key: str | None = None,
    ) -> bool:
        """Delete one outcome of this client's lead (a reopened deal)."""
        check_action(action)
        return self._remove(client_id, lead_key, action) > 0

    def forget_lead(
        self, client_id: str, lead_key: str, *, api_key: str | None = None
    ) -> int:
        """Delete every outcome of this client's lead (a privacy deletion)."""
        return self._remove(client_id, lead_key, None)

    def _remove(self, client_id: str, lead_key: str, action: str | None) -> int:
        statement = delete(Feedback).where(
            Feedback.client_id == client_id, Feedback.lead_key == lead_key
        )
        if action is not None:
            statement = statement.where(Feedback.action == action)
        try:
            with self._sessions.begin() as session:
                removed = session.execute(statement).rowcount
                due = removed > 0 and _learned_from_own_outcomes(session, client_id)
        except SQLAlchemyError as error:
            log.exception("could not remove outcomes of client %s", client_id)
            raise Unavailable("Feedback cannot be removed right now") from error
        if due:
            self._tasks.enqueue("refit_client", client_id=client_id)
        return removed


def _learned_from_own_outcomes(session: Session, client_id: str) -> bool:
    """The weights served now were fitted on the client's outcomes, so removing some
    of them calls for a refit (which may also end the personalisation)."""
    latest = latest_version(session, client_id)
    return latest is not None and latest.personalised
