"""The Uspacy app's event half end to end, over real HTTP: install → fields →
backfill scores existing leads and contacts → a new lead is scored from its
webhook → a deal won records `converted` for its contacts once, however often
the emulation delivers it."""

import requests

from app.container import services_of
from app.models import Client
from app.models.sync import CrmEvent
from app.scoring import FACTOR_KEYS
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    DEAL_LOST,
    DEAL_WON,
    LEAD_LOST,
    LEAD_WON,
    feedback,
    field_scores,
    installed,
    lead_key,
    people,
    recorded_outcomes,
    settled,
    stored_scores,
    unthrottled,
    writes,
)


def test_install_backfill_webhook_and_a_won_deal_end_to_end(served: ServedUspacy):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 6)
    pk = installed(served, DOMAIN)

    # The backfill scored every existing lead and contact, in the portal too.
    scores = field_scores(served, DOMAIN)
    assert len(scores) == 12 and all(isinstance(s, int) for s in scores.values())
    assert stored_scores(served, pk) == scores

    # A salesperson adds a lead: its webhook is stored, the drain scores it.
    lead = served.sandbox.act_create(
        DOMAIN, "leads", first_name="Taras", position="Founder", company_name="Beta"
    )
    settled(served, pk)
    assert isinstance(field_scores(served, DOMAIN)[("leads", str(lead["id"]))], int)

    # A deal with two of the contacts is won; the emulation delivers it twice.
    served.sandbox.delivery(DOMAIN, duplicate_rate=1.0)
    buyers = made["contacts"][:2]
    deal = served.sandbox.act_create(
        DOMAIN, "deals", title="Pilot", contacts=[{"id": c} for c in buyers]
    )
    served.sandbox.act_move(DOMAIN, "deals", deal["id"], DEAL_WON)
    settled(served, pk)
    served.sandbox.webhooks.repeat(next(iter(_webhooks(served))))  # and once more
    settled(served, pk)

    converted = [(lead_key(served, DOMAIN, "contacts", c), "converted") for c in buyers]
    assert feedback(served, pk) == sorted(converted)
    assert recorded_outcomes(served, pk) == {str(c): "converted" for c in buyers}


def test_leads_won_and_lost_in_their_funnel_and_a_lost_deal(served: ServedUspacy):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 3)
    pk = installed(served, DOMAIN)
    won, lost, _open = made["leads"]
    served.sandbox.act_move(DOMAIN, "leads", won, LEAD_WON)
    served.sandbox.act_move(DOMAIN, "leads", lost, LEAD_LOST)
    deal = served.sandbox.act_create(
        DOMAIN, "deals", contacts=[{"id": made["contacts"][0]}]
    )
    served.sandbox.act_move(DOMAIN, "deals", deal["id"], DEAL_LOST)
    settled(served, pk)

    assert recorded_outcomes(served, pk) == {
        f"leads:{won}": "converted",
        f"leads:{lost}": "ignored",
        str(made["contacts"][0]): "ignored",
    }
    assert feedback(served, pk) == sorted(
        [
            (lead_key(served, DOMAIN, "leads", won), "converted"),
            (lead_key(served, DOMAIN, "leads", lost), "ignored"),
            (lead_key(served, DOMAIN, "contacts", made["contacts"][0]), "ignored"),
        ]
    )


def test_a_stage_override_gives_a_lead_stage_another_meaning(served: ServedUspacy):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 1)
    pk = installed(served, DOMAIN)
    served.uspacy.set_stage_actions(DOMAIN, {str(LEAD_LOST): "none"})
    served.sandbox.act_move(DOMAIN, "leads", made["leads"][0], LEAD_LOST)
    settled(served, pk)

    assert recorded_outcomes(served, pk) == {}
    assert feedback(served, pk) == []


def test_our_own_writes_come_back_and_are_dropped_at_the_door(served: ServedUspacy):
    unthrottled(served, DOMAIN)
    people(served, DOMAIN, 2)
    pk = installed(served, DOMAIN)
    assert served.sandbox.webhooks.wait_idle(10)
    own = [
        d
        for d in served.sandbox.deliveries()
        if isinstance(d["body"].get("data"), dict)
        and d["body"]["data"].get("user_id") == 900
    ]
    assert own  # the backfill's writes fired update events…
    assert all(d["status"] == 200 for d in own)
    with served.uspacy._sessions() as session:  # …and none was stored
        assert session.query(CrmEvent).filter_by(account_pk=pk).count() == 0
    before = writes(served, DOMAIN)
    served.uspacy.settle(pk)
    assert writes(served, DOMAIN) == before


def test_unknown_keys_and_unreadable_bodies(served: ServedUspacy):
    unthrottled(served, DOMAIN)
    pk = installed(served, DOMAIN)
    url = next(iter(_webhooks(served)))["url"]
    event = {"data": {"action": "update", "entity": {"id": 5, "table_name": "leads"}}}

    unknown = requests.post(url + "x", json=event, timeout=5)
    assert unknown.status_code == 404
    garbled = requests.post(url, data=b"{not json", timeout=5)
    assert garbled.status_code == 400 and "not JSON" in garbled.json()["error"]
    huge = requests.post(url, data=b"[" + b"1," * 600_000 + b"1]", timeout=5)
    assert huge.status_code == 413
    odd = requests.post(url, json={"data": {"entity": "?"}, "id": []}, timeout=5)
    assert odd.status_code == 200 and odd.json()["stored"] == 0
    assert requests.post(url, json=[1, "x", None], timeout=5).status_code == 200
    with served.uspacy._sessions() as session:
        assert session.query(CrmEvent).filter_by(account_pk=pk).count() == 0

    stored = requests.post(url, json=event, timeout=5).json()
    again = requests.post(url, json=event, timeout=5).json()
    assert (stored["stored"], again["stored"], again["duplicates"]) == (1, 0, 1)


def _webhooks(served: ServedUspacy) -> list[dict]:
    return list(served.sandbox.store.portals[DOMAIN].webhooks.values())


def test_new_weights_rescore_leads_and_contacts_from_stored_inputs(
    served: ServedUspacy,
):
    unthrottled(served, DOMAIN)
    people(served, DOMAIN, 4)  # leads and contacts with the same ids
    pk = installed(served, DOMAIN)
    assert served.uspacy.weights_changed(pk) is False
    with services_of(served.app).sessions.begin() as session:
        client = session.get(Client, served.account().client_id)
        # Everything on the profile: most scores move.
        client.pinned_weights = {
            key: (1.0 if key == "profile_completeness" else 0.0) for key in FACTOR_KEYS
        }
    assert served.uspacy.weights_changed(pk) is True
    reads_before = _reads(served)

    written = served.uspacy.rescore(pk)

    assert written == 8 and _reads(served) == reads_before  # no record read
    assert served.uspacy.weights_changed(pk) is False
    assert served.uspacy.rescore(pk) == 0
    assert stored_scores(served, pk) == field_scores(served, DOMAIN)


def _reads(served: ServedUspacy) -> int:
    calls = served.sandbox.calls(DOMAIN)
    return sum(n for call, n in calls.items() if call.startswith("GET /crm"))
