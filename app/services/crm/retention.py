"""How long applied CRM events stay in the inbox (CRM_EVENT_DAYS).

An event is kept after it is applied so a redelivery of it is recognised and
stored nothing (HubSpot retries a delivery for about a day); after that it is
only a record of who changed what, naming the contact, so it goes. Events still
waiting are never pruned: the inbox is the truth of work to do.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.models.base import utcnow
from app.models.sync import DONE, FAILED, CrmEvent


def prune_settled_events(
    sessions: sessionmaker[Session],
    days: int,
    now: datetime | None = None,
    batch: int = 10_000,
) -> int:
    """Delete applied and given-up events last handled over `days` ago, at most
    `batch` per statement; returns how many went."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    cutoff = (now or utcnow()) - timedelta(days=days)
    # Settling leaves next_attempt_at at the last attempt, and (status,
    # next_attempt_at) is indexed, so this never scans pending work.
    oldest = (
        select(CrmEvent.id)
        .where(CrmEvent.status.in_((DONE, FAILED)), CrmEvent.next_attempt_at < cutoff)
        .limit(batch)
    )
    total = 0
    while True:
        with sessions.begin() as session:
            deleted = session.execute(
                delete(CrmEvent).where(CrmEvent.id.in_(oldest.scalar_subquery())),
                execution_options={"synchronize_session": False},
            ).rowcount
        total += deleted
        if deleted < batch:
            return total
