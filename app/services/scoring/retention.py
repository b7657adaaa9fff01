"""How long score history is kept (SCORE_HISTORY_DAYS); the current snapshot of
each lead stays, so an old lead's outcome still finds its last known values."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.models.base import utcnow
from app.services.scoring.history import prune_history


def prune_score_history(
    sessions: sessionmaker[Session], days: int, now: datetime | None = None
) -> int:
    """Delete history rows older than `days`; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    with sessions.begin() as session:
        return prune_history(session, cutoff)
