"""Contacts that leave a HubSpot portal, over real HTTP: a privacy deletion
leaves no trace of the contact in any table, in either order with the deletion
HubSpot sends beside it; a deletion drops the contact's scores but keeps its
feedback; a merge hands the merged contact's history to the survivor and
rescores the survivor. The sandbox delivers with duplicates and shuffled order."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import MetaData, Table, func, inspect, select

from app.crm.hubspot.subscriptions import SUBSCRIPTIONS
from app.models import CrmAccount, CrmEvent, CrmRecord, Feedback, ScoreHistory
from app.sandbox.hubspot import signing
from app.services.crm.privacy import ContactRemovals
from app.services.scoring.history import values_at
from tests.crm_app.conftest import SERVED_APP_ID, SERVED_CLIENT_SECRET, ServedApp

HUB = 48213511
PATH = "/hubspot/webhooks"
PRIVACY, DELETION = "contact.privacyDeletion", "contact.deletion"
# Where a scored contact with a won deal is recorded.
TRACED = {
    "crm_records",
    "crm_events",
    "score_history",
    "lead_snapshots",
    "feedback",
    "crm_deal_contacts",
    "crm_contact_outcomes",
}


def _listen(served: ServedApp, *, property_changes: bool = True) -> None:
    """Subscribe the app as its project declares, with duplicated, shuffled
    deliveries."""
    subscriptions = [
        {"subscriptionType": s.subscription_type, "propertyName": s.property_name}
        for s in SUBSCRIPTIONS
        if property_changes or s.action != "propertyChange"
    ]
    served.hubspot.configure_webhooks(
        f"{served.base_url}{PATH}", subscriptions, duplicates=0.5, out_of_order=True
    )


def _apply(served: ServedApp, account_pk: int) -> None:
    """Wait for every delivery, then let the worker apply the inbox."""
    assert served.hubspot.webhooks.wait_idle(timeout=30)
    for _ in range(10):
        if served.services.hubspot.sync(account_pk).events == 0:
            return
    raise AssertionError("the inbox never emptied")


def _key(served: ServedApp, contact_id: str) -> str:
    return served.services.lead_keys.for_crm_record(
        "hubspot", str(HUB), "contacts", contact_id
    )


def _client_id(served: ServedApp, account_pk: int) -> str:
    with served.services.sessions() as session:
        return session.get(CrmAccount, account_pk).client_id


def _dump(served: ServedApp) -> list[str]:
    """Every row of every table of the live schema, all columns, as text."""
    engine = served.services.engine
    rows = []
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            table = Table(name, MetaData(), autoload_with=connection)
            for row in connection.execute(select(table)):
                rows.append(f"{name}: " + " | ".join(map(str, row)))
    return rows


def _traces(rows: list[str], contact_id: str, lead_key: str) -> list[str]:
    """Rows holding the contact's id (as a whole number) or its lead key."""
    exact_id = re.compile(rf"(?<!\d){contact_id}(?!\d)")
    return [row for row in rows if exact_id.search(row) or lead_key in row]


def _history(served: ServedApp, account_pk: int, contact_id: str) -> int:
    with served.services.sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(ScoreHistory)
            .where(ScoreHistory.lead_key == _key(served, contact_id))
        )


def _feedback(served: ServedApp, contact_id: str) -> list[str]:
    with served.services.sessions() as session:
        return list(
            session.scalars(
                select(Feedback.action).where(
                    Feedback.lead_key == _key(served, contact_id)
                )
            )
        )


def _record(served: ServedApp, account_pk: int, contact_id: str) -> CrmRecord | None:
    with served.services.sessions() as session:
        return session.get(CrmRecord, (account_pk, "contacts", contact_id))


def _unsettled(served: ServedApp, account_pk: int) -> list[str]:
    """Contact events still pending or failed (deal events are another story)."""
    with served.services.sessions() as session:
        return list(
            session.scalars(
                select(CrmEvent.kind).where(
                    CrmEvent.account_pk == account_pk,
                    CrmEvent.status != "done",
                    CrmEvent.kind.startswith("contact."),
                )
            )
        )


def _scored_contacts(served: ServedApp, account_pk: int, *people: str) -> list[str]:
    """Contacts created in HubSpot, each with score history and an outcome."""
    act = served.hubspot.act
    ids = [
        act.create_contact(HUB, email=f"{name}@acme.example", firstname=name.title())
        for name in people
    ]
    _apply(served, account_pk)
    for contact_id in ids:  # a second score, so each has a history to forget
        act.update_contact(HUB, contact_id, jobtitle="CEO", hs_lead_status="OPEN_DEAL")
    _apply(served, account_pk)
    client_id = _client_id(served, account_pk)
    for contact_id in ids:
        served.services.feedback.record_outcome(
            client_id, _key(served, contact_id), "replied"
        )
        assert _history(served, account_pk, contact_id) >= 1
    return ids


def test_a_privacy_deletion_leaves_no_trace_of_the_contact(served: ServedApp):
    pk = served.install(HUB)
    _listen(served)
    gone, kept = _scored_contacts(served, pk, "olena", "taras")
    act = served.hubspot.act
    # A won deal of both contacts: an outcome (where outcomes are recorded) and
    # association events naming them.
    deal = act.create_deal(HUB, [gone, kept], dealname="Pilot")
    act.move_deal(HUB, deal, "closedwon")
    _apply(served, pk)
    before = _dump(served)
    # The check sees the contact wherever it was recorded.
    assert _tables(_traces(before, gone, _key(served, gone))) >= TRACED
    assert set(_feedback(served, gone)) == {"converted", "replied"}
    kept_tables = _tables(_traces(before, kept, _key(served, kept)))
    kept_history, kept_feedback = _history(served, pk, kept), _feedback(served, kept)

    act.privacy_delete_contact(HUB, gone)
    _apply(served, pk)

    after = _dump(served)
    assert _traces(after, gone, _key(served, gone)) == []
    # The other contact keeps what it had.
    assert _tables(_traces(after, kept, _key(served, kept))) == kept_tables
    assert _history(served, pk, kept) == kept_history
    assert _feedback(served, kept) == kept_feedback
    assert _unsettled(served, pk) == []


def _tables(rows: list[str]) -> set[str]:
    return {row.partition(":")[0] for row in rows}


def _deliver(
    served: ServedApp, kind: str, contact_id: str, occurred_ms: int, **extra: str
) -> None:
    """Deliver one event the way HubSpot signs and sends it."""
    event = {
        "eventId": 1,
        "subscriptionId": 1100 + len(kind),
        "portalId": HUB,
        "appId": SERVED_APP_ID,
        "occurredAt": occurred_ms,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "changeSource": "CRM_UI",
        "sourceId": "userId:9",
        **extra,
    }
    body = json.dumps([event])
    url = f"{served.base_url}{PATH}"
    stamp = int(time.time() * 1000)
    answer = requests.post(
        url,
        data=body,
        headers=signing.headers(SERVED_CLIENT_SECRET, url, body, stamp),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored"] == 1


@pytest.mark.parametrize("first", [PRIVACY, DELETION])
def test_privacy_deletion_and_deletion_in_either_order(served: ServedApp, first):
    pk = served.install(HUB)
    _listen(served)
    (contact,) = _scored_contacts(served, pk, "olena")
    served.hubspot.configure_webhooks(None, [])  # the two events come by hand
    served.hubspot.act.privacy_delete_contact(HUB, contact)
    at_ms = int(time.time() * 1000)
    second = {PRIVACY: DELETION, DELETION: PRIVACY}[first]
    occurred = {first: at_ms, second: at_ms + 5}

    hubspot_app = served.services.hubspot
    _deliver(served, first, contact, occurred[first])
    assert hubspot_app.sync(pk).events == 1
    assert _record(served, pk, contact) is None
    assert _history(served, pk, contact) == 0
    # A deletion alone keeps the outcome; the privacy deletion takes it.
    assert _feedback(served, contact) == (["replied"] if first == DELETION else [])
    _deliver(served, second, contact, occurred[second])
    assert hubspot_app.sync(pk).events == 1
    # A late redelivery of the deletion, stored anew, and a change from before
    # the deletion delivered late: they leave nothing behind either.
    _deliver(served, DELETION, contact, occurred[DELETION])
    _deliver(
        served,
        "contact.propertyChange",
        contact,
        at_ms - 1000,
        propertyName="phone",
        propertyValue="+380441234567",
    )
    assert hubspot_app.sync(pk).events == 2

    assert _traces(_dump(served), contact, _key(served, contact)) == []
    assert _unsettled(served, pk) == []


def test_a_deletion_drops_the_scores_and_keeps_the_feedback(served: ServedApp):
    pk = served.install(HUB)
    _listen(served)
    gone, kept = _scored_contacts(served, pk, "olena", "taras")
    hubspot_app = served.services.hubspot
    assert hubspot_app.describe(str(HUB))["contacts_scored"] == 2
    act = served.hubspot.act
    # A change still waiting when the contact goes: it settles, it does not fail.
    act.update_contact(HUB, gone, phone="+380441234567")
    act.delete(HUB, "contacts", gone)
    _apply(served, pk)

    assert hubspot_app.describe(str(HUB))["contacts_scored"] == 1
    assert _record(served, pk, gone) is None
    assert _history(served, pk, gone) == 0
    assert _feedback(served, gone) == ["replied"]  # anonymous, still teaching
    assert _record(served, pk, kept) is not None and _history(served, pk, kept)
    assert _unsettled(served, pk) == []


def test_a_merge_hands_history_to_the_survivor_and_rescores_it(served: ServedApp):
    pk = served.install(HUB)
    # No property changes: only the merge itself can make the survivor rescored.
    _listen(served, property_changes=False)
    act = served.hubspot.act
    merged = act.create_contact(
        HUB,
        email="olena@acme.example",
        jobtitle="Chief Executive Officer",
        phone="+380441234567",
        hs_lead_status="OPEN_DEAL",
    )
    _apply(served, pk)
    survivor = act.create_contact(HUB, email="o.kovalenko@acme.example")
    _apply(served, pk)
    client_id = _client_id(served, pk)
    with served.services.sessions() as session:
        merged_at = session.scalar(
            select(ScoreHistory.scored_at).where(
                ScoreHistory.lead_key == _key(served, merged)
            )
        )
        merged_values = values_at(session, client_id, _key(served, merged), merged_at)
        assert values_at(session, client_id, _key(served, survivor), merged_at) is None
    score_before = _record(served, pk, survivor).score

    act.merge_contacts(HUB, survivor, merged)
    _apply(served, pk)

    with served.services.sessions() as session:
        key = _key(served, survivor)
        assert values_at(session, client_id, key, merged_at) == merged_values
        assert values_at(session, client_id, _key(served, merged), merged_at) is None
    assert _record(served, pk, merged) is None
    rescored = _record(served, pk, survivor)
    assert rescored.lead["job_title"] == "Chief Executive Officer"
    assert rescored.score > score_before
    assert served.services.hubspot.describe(str(HUB))["contacts_scored"] == 1
    assert _unsettled(served, pk) == []


def test_a_contact_being_rescored_is_purged_after_that_write(served: ServedApp):
    pk = served.install(HUB)
    _listen(served)
    (contact,) = _scored_contacts(served, pk, "olena")
    served.hubspot.configure_webhooks(None, [])
    now = datetime.now(UTC)
    with served.services.sessions.begin() as session:
        # A contact drain holds a change of this contact (claimed, not done).
        session.add(
            CrmEvent(
                account_pk=pk,
                dedupe_key="e" * 64,
                kind="contact.propertyChange",
                object_type="contacts",
                object_id=contact,
                payload={"propertyName": "phone"},
                occurred_at=now,
                attempts=1,
                next_attempt_at=now + timedelta(minutes=2),
            )
        )
    served.hubspot.act.privacy_delete_contact(HUB, contact)
    services = served.services
    removals = ContactRemovals(services.sessions, services.lead_keys, services.feedback)
    _deliver(served, "contact.privacyDeletion", contact, int(time.time() * 1000))
    assert removals.drain(pk) == 1
    assert _record(served, pk, contact) is not None  # waits for that write
    with served.services.sessions.begin() as session:
        session.execute(
            CrmEvent.__table__.update()
            .where(CrmEvent.object_id == contact)
            .values(next_attempt_at=now - timedelta(seconds=1))
        )
    assert removals.drain(pk) == 1
    assert _traces(_dump(served), contact, _key(served, contact)) == []
