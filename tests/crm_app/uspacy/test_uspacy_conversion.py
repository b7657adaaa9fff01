"""A lead converted into a contact carries its score history with it: the new
contact's history starts with what was known of the person as a lead, copied
once however often the converted lead is read again."""

from sqlalchemy import func, select

from app.container import services_of
from app.models import CrmAccount, ScoreHistory
from app.services.scoring.history import values_at
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    installed,
    lead_key,
    people,
    settled,
    unthrottled,
)


def _history(served: ServedUspacy, pk: int, key: str) -> list[tuple]:
    with services_of(served.app).sessions() as session:
        client_id = session.get(CrmAccount, pk).client_id
        return list(
            session.execute(
                select(
                    ScoreHistory.scored_at,
                    ScoreHistory.factor_values,
                    ScoreHistory.score,
                )
                .where(
                    ScoreHistory.client_id == client_id, ScoreHistory.lead_key == key
                )
                .order_by(ScoreHistory.scored_at, ScoreHistory.id)
            ).tuples()
        )


def test_a_converted_lead_hands_its_history_to_its_contact_once(
    served: ServedUspacy,
) -> None:
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 2)
    pk = installed(served, DOMAIN)
    lead_id = made["leads"][1]
    # The salesperson qualifies the lead: a second state in its history.
    served.sandbox.act_update(DOMAIN, "leads", lead_id, position="Head of Sales")
    settled(served, pk)
    lead_history = _history(served, pk, lead_key(served, DOMAIN, "leads", lead_id))
    assert len(lead_history) == 2

    contact = served.sandbox.act_convert(DOMAIN, lead_id)
    assert contact is not None
    settled(served, pk)
    contact_key = lead_key(served, DOMAIN, "contacts", contact["id"])
    carried = _history(served, pk, contact_key)
    # The lead's states, then the contact's own first score.
    assert carried[: len(lead_history)] == lead_history
    assert len(carried) == len(lead_history) + 1
    with services_of(served.app).sessions() as session:
        client_id = session.get(CrmAccount, pk).client_id
        first_state = values_at(session, client_id, contact_key, lead_history[0][0])
    assert first_state == tuple(lead_history[0][1])

    # The converted lead read again (edited, its event repeated): no new copies.
    served.sandbox.act_update(DOMAIN, "leads", lead_id, comments="called back")
    settled(served, pk)
    served.sandbox.act_update(DOMAIN, "contacts", made["contacts"][0], position="CTO")
    settled(served, pk)
    assert _history(served, pk, contact_key) == carried
    with services_of(served.app).sessions() as session:
        assert session.scalar(
            select(func.count()).where(ScoreHistory.lead_key == contact_key)
        ) == len(carried)
