"""Companies in the HubSpot emulation as the official SDK sees them: get, list,
batch read (207 for missing ids, at most 100 inputs) and search; the read scope
they need; and HubSpot's default company and contact properties. A contact's
primary company: test_sandbox_hubspot_primary_company.py."""

import json

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.companies import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

from app.sandbox.hubspot.store import ValidationFailed

HUB_ID = 48213377
READ_COMPANIES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
]


@pytest.fixture
def token(hubspot) -> str:
    """An access token that may read companies."""
    return hubspot.mint_tokens(HUB_ID, scopes=READ_COMPANIES)["access_token"]


@pytest.fixture
def sdk(hubspot, token: str) -> HubSpot:
    """The SDK with that token."""
    return HubSpot(access_token=token, host=hubspot.base_url)


def _companies(hubspot, count: int) -> list[str]:
    industries = ["COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES", ""]
    return [
        hubspot.act.create_company(
            HUB_ID,
            name=f"Firm {i}",
            domain=f"firm{i}.example",
            industry=industries[i % 4],
            numberofemployees=str(10 * (i + 1)),
        )
        for i in range(count)
    ]


def test_get_list_and_search_companies_with_the_sdk(hubspot, sdk):
    made = _companies(hubspot, 7)
    one = sdk.crm.companies.basic_api.get_by_id(
        made[1], properties=["name", "industry", "numberofemployees", "domain"]
    )
    assert one.properties == {
        "name": "Firm 1",
        "industry": "RETAIL",
        "numberofemployees": "20",
        "domain": "firm1.example",
    }
    with pytest.raises(CompaniesApiException) as missing:
        sdk.crm.companies.basic_api.get_by_id("99999999999")
    assert missing.value.status == 404
    first = sdk.crm.companies.basic_api.get_page(limit=3)
    assert [c.id for c in first.results] == made[:3]
    assert set(first.results[0].properties) == {
        "createdate",
        "domain",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
    }
    rest = sdk.crm.companies.basic_api.get_page(
        limit=100, after=first.paging.next.after
    )
    assert [c.id for c in rest.results] == made[3:] and rest.paging is None
    assert [c.id for c in sdk.crm.companies.get_all()] == made
    hubspot.flush_search_index(HUB_ID)
    software = sdk.crm.companies.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "industry",
                            "operator": "EQ",
                            "value": "COMPUTER_SOFTWARE",
                        }
                    ]
                }
            ],
            properties=["name", "industry"],
        )
    )
    assert software.total == 2
    assert [c.properties["name"] for c in software.results] == ["Firm 0", "Firm 4"]
    assert hubspot.calls(HUB_ID)["POST /crm/v3/objects/companies/search"] == 1


def test_batch_read_companies_207_for_missing_ids_and_at_most_100(hubspot, sdk):
    made = _companies(hubspot, 3)
    batch = sdk.crm.companies.batch_api
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": made[2]}, {"id": "99999999999"}, {"id": made[0]}],
            properties=["name", "industry"],
            properties_with_history=[],
        )
    )
    assert type(read).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [c.id for c in read.results] == [made[2], made[0]]
    assert read.results[0].properties["industry"] == "FINANCIAL_SERVICES"
    assert read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["99999999999"]}
    assert "COMPANY" in read.errors[0].message
    complete = batch.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in made], properties=["name"]
        )
    )
    assert type(complete).__name__ == "BatchResponseSimplePublicObject"
    assert [c.properties["name"] for c in complete.results] == [
        "Firm 0",
        "Firm 1",
        "Firm 2",
    ]
    with pytest.raises(CompaniesApiException) as too_many:
        batch.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[{"id": str(i)} for i in range(101)], properties=[]
            )
        )
    assert too_many.value.status == 400
    body = json.loads(too_many.value.body)
    assert body["category"] == "VALIDATION_ERROR" and "101" in body["message"]


def test_companies_need_the_read_scope(hubspot, client, consent):
    [company] = _companies(hubspot, 1)
    with pytest.raises(CompaniesApiException) as refused:
        client.crm.companies.basic_api.get_by_id(company)
    assert refused.value.status == 403
    body = json.loads(refused.value.body)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"] == {
        "requiredGranularScopes": ["crm.objects.companies.read"]
    }
    for call in (
        lambda: client.crm.companies.basic_api.get_page(),
        lambda: client.crm.companies.batch_api.read(
            BatchReadInputSimplePublicObjectId(inputs=[{"id": company}])
        ),
        lambda: client.crm.companies.search_api.do_search(PublicObjectSearchRequest()),
    ):
        with pytest.raises(CompaniesApiException) as also:
            call()
        assert also.value.status == 403
    # A portal without the companies tool drops the optional scope on consent.
    hubspot.knobs(HUB_ID, unavailable_scopes=["crm.objects.companies.read"])
    query = consent(optional_scope="crm.objects.companies.read")
    exchanged = requests.post(
        f"{hubspot.base_url}/oauth/2026-03/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": "http://localhost:8082/hubspot/oauth/callback",
            "client_id": "conturs-sandbox-client",
            "client_secret": "conturs-sandbox-secret",
        },
        timeout=5,
    ).json()
    assert "crm.objects.companies.read" not in exchanged["scopes"]
    answer = requests.get(
        f"{hubspot.base_url}/crm/v3/objects/companies/{company}",
        headers={"Authorization": f"Bearer {exchanged['access_token']}"},
        timeout=5,
    )
    assert answer.status_code == 403 and answer.json()["category"] == "MISSING_SCOPES"


def _definition(hubspot, object_type: str, name: str) -> dict:
    found = hubspot.get_property(HUB_ID, object_type, name)
    assert found is not None, name
    return found


def test_default_properties_of_companies_and_contacts(hubspot, sdk):
    hubspot.create_account(HUB_ID)
    industry = _definition(hubspot, "companies", "industry")
    values = {option["value"] for option in industry["options"]}
    assert industry["type"] == "enumeration"
    assert {
        "COMPUTER_SOFTWARE",
        "FINANCIAL_SERVICES",
        "HOSPITAL_HEALTH_CARE",
        "RETAIL",
    } <= values
    assert _definition(hubspot, "companies", "numberofemployees")["type"] == "number"
    assert _definition(hubspot, "contacts", "industry")["type"] == "string"
    sizes = _definition(hubspot, "contacts", "numemployees")
    assert [o["value"] for o in sizes["options"]] == [
        "1-5",
        "5-25",
        "25-50",
        "50-100",
        "100-500",
        "500-1000",
        "1000+",
    ]
    assert _definition(hubspot, "contacts", "associatedcompanyid")["type"] == "number"
    replied = _definition(hubspot, "contacts", "hs_sales_email_last_replied")
    assert replied["type"] == "datetime"
    assert replied["modificationMetadata"]["readOnlyValue"] is True
    bounce = _definition(hubspot, "contacts", "hs_email_hard_bounce_reason_enum")
    assert {"MAILBOX_FULL", "UNKNOWN_USER"} <= {o["value"] for o in bounce["options"]}
    with pytest.raises(ValidationFailed) as refused:
        hubspot.act.create_company(HUB_ID, name="X", industry="SOFTWARE")
    assert [p.code for p in refused.value.problems] == ["INVALID_OPTION"]
    contact = hubspot.act.create_contact(HUB_ID, email="a@firm.example")
    with pytest.raises(ContactsApiException) as read_only:
        sdk.crm.contacts.basic_api.update(
            contact,
            SimplePublicObjectInput(
                properties={"hs_sales_email_last_replied": "2026-01-05T10:00:00Z"}
            ),
        )
    assert read_only.value.status == 400 and "READ_ONLY_VALUE" in read_only.value.body
    with pytest.raises(ContactsApiException) as bad_range:
        sdk.crm.contacts.basic_api.update(
            contact, SimplePublicObjectInput(properties={"numemployees": "10-20"})
        )
    assert bad_range.value.status == 400 and "INVALID_OPTION" in bad_range.value.body
    hubspot.act.reply_to_sales_email(HUB_ID, contact)
    got = hubspot.get_object(HUB_ID, "contacts", contact)["properties"]
    assert got["hs_sales_email_last_replied"].endswith("Z")
