"""The HubSpot emulation as the official hubspot-api-client sees it (host
override only): OAuth, token info, contacts basic/batch/search, properties and
groups, pipelines, associations v4, and 207/409/429 as the SDK surfaces them."""

import json

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealCreate
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from hubspot.oauth.exceptions import ApiException as OAuthApiException

HUB_ID = 48213377  # the account the `tokens` fixture installs
REDIRECT = "http://localhost:8082/hubspot/oauth/callback"


def test_oauth_code_exchange_refresh_and_token_info(hubspot, consent):
    query = consent(hub_id=243370915)
    assert query["state"] == "s-123"
    sdk = HubSpot(host=hubspot.base_url)
    tokens = sdk.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=REDIRECT,
        client_id="conturs-sandbox-client",
        client_secret="conturs-sandbox-secret",
    )
    assert tokens.expires_in == 1800 and tokens.token_type == "bearer"
    info = sdk.oauth.access_tokens_api.get(tokens.access_token)
    assert (info.hub_id, info.user, info.app_id) == (
        243370915,
        "owner@acme.example",
        4242001,
    )
    assert info.scopes == ["crm.objects.contacts.read", "oauth"]
    assert 0 < info.expires_in <= 1800
    refreshed = sdk.oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=tokens.refresh_token,
        client_id="conturs-sandbox-client",
        client_secret="conturs-sandbox-secret",
    )
    assert refreshed.access_token != tokens.access_token
    assert refreshed.refresh_token == tokens.refresh_token
    with pytest.raises(OAuthApiException) as reused:
        sdk.oauth.tokens_api.create(
            grant_type="authorization_code",
            code=query["code"],
            redirect_uri=REDIRECT,
            client_id="conturs-sandbox-client",
            client_secret="conturs-sandbox-secret",
        )
    assert reused.value.status == 400
    assert json.loads(reused.value.body)["status"] == "BAD_AUTH_CODE"


def test_uninstall_stops_tokens_and_refresh(hubspot, tokens, client):
    answer = requests.delete(
        f"{hubspot.base_url}/appinstalls/v3/external-install",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert answer.status_code == 204
    with pytest.raises(ContactsApiException) as failed:
        client.crm.contacts.basic_api.get_page()
    assert failed.value.status == 401
    assert json.loads(failed.value.body)["category"] == "INVALID_AUTHENTICATION"
    with pytest.raises(OAuthApiException) as refused:
        HubSpot(host=hubspot.base_url).oauth.tokens_api.create(
            grant_type="refresh_token",
            refresh_token=tokens["refresh_token"],
            client_id="conturs-sandbox-client",
            client_secret="conturs-sandbox-secret",
        )
    body = json.loads(refused.value.body)
    assert refused.value.status == 400
    assert (body["status"], body["error"]) == ("BAD_REFRESH_TOKEN", "invalid_grant")


def test_expired_access_token_gets_hubspots_401(client, clock):
    clock.advance(1800 + 125)
    with pytest.raises(ContactsApiException) as failed:
        client.crm.contacts.basic_api.get_page()
    body = json.loads(failed.value.body)
    assert failed.value.status == 401
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == (
        "The OAuth token used to make this call expired 3 minute(s) ago."
    )


def test_contacts_basic_create_get_update_page_archive(client, hubspot):
    api = client.crm.contacts.basic_api
    created = api.create(
        SimplePublicObjectInputForCreate(
            properties={
                "email": "olena@acme.ua",
                "firstname": "Olena",
                "hs_lead_status": "NEW",
            }
        )
    )
    assert created.properties["hs_object_id"] == created.id
    with pytest.raises(ContactsApiException) as duplicate:
        api.create(
            SimplePublicObjectInputForCreate(properties={"email": "OLENA@acme.ua"})
        )
    assert duplicate.value.status == 409
    assert json.loads(duplicate.value.body)["message"] == (
        f"Contact already exists. Existing ID: {created.id}"
    )
    api.update(created.id, SimplePublicObjectInput(properties={"lastname": "Koval"}))
    got = api.get_by_id(created.id, properties=["lastname", "hs_lead_status", "phone"])
    assert got.properties["lastname"] == "Koval" and got.properties["phone"] is None
    by_email = api.get_by_id("olena@acme.ua", id_property="email")
    assert by_email.id == created.id
    for index in range(11):
        api.create(
            SimplePublicObjectInputForCreate(properties={"email": f"c{index}@x.io"})
        )
    seen, after = [], None
    while True:
        page = api.get_page(limit=5, after=after)
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == 12 == len(set(seen))
    assert len(client.crm.contacts.get_all()) == 12
    api.archive(created.id)
    with pytest.raises(ContactsApiException) as gone:
        api.get_by_id(created.id)
    assert gone.value.status == 404
    assert hubspot.calls(HUB_ID)["POST /crm/v3/objects/contacts"] == 13


def test_batch_read_207_and_batch_update_400_and_limits(client, hubspot):
    hubspot.seed(HUB_ID, contacts=5, deals=0)
    first, second = [
        c.id for c in client.crm.contacts.basic_api.get_page(limit=2).results
    ]
    batch = client.crm.contacts.batch_api
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": first}, {"id": "999999"}],
            properties=["email"],
            properties_with_history=["email"],
        )
    )
    assert type(read).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert read.num_errors == 1 and read.errors[0].context == {"ids": ["999999"]}
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert [r.id for r in read.results] == [first]
    assert read.results[0].properties_with_history["email"][0].value
    with pytest.raises(ContactsApiException) as invalid:
        batch.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    {"id": first, "properties": {"firstname": "Ok"}},
                    {"id": second, "properties": {"hs_lead_status": "HOT"}},
                ]
            )
        )
    body = json.loads(invalid.value.body)
    assert invalid.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert '"error":"INVALID_OPTION"' in body["message"]
    assert (
        hubspot.get_object(HUB_ID, "contacts", first)["properties"]["firstname"] != "Ok"
    )
    partial = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": first, "properties": {"hs_lead_status": "CONNECTED"}},
                {"id": "424242", "properties": {"hs_lead_status": "OPEN"}},
            ]
        )
    )
    assert partial.num_errors == 1 and partial.errors[0].context == {"ids": ["424242"]}
    assert partial.results[0].properties["hs_lead_status"] == "CONNECTED"
    assert hubspot.writes(HUB_ID)[-1]["properties"] == {"hs_lead_status": "CONNECTED"}
    with pytest.raises(ContactsApiException) as too_many:
        batch.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[{"id": str(i)} for i in range(101)],
                properties=[],
                properties_with_history=[],
            )
        )
    assert too_many.value.status == 400


def test_search_filters_sorts_limits_and_cap(client, hubspot):
    hubspot.seed(HUB_ID, contacts=60, deals=0)
    search = client.crm.contacts.search_api
    found = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "hs_lead_status",
                            "operator": "IN",
                            "values": ["NEW", "OPEN"],
                        }
                    ]
                },
                {
                    "filters": [
                        {
                            "propertyName": "hs_email_open",
                            "operator": "GTE",
                            "value": "8",
                        }
                    ]
                },
            ],
            sorts=[{"propertyName": "hs_email_open", "direction": "DESCENDING"}],
            properties=["hs_lead_status", "hs_email_open"],
            limit=200,
        )
    )
    rows = [r.properties for r in found.results]
    assert found.total == len(rows) > 0
    assert all(
        r["hs_lead_status"] in ("NEW", "OPEN") or int(r["hs_email_open"]) >= 8
        for r in rows
    )
    opens = [int(r["hs_email_open"]) for r in rows]
    assert opens == sorted(opens, reverse=True)
    everyone = search.do_search(PublicObjectSearchRequest(limit=25, after="50"))
    assert everyone.total == 60 and len(everyone.results) == 10
    assert everyone.paging is None
    assert set(everyone.results[0].properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    for request in (
        PublicObjectSearchRequest(limit=201),
        PublicObjectSearchRequest(limit=200, after="9900"),
    ):
        clock_step(hubspot)
        with pytest.raises(ContactsApiException) as refused:
            search.do_search(request)
        assert refused.value.status == 400


def clock_step(hubspot) -> None:
    """Move past the search limiter's one-second window."""
    hubspot.clock.advance(1.0)


def test_properties_groups_and_enumerations(client):
    groups, core = client.crm.properties.groups_api, client.crm.properties.core_api
    group = groups.create(
        "contacts",
        PropertyGroupCreate(name="conturs", label="Conturs", display_order=-1),
    )
    assert group.name == "conturs"
    with pytest.raises(PropertiesApiException) as dup_group:
        groups.create("contacts", PropertyGroupCreate(name="conturs", label="Again"))
    assert dup_group.value.status == 409
    tier = PropertyCreate(
        name="conturs_tier",
        label="Lead tier",
        type="enumeration",
        field_type="select",
        group_name="conturs",
        options=[
            OptionInput(label="Hot", value="hot", display_order=0, hidden=False),
            OptionInput(label="Cold", value="cold", display_order=1, hidden=False),
        ],
    )
    created = core.create("contacts", tier)
    assert [o.value for o in created.options] == ["hot", "cold"]
    with pytest.raises(PropertiesApiException) as dup:
        core.create("contacts", tier)
    body = json.loads(dup.value.body)
    assert dup.value.status == 409 and body["category"] == "OBJECT_ALREADY_EXISTS"
    fetched = core.get_by_name("contacts", "conturs_tier")
    assert fetched.group_name == "conturs" and not fetched.hubspot_defined
    names = {p.name for p in core.get_all("contacts").results}
    assert {
        "hs_lead_status",
        "num_associated_deals",
        "hs_email_open",
        "notes_last_updated",
        "createdate",
        "conturs_tier",
    } <= names
    lead_status = core.get_by_name("contacts", "hs_lead_status")
    assert "ATTEMPTED_TO_CONTACT" in [o.value for o in lead_status.options]
    contacts = client.crm.contacts.basic_api
    with pytest.raises(ContactsApiException):
        contacts.create(
            SimplePublicObjectInputForCreate(properties={"conturs_tier": "warm"})
        )
    ok = contacts.create(
        SimplePublicObjectInputForCreate(properties={"conturs_tier": "hot"})
    )
    assert ok.properties["conturs_tier"] == "hot"


def test_pipelines_stage_metadata_and_deal_outcome(client):
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    default = next(p for p in pipelines if p.id == "default")
    stages = {s.id: s.metadata for s in default.stages}
    assert stages["closedwon"] == {"isClosed": "true", "probability": "1.0"}
    assert stages["closedlost"] == {"isClosed": "true", "probability": "0.0"}
    only = client.crm.pipelines.pipeline_stages_api.get_all("deals", "default").results
    assert [s.id for s in only] == [s.id for s in default.stages]
    deal = client.crm.deals.basic_api.create(
        DealCreate(
            properties={"dealname": "Pilot", "amount": "1500", "dealstage": "closedwon"}
        )
    )
    got = client.crm.deals.basic_api.get_by_id(
        deal.id, properties=["pipeline", "hs_is_closed_won", "hs_is_closed"]
    )
    assert got.properties["pipeline"] == "default"
    assert got.properties["hs_is_closed_won"] == "true"


def test_associations_v4_default_page_and_batch(client):
    contact = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "a@acme.ua"})
    )
    deal = client.crm.deals.basic_api.create(
        DealCreate(properties={"dealname": "Deal", "dealstage": "qualifiedtobuy"})
    )
    v4 = client.crm.associations.v4
    made = v4.basic_api.create_default("deals", deal.id, "contacts", contact.id)
    assert {r.association_spec.association_type_id for r in made.results} == {3, 4}
    page = v4.basic_api.get_page("deals", deal.id, "contacts")
    assert page.results[0].to_object_id == contact.id
    assert page.results[0].association_types[0].type_id == 3
    batch = v4.batch_api.get_page(
        "contacts",
        "deals",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[{"id": contact.id}, {"id": "31337"}]
        ),
    )
    assert batch.results[0].to[0].to_object_id == deal.id
    assert batch.results[0].to[0].association_types[0].type_id == 4
    assert batch.num_errors == 1
    counted = client.crm.contacts.basic_api.get_by_id(
        contact.id, properties=["num_associated_deals"], associations=["deals"]
    )
    assert counted.properties["num_associated_deals"] == "1"
    assert counted.associations["deals"].results[0].id == deal.id


def test_forced_429_and_search_secondly_limit_as_sdk_errors(client, hubspot):
    hubspot.faults(HUB_ID, force_429=1)
    with pytest.raises(ContactsApiException) as limited:
        client.crm.contacts.basic_api.get_page()
    body = json.loads(limited.value.body)
    assert limited.value.status == 429
    assert (body["errorType"], body["policyName"]) == (
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
    )
    assert limited.value.headers["X-HubSpot-RateLimit-Max"] == "110"
    client.crm.contacts.basic_api.get_page()
    search = client.crm.contacts.search_api
    for _ in range(5):
        search.do_search(PublicObjectSearchRequest(limit=1))
    with pytest.raises(ContactsApiException) as secondly:
        search.do_search(PublicObjectSearchRequest(limit=1))
    assert secondly.value.status == 429
    assert "X-HubSpot-RateLimit-Max" not in secondly.value.headers
    assert json.loads(secondly.value.body)["policyName"] == "SECONDLY"
    hubspot.clock.advance(1.0)
    search.do_search(PublicObjectSearchRequest(limit=1))
