"""Score history is kept SCORE_HISTORY_DAYS, pruned by a daily job; the current
snapshot of each lead stays, so its last known values survive."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.container import services_of
from app.models import ScoreHistory
from app.services.scoring.history import ScoredLead, record_scores, values_at
from app.services.scoring.retention import prune_score_history

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def test_history_older_than_the_setting_is_pruned(app, scoring_client) -> None:
    services = services_of(app)
    assert services.score_history_days == 400
    cid = scoring_client.client_id
    with services.sessions.begin() as session:
        for day, value in ((500, 0.1), (401, 0.2), (10, 0.3)):
            lead = ScoredLead(
                cid, "k1", (value,) * 10, day, "x", 1, NOW - timedelta(day)
            )
            record_scores(session, [lead])
    deleted = prune_score_history(services.sessions, 400, now=NOW)
    assert deleted == 2
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScoreHistory)) == 1
        assert values_at(session, cid, "k1", NOW) == (0.3,) * 10


def test_the_worker_prunes_daily(app) -> None:
    huey = services_of(app).tasks.huey
    due = {task.name for task in huey.read_periodic(datetime(2026, 1, 1, 3, 41))}
    assert "prune_score_history" in due
