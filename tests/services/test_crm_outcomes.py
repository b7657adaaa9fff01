"""DealOutcomes against a CRM that answers what the test says: the latest closed
deal of a contact decides across deals, record ids keep all 64 bits, a contact
never scored is noted and settled, CRM failures back off or fail as the contact
drain does, each drain is bounded, and the ledger follows contact deletion and
merge."""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.container import services_of
from app.crm.base import AccessRevoked, CrmError, CrmUnavailable, Deal
from app.crm.hubspot.deals import StageBooks
from app.models import (
    CrmAccount,
    CrmContactOutcome,
    CrmDealContact,
    CrmEvent,
    Feedback,
)
from app.services.crm.outcome_rules import deal_ids_of
from app.services.crm.outcomes import DealOutcomes, forget_contact, move_contact
from app.services.errors import InvalidInput
from app.services.scoring.history import ScoredLead, record_scores

NOW = datetime.now(UTC)
T0 = NOW - timedelta(days=10)
BEFORE = (0.1,) * 10
AFTER = (0.9,) * 10
# 64-bit ids: well above 2^31, up to the largest HubSpot can issue.
CONTACT = "541935488730"
OTHER = "9223372036854775807"
THIRD = "541935488777"
_keys = itertools.count()


@dataclass
class FakeCrm:
    """Answers read_deal from `deals`; raises `failure` when set."""

    deals: dict[str, Deal] = field(default_factory=dict)
    failure: CrmError | None = None
    reads: list[str] = field(default_factory=list)

    def read_deal(self, deal_id: str) -> Deal | None:
        self.reads.append(deal_id)
        if self.failure is not None:
            raise self.failure
        return self.deals.get(deal_id)


def _deal(deal_id: str, outcome: str, days: float, *contacts: str) -> Deal:
    stage = {"won": "closedwon", "lost": "closedlost"}.get(outcome, "qualifiedtobuy")
    closed = T0 + timedelta(days=days) if outcome != "open" else None
    return Deal(deal_id, stage, "default", outcome, list(contacts), closed)


@pytest.fixture
def world(app, scoring_client):
    """An installed account whose contacts were scored at T0 and again at T0+5d."""
    services = services_of(app)
    with services.sessions.begin() as session:
        account = CrmAccount(
            crm="hubspot",
            account_id="48213377",
            client_id=scoring_client.client_id,
            installed_at=T0 - timedelta(days=5),
        )
        session.add(account)
        session.flush()
        pk = account.id
        for contact in (CONTACT, OTHER, THIRD):
            key = _key(app, contact)
            for values, at in ((BEFORE, T0), (AFTER, T0 + timedelta(days=5))):
                record_scores(
                    session,
                    [ScoredLead(scoring_client.client_id, key, values, 1, "x", 1, at)],
                )
    outcomes = DealOutcomes(services.sessions, services.lead_keys, services.feedback)
    return app, pk, outcomes


def _key(app, contact_id: str) -> str:
    return services_of(app).lead_keys.for_crm_record(
        "hubspot", "48213377", "contacts", contact_id
    )


def _event(app, pk: int, kind: str, object_id: str | None, **payload) -> int:
    with services_of(app).sessions.begin() as session:
        event = CrmEvent(
            account_pk=pk,
            dedupe_key=f"{next(_keys):064d}",
            kind=kind,
            object_type="deals",
            object_id=object_id,
            payload=payload,
            occurred_at=NOW - timedelta(hours=1),
        )
        session.add(event)
        session.flush()
        return event.id


def _stage(app, pk: int, deal_id: str) -> int:
    return _event(app, pk, "deal.propertyChange", deal_id, propertyName="dealstage")


def _feedback(app, contact_id: str) -> dict[str, tuple]:
    with services_of(app).sessions() as session:
        rows = session.scalars(
            select(Feedback).where(Feedback.lead_key == _key(app, contact_id))
        )
        return {row.action: tuple(row.factor_values) for row in rows}


def _events(app) -> dict[int, CrmEvent]:
    with services_of(app).sessions() as session:
        return {e.id: e for e in session.scalars(select(CrmEvent))}


def test_the_latest_closed_deal_decides_across_deals(world):
    app, pk, outcomes = world
    crm = FakeCrm()
    crm.deals["541935488001"] = _deal("541935488001", "lost", 1, CONTACT)
    crm.deals["541935488002"] = _deal("541935488002", "won", 2, CONTACT, OTHER)
    _stage(app, pk, "541935488001")
    _stage(app, pk, "541935488002")
    assert outcomes.drain(pk, crm) == 2
    assert _feedback(app, CONTACT) == {"converted": BEFORE}  # values of T0+2d
    assert _feedback(app, OTHER) == {"converted": BEFORE}

    # A later deal lost replaces it; closed after the rescore: its values.
    crm.deals["541935488003"] = _deal("541935488003", "lost", 6, CONTACT)
    _stage(app, pk, "541935488003")
    outcomes.drain(pk, crm)
    assert _feedback(app, CONTACT) == {"ignored": AFTER}

    # That deal deleted (it reads as gone): the won one decides again, with the
    # values of when it closed.
    del crm.deals["541935488003"]
    _event(app, pk, "deal.deletion", "541935488003")
    outcomes.drain(pk, crm)
    assert _feedback(app, CONTACT) == {"converted": BEFORE}

    # Won and lost at the same moment: won.
    crm.deals["541935488004"] = _deal("541935488004", "won", 7, THIRD)
    crm.deals["541935488005"] = _deal("541935488005", "lost", 7, THIRD)
    _stage(app, pk, "541935488005")
    _stage(app, pk, "541935488004")
    outcomes.drain(pk, crm)
    assert _feedback(app, THIRD) == {"converted": AFTER}
    with services_of(app).sessions() as session:
        recorded = {
            (r.contact_id, r.action, r.deal_id)
            for r in session.scalars(select(CrmContactOutcome))
        }
    assert recorded == {
        (CONTACT, "converted", "541935488002"),
        (OTHER, "converted", "541935488002"),
        (THIRD, "converted", "541935488004"),
    }
    assert all(e.status == "done" for e in _events(app).values())


def test_association_events_name_the_deal_on_either_side(world):
    app, pk, outcomes = world
    crm = FakeCrm({"541935488010": _deal("541935488010", "won", 1, CONTACT)})
    _event(
        app,
        pk,
        "deal.associationChange",
        None,
        associationType="CONTACT_TO_DEAL",
        fromObjectId=int(CONTACT),
        toObjectId=541935488010,
    )
    ignored = _event(
        app,
        pk,
        "deal.associationChange",
        None,
        associationType="DEAL_TO_COMPANY",
        fromObjectId=541935488010,
        toObjectId=77,
    )
    amount = _event(
        app, pk, "deal.propertyChange", "541935488010", propertyName="amount"
    )
    assert outcomes.drain(pk, crm) == 3
    assert crm.reads == ["541935488010"]
    assert _feedback(app, CONTACT) == {"converted": BEFORE}
    assert {_events(app)[i].status for i in (ignored, amount)} == {"done"}
    assert deal_ids_of(
        "deal.associationChange",
        None,
        {"associationType": "DEAL_TO_CONTACT", "fromObjectId": 12, "toObjectId": 34},
    ) == ["12"]
    assert deal_ids_of("deal.merge", "5", {"mergedObjectIds": [6, "x", 0]}) == [
        "5",
        "6",
    ]


def test_a_contact_never_scored_before_the_outcome_is_noted_not_retried(world):
    app, pk, outcomes = world
    # Closed after the install (T0-5d) but before the first score (T0).
    crm = FakeCrm({"541935488020": _deal("541935488020", "won", -3, CONTACT, "77")})
    event = _stage(app, pk, "541935488020")
    outcomes.drain(pk, crm)
    stored = _events(app)[event]
    assert stored.status == "done"
    assert "contact 77: not scored before the outcome" in stored.last_error
    assert f"contact {CONTACT}:" in stored.last_error
    assert _feedback(app, "77") == {} and _feedback(app, CONTACT) == {}
    assert outcomes.drain(pk, crm) == 0


def test_crm_failures_back_off_or_fail_like_the_contact_drain(world):
    app, pk, outcomes = world
    later = _stage(app, pk, "541935488030")
    assert outcomes.drain(pk, FakeCrm(failure=CrmUnavailable("502"))) == 1
    stored = _events(app)[later]
    assert (stored.status, stored.last_error) == ("pending", "502")
    assert stored.next_attempt_at > datetime.now(UTC)
    assert outcomes.drain(pk, FakeCrm()) == 0  # not due yet

    gone = _stage(app, pk, "541935488031")
    outcomes.drain(pk, FakeCrm(failure=AccessRevoked("refresh refused")))
    assert _events(app)[gone].status == "failed"


def test_a_drain_is_bounded(world):
    app, pk, outcomes = world
    for n in range(150):
        _stage(app, pk, str(541935489000 + n))
    crm = FakeCrm()
    assert outcomes.drain(pk, crm) == 100
    assert len(crm.reads) == 100
    waiting = [e for e in _events(app).values() if e.status == "pending"]
    # Handed back at once, the attempt not counted.
    assert len(waiting) == 50 and {e.attempts for e in waiting} == {0}
    assert outcomes.drain(pk, crm) == 50

    for _ in range(250):
        _event(app, pk, "deal.propertyChange", "5", propertyName="amount")
    assert outcomes.drain(pk, crm) == 200
    assert outcomes.drain(pk, crm) == 50


def test_contact_deletion_and_merge_update_the_ledger(world):
    app, pk, outcomes = world
    crm = FakeCrm(
        {
            "541935488040": _deal("541935488040", "won", 1, CONTACT, OTHER),
            "541935488041": _deal("541935488041", "lost", 2, CONTACT),
        }
    )
    _stage(app, pk, "541935488040")
    _stage(app, pk, "541935488041")
    outcomes.drain(pk, crm)
    sessions = services_of(app).sessions
    with sessions.begin() as session:
        move_contact(session, pk, CONTACT, OTHER)
    with sessions() as session:
        rows = {
            (r.deal_id, r.contact_id) for r in session.scalars(select(CrmDealContact))
        }
        recorded = {r.contact_id for r in session.scalars(select(CrmContactOutcome))}
    assert rows == {("541935488040", OTHER), ("541935488041", OTHER)}
    assert recorded == {OTHER}
    with sessions.begin() as session:
        forget_contact(session, pk, OTHER)
    with sessions() as session:
        assert session.scalars(select(CrmDealContact)).all() == []
        assert session.scalars(select(CrmContactOutcome)).all() == []


def test_stage_overrides_are_checked(world):
    app, pk, outcomes = world
    assert outcomes.set_stage_actions(pk, {"closedwon": "none", "42": "converted"}) == {
        "closedwon": "none",
        "42": "converted",
    }
    assert outcomes.set_stage_actions(pk, {"closedwon": None}) == {"42": "converted"}
    for bad in ({"closedwon": "won"}, {"bad stage": "ignored"}, {"x" * 65: "none"}):
        with pytest.raises(InvalidInput):
            outcomes.set_stage_actions(pk, bad)
    with pytest.raises(InvalidInput):
        outcomes.set_stage_actions(pk, {f"s{n}": "none" for n in range(1000)})
    # A deal in an overridden stage: an open stage counts as converted.
    crm = FakeCrm(
        {"541935488050": Deal("541935488050", "42", "p", "open", [CONTACT], None)}
    )
    _stage(app, pk, "541935488050")
    outcomes.drain(pk, crm)
    assert list(_feedback(app, CONTACT)) == ["converted"]


def test_stage_books_are_kept_per_account_and_bounded():
    books = StageBooks(size=2)
    first = books.of(1)
    assert books.of(1) is first and books.of(2) is not first
    books.of(3)  # the least recently used (1) goes
    assert books.of(1) is not first
