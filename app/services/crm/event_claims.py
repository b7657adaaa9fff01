"""Claiming inbox events for a drain, and backing them off when a drain fails.

Every drain of an account (contact removals, contact rescoring, deal outcomes)
takes its own event types the same way: it claims the due rows with one
UPDATE … RETURNING that re-checks they are still due, so two drains running at
once split the work instead of doing it twice, and a claim lasts `hold`: a
drain that dies leaves its events to be claimed again after that.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.sync import FAILED, PENDING, CrmEvent

CLAIM = timedelta(minutes=2)  # how long a drain owns the events it claimed
MAX_ATTEMPTS = 12


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """What a drain needs of an event it claimed."""

    id: int
    kind: str
    object_id: str | None
    payload: dict[str, Any]
    occurred_at: datetime


def claim_due(
    session: Session,
    account_pk: int,
    kinds: Sequence[str],
    limit: int,
    now: datetime,
    hold: timedelta = CLAIM,
) -> list[ClaimedEvent]:
    """Claim up to `limit` due events of these types, oldest first."""
    due_now = (
        CrmEvent.account_pk == account_pk,
        CrmEvent.status == PENDING,
        CrmEvent.kind.in_(kinds),
        CrmEvent.next_attempt_at <= now,
    )
    due = session.scalars(
        select(CrmEvent.id).where(*due_now).order_by(CrmEvent.id).limit(limit)
    ).all()
    if not due:
        return []
    # Only rows still due are taken: a concurrent drain gets the others.
    rows = session.execute(
        update(CrmEvent)
        .where(CrmEvent.id.in_(due), *due_now)
        .values(next_attempt_at=now + hold, attempts=CrmEvent.attempts + 1)
        .returning(
            CrmEvent.id,
            CrmEvent.kind,
            CrmEvent.object_id,
            CrmEvent.payload,
            CrmEvent.occurred_at,
        )
    ).all()
    return sorted((ClaimedEvent(*row) for row in rows), key=lambda e: e.id)


def retry_events(
    session: Session,
    event_ids: Sequence[int],
    reason: str,
    retryable: bool,
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Back off exponentially (5 s doubling, at most an hour), or fail the
    events for good when retrying cannot help or they were tried enough."""
    for event in session.scalars(select(CrmEvent).where(CrmEvent.id.in_(event_ids))):
        event.last_error = reason[:2000]
        if not retryable or event.attempts >= max_attempts:
            event.status = FAILED
        else:
            delay = min(3600, 5 * 2 ** min(event.attempts, 10))
            event.next_attempt_at = now + timedelta(seconds=delay)
