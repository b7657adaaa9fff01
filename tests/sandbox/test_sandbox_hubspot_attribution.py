"""Who made a change, as HubSpot tells it: the app's API writes arrive as
`changeSource: INTEGRATION` with the app's id as `sourceId`, a person's edits in
HubSpot as `CRM_UI` with `userId:<id>`, HubSpot's own rollups as `CALCULATED`;
property history says the same. Events come only for subscribed properties,
for companies too."""

import json

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectInput,
)

HUB_ID = 48213377  # the account the `tokens` fixture installs
APP_ID = "4242001"
PATH = "/hubspot/webhooks"


def _events(receiver) -> list[dict]:
    return [event for body in receiver.bodies(PATH) for event in json.loads(body)]


def _subscribe(hubspot, receiver, *subs: dict) -> None:
    hubspot.configure_webhooks(f"{receiver.base_url}{PATH}", list(subs))


def _user(hubspot) -> str:
    return f"userId:{hubspot.store.account(HUB_ID).user_id}"


def test_api_writes_are_integration_and_ui_edits_are_the_user(
    hubspot, tokens, client, receiver, clock
):
    _subscribe(
        hubspot,
        receiver,
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "hs_lead_status",
        },
    )
    contact = hubspot.act.create_contact(HUB_ID, email="olena@acme.example")
    clock.advance(1)
    client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {
                    "id": contact,
                    "properties": {"hs_lead_status": "OPEN", "jobtitle": "CEO"},
                }
            ]
        )
    )
    clock.advance(1)
    hubspot.act.update_contact(HUB_ID, contact, hs_lead_status="CONNECTED")
    clock.advance(1)
    client.crm.contacts.basic_api.update(
        contact, SimplePublicObjectInput(properties={"hs_lead_status": "OPEN_DEAL"})
    )
    assert hubspot.webhooks.wait_idle()
    seen = [
        (e["propertyName"], e["propertyValue"], e["changeSource"], e["sourceId"])
        for e in sorted(_events(receiver), key=lambda e: e["occurredAt"])
    ]
    # jobtitle was written too, but nobody subscribed to it.
    assert seen == [
        ("hs_lead_status", "OPEN", "INTEGRATION", APP_ID),
        ("hs_lead_status", "CONNECTED", "CRM_UI", _user(hubspot)),
        ("hs_lead_status", "OPEN_DEAL", "INTEGRATION", APP_ID),
    ]
    got = client.crm.contacts.basic_api.get_by_id(
        contact, properties_with_history=["hs_lead_status", "jobtitle"]
    )
    history = got.properties_with_history["hs_lead_status"]
    assert [(h.value, h.source_type, h.source_id) for h in history] == [
        ("OPEN_DEAL", "INTEGRATION", APP_ID),
        ("CONNECTED", "CRM_UI", _user(hubspot)),
        ("OPEN", "INTEGRATION", APP_ID),
    ]
    [title] = got.properties_with_history["jobtitle"]
    assert (title.value, title.source_type, title.source_id) == (
        "CEO",
        "INTEGRATION",
        APP_ID,
    )


def test_rollups_are_calculated_without_a_source_id(hubspot, tokens, client, receiver):
    _subscribe(
        hubspot,
        receiver,
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "num_associated_deals",
        },
        {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
        {"subscriptionType": "deal.propertyChange", "propertyName": "hs_is_closed_won"},
    )
    contact = hubspot.act.create_contact(HUB_ID, email="taras@acme.example")
    deal = hubspot.act.create_deal(HUB_ID, [contact], dealname="Pilot")
    client.crm.deals.basic_api.update(deal, {"properties": {"dealstage": "closedwon"}})
    assert hubspot.webhooks.wait_idle()
    seen = {
        (e["propertyName"], e["propertyValue"]): (e["changeSource"], e.get("sourceId"))
        for e in _events(receiver)
    }
    assert seen[("num_associated_deals", "1")] == ("CALCULATED", None)
    assert seen[("dealstage", "closedwon")] == ("INTEGRATION", APP_ID)
    assert seen[("hs_is_closed_won", "true")] == ("CALCULATED", None)


def test_company_events_and_primary_association_changes(hubspot, tokens, receiver):
    _subscribe(
        hubspot,
        receiver,
        {"subscriptionType": "company.creation"},
        {"subscriptionType": "company.propertyChange", "propertyName": "industry"},
        {
            "subscriptionType": "object.propertyChange",
            "objectType": "company",
            "propertyName": "numberofemployees",
        },
        {"subscriptionType": "contact.associationChange"},
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "associatedcompanyid",
        },
    )
    company = hubspot.act.create_company(HUB_ID, name="Acme", industry="RETAIL")
    hubspot.act.update_company(HUB_ID, company, numberofemployees="40", domain="a.io")
    contact = hubspot.act.create_contact(HUB_ID, email="a@a.io")
    hubspot.act.associate_company(HUB_ID, contact, company)
    assert hubspot.webhooks.wait_idle()
    events = _events(receiver)
    kinds = sorted(
        (e["subscriptionType"], e.get("propertyName"), e.get("isPrimaryAssociation"))
        for e in events
    )
    assert kinds == [
        ("company.creation", None, None),
        ("company.propertyChange", "industry", None),
        ("contact.associationChange", None, False),
        ("contact.associationChange", None, True),
        ("contact.propertyChange", "associatedcompanyid", None),
        ("object.propertyChange", "numberofemployees", None),
    ]
    generic = next(e for e in events if e["subscriptionType"].startswith("object."))
    assert generic["objectTypeId"] == "0-2" and generic["objectId"] == int(company)
    linked = [e for e in events if e["subscriptionType"] == "contact.associationChange"]
    assert {e["associationType"] for e in linked} == {"CONTACT_TO_COMPANY"}
    assert all(e["changeSource"] == "USER" for e in linked)
    assert all("objectId" not in e for e in linked)
    assert all(e["sourceId"] == _user(hubspot) for e in events if "sourceId" in e)


def test_subscriptions_hubspot_refuses(hubspot):
    for refused in (
        {"subscriptionType": "contact.propertyChange"},
        {
            "subscriptionType": "contact.propertyChange",
            "propertyName": "hs_lastmodifieddate",
        },
        {"subscriptionType": "contact.teleport"},
    ):
        with pytest.raises(ValueError):
            hubspot.configure_webhooks("http://localhost:9/hooks", [refused])
    with pytest.raises(ValueError):
        hubspot.configure_webhooks(
            "http://localhost:9/hooks",
            [{"subscriptionType": "contact.creation"}] * 1001,
        )
