"""Every webhook subscription of the developer project has a handler, and every
handler a subscription: the event types the worker's drains claim are exactly the
subscribed ones, and an event of each subscription, delivered signed to the served
app, is settled by the worker rather than left waiting in the inbox."""

import json
import time

import requests
from sqlalchemy import select

from app.crm.hubspot.subscriptions import SUBSCRIPTIONS
from app.models import CrmEvent
from app.models.sync import DONE
from app.sandbox.hubspot import signing
from app.services.crm.hubspot_sync import HANDLED_KINDS
from tests.crm_app.conftest import SERVED_APP_ID, SERVED_CLIENT_SECRET, ServedApp

HUB = 48213421


def test_the_drains_claim_exactly_the_subscribed_event_types():
    subscribed = {sub.subscription_type for sub in SUBSCRIPTIONS}
    handled = set(HANDLED_KINDS)
    assert subscribed - handled == set(), "subscribed, but no drain claims them"
    assert handled - subscribed == set(), "claimed, but HubSpot is never asked"


def _event(sub, number: int, contact: str, deal: str, gone: str) -> dict:
    """One event of the subscription's type, shaped as HubSpot sends it."""
    event = {
        "eventId": 1000 + number,
        "subscriptionId": 500 + number,
        "portalId": HUB,
        "appId": SERVED_APP_ID,
        "occurredAt": int(time.time() * 1000) - 1000 + number,
        "subscriptionType": sub.subscription_type,
        "attemptNumber": 0,
        "changeSource": "CRM_UI",
        "sourceId": "userId:9",
    }
    own = deal if sub.object_type == "deal" else contact
    if sub.action == "associationChange":
        return event | {
            "associationType": "DEAL_TO_CONTACT",
            "fromObjectId": int(deal),
            "toObjectId": int(contact),
            "associationRemoved": False,
            "isPrimaryAssociation": False,
        }
    if sub.action == "propertyChange":
        return event | {
            "objectId": int(own),
            "propertyName": sub.property_name,
            "propertyValue": "1",
        }
    if sub.action == "merge":
        return event | {
            "objectId": int(own),
            "primaryObjectId": int(own),
            "mergedObjectIds": [int(gone)],
            "newObjectId": int(own),
            "numberOfPropertiesMoved": 0,
        }
    # A deletion names a record HubSpot no longer has.
    deleted = sub.action in ("deletion", "privacyDeletion")
    return event | {"objectId": int(gone if deleted else own)}


def test_an_event_of_every_subscription_is_settled_by_the_worker(served: ServedApp):
    pk = served.install(HUB)
    hubspot, services = served.hubspot, served.services
    contact = hubspot.act.create_contact(HUB, email="ada@example.org")
    deal = hubspot.act.create_deal(HUB, [contact], dealname="Pilot")
    gone = hubspot.act.create_contact(HUB, email="gone@example.org")
    hubspot.act.delete(HUB, "contacts", gone)
    events = [
        _event(sub, number, contact, deal, gone)
        for number, sub in enumerate(SUBSCRIPTIONS)
    ]
    url = f"{served.base_url}/hubspot/webhooks"
    body = json.dumps(events)
    stamp = int(time.time() * 1000)
    answer = requests.post(
        url,
        data=body,
        headers=signing.headers(SERVED_CLIENT_SECRET, url, body, stamp),
        timeout=10,
    )
    assert answer.json()["stored"] == len(SUBSCRIPTIONS), answer.text
    with services.sessions() as session:
        stored = set(
            session.scalars(select(CrmEvent.kind).where(CrmEvent.account_pk == pk))
        )
    assert stored == {sub.subscription_type for sub in SUBSCRIPTIONS}

    for _ in range(20):
        if not services.hubspot.sync(pk).events:
            break
    with services.sessions() as session:
        waiting = session.execute(
            select(CrmEvent.kind, CrmEvent.status, CrmEvent.last_error).where(
                CrmEvent.account_pk == pk, CrmEvent.status != DONE
            )
        ).all()
    assert waiting == []
