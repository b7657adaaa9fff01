"""record_outcome as a CRM worker calls it: no API key, no HTTP request, a lead known
by its keyed CRM record id, and the factor values of the last score at or before the
outcome — not the values the outcome itself changed."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.container import services_of
from app.models import Feedback
from app.services.errors import InvalidInput, NoFactorValues, NotFound
from app.services.learning.clients import IssuedClient
from app.services.scoring.history import ScoredLead, record_scores

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BEFORE = (0.1,) * 10
AFTER = (0.9,) * 10  # what the lead looks like once the deal was won


@pytest.fixture
def lead_key(app, scoring_client: IssuedClient) -> str:
    """A CRM contact scored twice: at T0 and again a day later."""
    services = services_of(app)
    key = services.lead_keys.for_crm_record("hubspot", "48213377", "contact", "1")
    with services.sessions.begin() as session:
        for values, score, at in ((BEFORE, 10, T0), (AFTER, 90, T0 + timedelta(1))):
            record_scores(
                session,
                [ScoredLead(scoring_client.client_id, key, values, score, "x", 3, at)],
            )
    return key


def _stored(app) -> list[Feedback]:
    with services_of(app).sessions() as session:
        return list(session.scalars(select(Feedback)))


def test_an_outcome_uses_the_last_score_at_or_before_it(
    app, scoring_client: IssuedClient, lead_key: str
) -> None:
    recorder = services_of(app).feedback
    won_at = T0 + timedelta(hours=20)  # after the first score, before the second
    receipt = recorder.record_outcome(
        scoring_client.client_id, lead_key, "converted", at=won_at
    )
    assert receipt.status == "recorded" and receipt.reward == 1.0
    [row] = _stored(app)
    assert tuple(row.factor_values) == BEFORE
    assert row.lead_key == lead_key and row.client_id == scoring_client.client_id

    again = recorder.record_outcome(
        scoring_client.client_id, lead_key, "converted", at=won_at
    )
    assert again.status == "duplicate" and len(_stored(app)) == 1


def test_the_boundaries_of_at_or_before(
    app, scoring_client: IssuedClient, lead_key: str
) -> None:
    recorder = services_of(app).feedback
    cid = scoring_client.client_id
    recorder.record_outcome(cid, lead_key, "clicked", at=T0)
    recorder.record_outcome(cid, lead_key, "replied", at=T0 + timedelta(days=1))
    recorder.record_outcome(cid, lead_key, "ignored")  # now: the latest score
    by_action = {row.action: tuple(row.factor_values) for row in _stored(app)}
    assert by_action == {"clicked": BEFORE, "replied": AFTER, "ignored": AFTER}
    with pytest.raises(NoFactorValues):
        recorder.record_outcome(cid, lead_key, "bounced", at=T0 - timedelta(seconds=1))


def test_given_values_win_and_bad_input_is_refused(
    app, scoring_client: IssuedClient, lead_key: str
) -> None:
    recorder = services_of(app).feedback
    cid = scoring_client.client_id
    values = (0.5,) * 10
    recorder.record_outcome(cid, "lead-without-history", "converted", values)
    assert tuple(_stored(app)[0].factor_values) == values
    with pytest.raises(InvalidInput, match="valid actions"):
        recorder.record_outcome(cid, lead_key, "won")
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        recorder.record_outcome(cid, "other", "converted", (2.0,) * 10)
    with pytest.raises(NotFound):
        recorder.record_outcome("cl_nobody", lead_key, "converted", values)
    with pytest.raises(NoFactorValues):
        recorder.record_outcome(cid, "never-scored", "converted")


def test_crm_and_api_lead_keys_differ_per_account(app) -> None:
    keys = services_of(app).lead_keys
    one = keys.for_crm_record("hubspot", "48213377", "contact", "90210000001")
    assert one != keys.for_crm_record("hubspot", "48213378", "contact", "90210000001")
    assert one != keys.for_crm_record("uspacy", "48213377", "contact", "90210000001")
    assert len(one) == 64 and one != keys.for_lead_id("90210000001")
    assert keys.for_lead_id(" Lead@Example.com") == keys.for_lead_id("lead@example.com")
