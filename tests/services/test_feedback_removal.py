"""Taking outcomes back on the Config API's own database: a reopened deal retracts
exactly the one outcome it produced, a privacy deletion forgets every outcome of the
lead, and neither touches another client's rows for the same lead key."""

import pytest
from sqlalchemy import select

from app.container import services_of
from app.models import Feedback, WeightVersion
from app.services.errors import InvalidInput
from app.services.learning.clients import IssuedClient, create_client

VALUES = (0.5,) * 10
LEAD = "lead-key-shared-by-two-clients"
OTHER_LEAD = "another-lead-of-the-same-client"


@pytest.fixture
def two_clients(app, scoring_client: IssuedClient) -> tuple[str, str]:
    """Two clients that both know LEAD (converted and clicked) and one more lead."""
    other = create_client(services_of(app).sessions, "owner@other.io")
    record = services_of(app).feedback.record_outcome
    for client_id in (scoring_client.client_id, other.client_id):
        record(client_id, LEAD, "converted", VALUES)
        record(client_id, LEAD, "clicked", VALUES)
        record(client_id, OTHER_LEAD, "converted", VALUES)
    return scoring_client.client_id, other.client_id


def _rows(app) -> set[tuple[str, str, str]]:
    with services_of(app).sessions() as session:
        return {
            (row.client_id, row.lead_key, row.action)
            for row in session.scalars(select(Feedback))
        }


def test_a_retraction_removes_one_action_of_one_lead_of_one_client(
    app, two_clients: tuple[str, str]
) -> None:
    mine, theirs = two_clients
    before = _rows(app)
    recorder = services_of(app).feedback
    assert recorder.retract_outcome(mine, LEAD, "converted") is True
    assert before - _rows(app) == {(mine, LEAD, "converted")}
    # Again: nothing left to retract, and no other row goes instead.
    assert recorder.retract_outcome(mine, LEAD, "converted") is False
    assert recorder.retract_outcome(mine, LEAD, "bounced") is False
    assert before - _rows(app) == {(mine, LEAD, "converted")}
    assert (theirs, LEAD, "converted") in _rows(app)
    with pytest.raises(InvalidInput):
        recorder.retract_outcome(mine, LEAD, "won")


def test_forgetting_a_lead_removes_all_its_actions_for_that_client_only(
    app, two_clients: tuple[str, str]
) -> None:
    mine, theirs = two_clients
    recorder = services_of(app).feedback
    assert recorder.forget_lead(mine, LEAD) == 2
    assert not {row for row in _rows(app) if row[:2] == (mine, LEAD)}
    assert (mine, OTHER_LEAD, "converted") in _rows(app)
    assert {row for row in _rows(app) if row[0] == theirs} == {
        (theirs, LEAD, "converted"),
        (theirs, LEAD, "clicked"),
        (theirs, OTHER_LEAD, "converted"),
    }
    assert recorder.forget_lead(mine, LEAD) == 0
    assert recorder.forget_lead("cl_nobody", LEAD) == 0


def test_removing_outcomes_refits_weights_learned_from_them(
    app, two_clients: tuple[str, str]
) -> None:
    mine, theirs = two_clients
    services = services_of(app)
    refits: list[str] = []
    services.tasks.register("refit_client", lambda client_id: refits.append(client_id))
    with services.sessions.begin() as session:  # `mine` serves learned weights
        session.add(
            WeightVersion(
                client_id=mine,
                version=1,
                method="personalised",
                weights={},
                personalised=True,
                n_outcomes=30,
            )
        )
    services.feedback.retract_outcome(mine, LEAD, "converted")
    services.feedback.forget_lead(theirs, LEAD)  # a prior: nothing learned to undo
    services.feedback.retract_outcome(mine, LEAD, "converted")  # nothing removed
    assert refits == [mine]
    services.feedback.forget_lead(mine, OTHER_LEAD)
    assert refits == [mine, mine]
