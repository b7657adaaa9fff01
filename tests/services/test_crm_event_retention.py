"""Applied CRM events leave the inbox after CRM_EVENT_DAYS; waiting ones never do,
and the daily job prunes with the configured number of days."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.container import services_of
from app.models import CrmAccount, CrmEvent
from app.models.sync import DONE, FAILED, PENDING
from app.services.crm.retention import prune_settled_events

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _event(pk: int, number: int, status: str, days_ago: float) -> CrmEvent:
    at = NOW - timedelta(days=days_ago)
    return CrmEvent(
        account_pk=pk,
        dedupe_key=f"{number:064d}",
        kind="contact.propertyChange",
        object_type="contacts",
        object_id=str(4_294_967_296 + number),
        payload={"propertyName": "jobtitle"},
        occurred_at=at,
        received_at=at,
        status=status,
        next_attempt_at=at,
    )


def test_settled_events_older_than_the_window_go_and_pending_ones_stay(
    app, scoring_client
):
    sessions = services_of(app).sessions
    with sessions.begin() as session:
        account = CrmAccount(
            crm="hubspot", account_id="48213377", client_id=scoring_client.client_id
        )
        session.add(account)
        session.flush()
        session.add_all(
            [
                _event(account.id, 1, DONE, 8),
                _event(account.id, 2, FAILED, 30),
                _event(account.id, 3, DONE, 6),
                _event(account.id, 4, PENDING, 40),  # still work to do
                *(_event(account.id, 10 + n, DONE, 9) for n in range(5)),
            ]
        )

    assert prune_settled_events(sessions, 7, now=NOW, batch=2) == 7

    with sessions() as session:
        left = session.execute(
            select(CrmEvent.object_id, CrmEvent.status).order_by(CrmEvent.id)
        ).all()
    assert left == [(str(4_294_967_299), DONE), (str(4_294_967_300), PENDING)]
    assert prune_settled_events(sessions, 7, now=NOW) == 0


def test_the_setting_reaches_the_services(app):
    assert services_of(app).crm_event_days == 7
