"""With a fifth of the emulation's calls failing, the drain is run until it
settles: every lead and contact ends with the score a clean read gives, and the
won deal's contacts get `converted` once."""

from datetime import timedelta

from sqlalchemy import func, select, update

from app.container import services_of
from app.models.base import utcnow
from app.models.sync import PENDING, CrmEvent
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    DEAL_WON,
    feedback,
    field_scores,
    installed,
    lead_key,
    people,
    recorded_outcomes,
    stored_scores,
    unthrottled,
    writes,
)


def _until_settled(served: ServedUspacy, pk: int) -> None:
    """Drain; events backing off after a failure are made due again (the time
    a worker would wait), until none is pending."""
    assert served.sandbox.webhooks.wait_idle(10)
    sessions = services_of(served.app).sessions
    for _ in range(30):
        served.uspacy.settle(pk)
        with sessions.begin() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(CrmEvent)
                .where(CrmEvent.account_pk == pk, CrmEvent.status == PENDING)
            )
            session.execute(
                update(CrmEvent)
                .where(CrmEvent.account_pk == pk, CrmEvent.status == PENDING)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
        if not waiting:
            return
    raise AssertionError("the inbox did not settle")


def test_a_fifth_of_calls_failing_still_ends_with_right_scores_once(
    served: ServedUspacy,
):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 6)
    served.sandbox.faults(DOMAIN, error_rate=0.2, seed=11)
    pk = installed(served, DOMAIN)

    for index, kind in enumerate(("leads", "contacts") * 3):
        record_id = made[kind][index // 2]
        served.sandbox.act_update(DOMAIN, kind, record_id, position="Founder")
    buyers = made["contacts"][:3]
    deal = served.sandbox.act_create(
        DOMAIN, "deals", contacts=[{"id": c} for c in buyers]
    )
    served.sandbox.act_move(DOMAIN, "deals", deal["id"], DEAL_WON)
    served.sandbox.delivery(DOMAIN, duplicate_rate=0.5, seed=2)
    served.sandbox.act_move(DOMAIN, "deals", deal["id"], DEAL_WON)  # again
    _until_settled(served, pk)

    # Every failure the emulation answered is in the portal's call counts,
    # the install's calls included.
    not_ok = served.uspacy.describe(DOMAIN)["api_calls"]["not_ok"]
    assert not_ok == served.sandbox.failed(DOMAIN) > 0
    expected = [(lead_key(served, DOMAIN, "contacts", c), "converted") for c in buyers]
    assert feedback(served, pk) == sorted(expected)
    assert recorded_outcomes(served, pk) == {str(c): "converted" for c in buyers}
    scores = field_scores(served, DOMAIN)
    assert all(isinstance(score, int) for score in scores.values())
    assert stored_scores(served, pk) == scores

    # Right, not merely stored: a clean walk over every record writes nothing.
    served.sandbox.faults(DOMAIN, error_rate=0.0)
    before = writes(served, DOMAIN)
    assert served.uspacy.reconcile_all() == [pk]
    assert served.uspacy.backfill(pk, pages=10) is True
    assert writes(served, DOMAIN) == before
    assert feedback(served, pk) == sorted(expected)
