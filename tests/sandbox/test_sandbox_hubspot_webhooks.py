"""Webhooks from the HubSpot emulation: v3/v1 signatures that the SDK validates,
the events every kind of change emits, batches under 100, retries with
`attemptNumber`, the delivery timeout, duplicates and shuffled order."""

import json
import time

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    SimplePublicObjectInputForCreate,
)
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature

from app.sandbox import HubSpotSandbox

HUB_ID = 48213377  # the account the `tokens` fixture installs
SECRET = "conturs-sandbox-secret"
PATH = "/hubspot/webhooks"


def _events(receiver) -> list[dict]:
    return [event for body in receiver.bodies(PATH) for event in json.loads(body)]


def _subscribe(hubspot, receiver, *subs: dict, query: str = "", **options) -> None:
    hubspot.configure_webhooks(
        f"{receiver.base_url}{PATH}{query}", list(subs), **options
    )


def test_v3_and_v1_signatures_validate_with_the_sdk(hubspot, tokens, receiver):
    _subscribe(hubspot, receiver, {"subscriptionType": "contact.creation"})
    hubspot.act.create_contact(HUB_ID, email="olena@acme.ua")
    assert hubspot.webhooks.wait_idle()
    [got] = [r for r in receiver.requests if r.path == PATH]
    headers = got.headers
    assert Signature.is_valid(
        signature=headers["X-Hubspot-Signature-V3"],
        client_secret=SECRET,
        request_body=got.body,
        http_uri=got.url,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-Hubspot-Request-Timestamp"],
    )
    assert headers["X-Hubspot-Signature-Version"] == "v1"
    assert Signature.is_valid(
        signature=headers["X-Hubspot-Signature"],
        client_secret=SECRET,
        request_body=got.body,
        signature_version="v1",
    )
    tampered = (
        got.body.replace("olena", "0lena")
        if "olena" in got.body
        else (got.body.replace('"attemptNumber":0', '"attemptNumber":1'))
    )
    assert tampered != got.body
    assert not Signature.is_valid(
        signature=headers["X-Hubspot-Signature-V3"],
        client_secret=SECRET,
        request_body=tampered,
        http_uri=got.url,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-Hubspot-Request-Timestamp"],
    )
    assert not Signature.is_valid(
        signature=headers["X-Hubspot-Signature"],
        client_secret="another-secret",
        request_body=got.body,
        signature_version="v1",
    )
    [event] = json.loads(got.body)
    assert event["subscriptionType"] == "contact.creation"
    assert (event["portalId"], event["appId"], event["attemptNumber"]) == (
        HUB_ID,
        4242001,
        0,
    )
    assert event["changeSource"] == "CRM_UI" and event["changeFlag"] == "CREATED"


def test_stale_timestamp_and_uri_decoding(hubspot, tokens, receiver, clock):
    _subscribe(
        hubspot,
        receiver,
        {"subscriptionType": "contact.creation"},
        query="?portal=a%3Ab%2Cc%20d",
    )
    clock.advance(-360)
    hubspot.act.create_contact(HUB_ID, email="late@acme.ua")
    assert hubspot.webhooks.wait_idle()
    [got] = [r for r in receiver.requests if r.path == PATH]
    stamp = got.headers["X-Hubspot-Request-Timestamp"]
    signature = got.headers["X-Hubspot-Signature-V3"]
    target = f"{receiver.base_url}{PATH}?portal=a%3Ab%2Cc%20d"
    decoded = f"{receiver.base_url}{PATH}?portal=a:b,c%20d"
    expected = Signature.get_signature(
        SECRET, got.body, "v3", http_uri=decoded, timestamp=stamp
    )
    assert signature == expected
    assert signature != Signature.get_signature(
        SECRET, got.body, "v3", http_uri=target, timestamp=stamp
    )
    with pytest.raises(InvalidSignatureTimestampError):
        Signature.is_valid(
            signature=signature,
            client_secret=SECRET,
            request_body=got.body,
            http_uri=decoded,
            signature_version="v3",
            timestamp=stamp,
        )


def test_every_change_emits_matching_events(hubspot, tokens, client, receiver):
    _subscribe(
        hubspot,
        receiver,
        {"subscriptionType": "contact.creation"},
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "hs_lead_status",
        },
        {"subscriptionType": "contact.deletion"},
        {"subscriptionType": "contact.merge"},
        {"subscriptionType": "contact.privacyDeletion"},
        {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
        {
            "subscriptionType": "object.propertyChange",
            "objectTypeId": "0-1",
            "propertyName": "hs_email_bounce",
        },
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "firstname",
            "active": False,
        },
    )
    made = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "a@acme.ua", "hs_lead_status": "NEW", "firstname": "A"}
        )
    )
    other = hubspot.act.create_contact(HUB_ID, email="b@acme.ua")
    hubspot.act.update_contact(HUB_ID, made.id, hs_lead_status="CONNECTED")
    hubspot.act.update_contact(HUB_ID, made.id, hs_lead_status="CONNECTED")
    hubspot.act.bounce_email(HUB_ID, made.id)
    deal = hubspot.act.create_deal(
        HUB_ID, [made.id], dealname="D", dealstage="appointmentscheduled"
    )
    hubspot.act.move_deal(HUB_ID, deal, "closedwon")
    hubspot.act.merge_contacts(HUB_ID, made.id, other)
    hubspot.act.privacy_delete_contact(HUB_ID, made.id)
    assert hubspot.webhooks.wait_idle()
    seen = [
        (
            e["subscriptionType"],
            str(e["objectId"]),
            e.get("propertyValue"),
            e["changeSource"],
        )
        for e in sorted(_events(receiver), key=lambda e: e["occurredAt"])
    ]
    assert ("contact.creation", made.id, None, "INTEGRATION") in seen
    assert ("contact.creation", other, None, "CRM_UI") in seen
    lead_status = [s for s in seen if s[0] == "contact.propertyChange"]
    assert lead_status == [
        ("contact.propertyChange", made.id, "NEW", "INTEGRATION"),
        ("contact.propertyChange", made.id, "CONNECTED", "CRM_UI"),
    ]
    assert ("object.propertyChange", made.id, "1", "CRM_UI") in seen
    stages = [s[2] for s in seen if s[0] == "deal.propertyChange"]
    assert stages == ["appointmentscheduled", "closedwon"]
    assert ("contact.merge", made.id, None, "CRM_UI") in seen
    assert ("contact.privacyDeletion", made.id, None, "CRM_UI") in seen
    assert ("contact.deletion", made.id, None, "CRM_UI") in seen
    merge = next(
        e for e in _events(receiver) if e["subscriptionType"] == "contact.merge"
    )
    assert merge["mergedObjectIds"] == [int(other)]
    assert merge["primaryObjectId"] == int(made.id)
    generic = next(
        e for e in _events(receiver) if e["subscriptionType"] == "object.propertyChange"
    )
    assert generic["objectTypeId"] == "0-1"


def test_batches_stay_under_100_and_failures_retry_with_attempt_number(
    hubspot, tokens, client, receiver
):
    _subscribe(hubspot, receiver, {"subscriptionType": "contact.creation"})
    receiver.statuses = [500, 503]
    for start in (0, 100):
        client.crm.contacts.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    {"properties": {"email": f"p{i}@bulk.io"}, "associations": []}
                    for i in range(start, start + 100)
                ]
            )
        )
    assert hubspot.webhooks.wait_idle(timeout=10)
    bodies = [json.loads(b) for b in receiver.bodies(PATH)]
    assert all(0 < len(batch) < 100 for batch in bodies)
    attempts = sorted({e["attemptNumber"] for batch in bodies for e in batch})
    assert attempts[0] == 0 and attempts[-1] >= 1
    assert {r["status"] for r in hubspot.deliveries()} >= {500, 503, 204}
    delivered = {
        e["objectId"]
        for r in hubspot.deliveries()
        if r.get("status") == 204
        for e in json.loads(r["body"])
    }
    assert len(delivered) == 200


def test_slow_receiver_times_out_and_is_retried(tokens, receiver):
    with HubSpotSandbox(retry_delays=(0.05,), webhook_timeout=0.2) as hubspot:
        hubspot.mint_tokens(HUB_ID)
        _subscribe(hubspot, receiver, {"subscriptionType": "contact.creation"})
        receiver.delay = 0.4
        hubspot.act.create_contact(HUB_ID, email="slow@acme.ua")
        time.sleep(0.5)
        receiver.delay = 0.0
        assert hubspot.webhooks.wait_idle(timeout=5)
        results = [
            (r["attempt"], r.get("error"), r.get("status"))
            for r in hubspot.deliveries()
        ]
    assert results[0] == (0, "ReadTimeout", None)
    assert results[-1] == (results[-1][0], None, 204) and results[-1][0] >= 1


def test_duplicates_and_out_of_order_on_request(hubspot, tokens, receiver):
    _subscribe(
        hubspot,
        receiver,
        {"subscriptionType": "contact.creation"},
        duplicates=1.0,
        out_of_order=True,
    )
    ids = [hubspot.act.create_contact(HUB_ID, email=f"d{i}@x.io") for i in range(20)]
    assert hubspot.webhooks.wait_idle()
    got = [str(e["objectId"]) for e in _events(receiver)]
    assert sorted(got) == sorted(ids * 2)
    assert got[::2] != ids and got != sorted(got, key=int)


def test_uninstalled_account_gets_no_more_events(hubspot, tokens, receiver):
    _subscribe(hubspot, receiver, {"subscriptionType": "contact.creation"})
    hubspot.act.create_contact(HUB_ID, email="before@acme.ua")
    assert hubspot.webhooks.wait_idle()
    hubspot.uninstall(HUB_ID)
    hubspot.act.create_contact(HUB_ID, email="after@acme.ua")
    assert hubspot.webhooks.wait_idle()
    assert len(_events(receiver)) == 1


def test_association_changes_carry_no_object_id(hubspot, tokens, client, receiver):
    _subscribe(
        hubspot,
        receiver,
        {"subscriptionType": "deal.associationChange"},
        {"subscriptionType": "contact.associationChange"},
    )
    contact = hubspot.act.create_contact(HUB_ID, email="a@acme.ua")
    deal = hubspot.act.create_deal(HUB_ID, dealname="D")
    hubspot.act.associate(HUB_ID, deal, contact)
    client.crm.associations.v4.basic_api.archive("deals", deal, "contacts", contact)
    assert hubspot.webhooks.wait_idle()
    events = sorted(
        _events(receiver),
        key=lambda e: (e["associationRemoved"], e["associationType"]),
    )
    assert len(events) == 4
    for event in events:
        assert set(event) == {
            "eventId",
            "subscriptionId",
            "portalId",
            "appId",
            "occurredAt",
            "subscriptionType",
            "attemptNumber",
            "changeSource",
            "sourceId",
            "associationType",
            "fromObjectId",
            "toObjectId",
            "associationRemoved",
            "isPrimaryAssociation",
        }
        assert event["isPrimaryAssociation"] is False
        side = event["subscriptionType"].split(".")[0].upper()
        assert event["associationType"].startswith(f"{side}_TO_")
    seen = [
        (
            e["associationType"],
            e["fromObjectId"],
            e["toObjectId"],
            e["associationRemoved"],
            e["changeSource"],
        )
        for e in events
    ]
    deal_id, contact_id = int(deal), int(contact)
    assert seen == [
        ("CONTACT_TO_DEAL", contact_id, deal_id, False, "USER"),
        ("DEAL_TO_CONTACT", deal_id, contact_id, False, "USER"),
        ("CONTACT_TO_DEAL", contact_id, deal_id, True, "INTEGRATION"),
        ("DEAL_TO_CONTACT", deal_id, contact_id, True, "INTEGRATION"),
    ]
