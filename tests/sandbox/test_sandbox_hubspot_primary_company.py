"""A contact's primary company in the HubSpot emulation: `associatedcompanyid`
and the primary association (types 1/279) move together whichever side is
written, through the SDK, `act` or the control routes; the seed links most
contacts to a company."""

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

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
    return [
        hubspot.act.create_company(HUB_ID, name=f"Firm {i}", domain=f"f{i}.example")
        for i in range(count)
    ]


def _v4_types(hubspot, token: str, contact: str) -> dict[int, list]:
    answer = requests.get(
        f"{hubspot.base_url}/crm/v4/objects/contacts/{contact}/associations/companies",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return {
        row["toObjectId"]: sorted(t["typeId"] for t in row["associationTypes"])
        for row in answer.json()["results"]
    }


def test_primary_company_and_associatedcompanyid_move_together(hubspot, sdk, token):
    first, second = _companies(hubspot, 2)
    contact = hubspot.act.create_contact(HUB_ID, email="olena@firm0.example")

    def company_of() -> str | None:
        return hubspot.get_object(HUB_ID, "contacts", contact)["properties"].get(
            "associatedcompanyid"
        )

    def headcount(company: str) -> str:
        props = hubspot.get_object(HUB_ID, "companies", company)["properties"]
        return props["num_associated_contacts"]

    assert company_of() is None
    hubspot.act.associate_company(HUB_ID, contact, first)
    assert company_of() == first and headcount(first) == "1"
    assert _v4_types(hubspot, token, contact) == {int(first): [1, 279]}
    hubspot.act.associate_company(HUB_ID, contact, second)
    assert company_of() == second
    assert _v4_types(hubspot, token, contact) == {
        int(first): [279],
        int(second): [1, 279],
    }
    inline = sdk.crm.contacts.basic_api.get_by_id(contact, associations=["companies"])
    assert sorted(
        (a.id, a.type) for a in inline.associations["companies"].results
    ) == sorted(
        [
            (first, "contact_to_company_unlabeled"),
            (second, "contact_to_company"),
            (second, "contact_to_company_unlabeled"),
        ]
    )
    # Writing the property through the API moves the primary label back.
    sdk.crm.contacts.basic_api.update(
        contact, SimplePublicObjectInput(properties={"associatedcompanyid": first})
    )
    assert company_of() == first
    assert _v4_types(hubspot, token, contact)[int(first)] == [1, 279]
    with pytest.raises(ContactsApiException) as unknown:
        sdk.crm.contacts.basic_api.update(
            contact,
            SimplePublicObjectInput(properties={"associatedcompanyid": "99999999999"}),
        )
    assert unknown.value.status == 400 and "associatedcompanyid" in unknown.value.body
    hubspot.act.remove_company(HUB_ID, contact, first)
    assert company_of() is None and headcount(first) == "0"
    assert _v4_types(hubspot, token, contact) == {int(second): [279]}
    hubspot.act.associate_company(HUB_ID, contact, second)
    hubspot.act.delete(HUB_ID, "companies", second)
    assert company_of() is None
    assert _v4_types(hubspot, token, contact) == {}


def test_companies_and_their_contacts_through_control_routes(hubspot):
    control = f"{hubspot.base_url}/_control/accounts/{HUB_ID}"
    hubspot.create_account(HUB_ID)
    made = requests.post(
        f"{control}/companies",
        json={"properties": {"name": "Acme", "industry": "RETAIL"}},
        timeout=5,
    )
    assert made.status_code == 201
    company = made.json()["id"]
    edited = requests.patch(
        f"{control}/companies/{company}",
        json={"properties": {"numberofemployees": "120"}},
        timeout=5,
    ).json()
    assert edited["properties"]["numberofemployees"] == "120"
    refused = requests.post(
        f"{control}/companies",
        json={"properties": {"industry": "NOT_AN_INDUSTRY"}},
        timeout=5,
    )
    assert refused.status_code == 400 and "INVALID_OPTION" in refused.text
    contact = requests.post(
        f"{control}/contacts", json={"properties": {"email": "a@acme.io"}}, timeout=5
    ).json()["id"]
    linked = requests.put(
        f"{control}/contacts/{contact}/companies/{company}", json={}, timeout=5
    ).json()
    assert linked["properties"]["associatedcompanyid"] == company
    assert linked["associations"]["companies"]["results"][0]["id"] == company
    secondary = requests.put(
        f"{control}/contacts/{contact}/companies/{company}",
        json={"primary": "yes"},
        timeout=5,
    )
    assert secondary.status_code == 400
    unlinked = requests.delete(
        f"{control}/contacts/{contact}/companies/{company}", timeout=5
    ).json()
    assert unlinked["properties"].get("associatedcompanyid") in (None, "")
    replied = requests.post(f"{control}/contacts/{contact}/reply", timeout=5).json()
    assert replied["properties"]["hs_sales_email_last_replied"]
    seeded = requests.post(
        f"{control}/seed", json={"contacts": 30, "deals": 0, "companies": 5}, timeout=5
    ).json()
    assert seeded == {"contacts": 30, "deals": 0, "companies": 5}


def test_the_seed_links_contacts_to_companies_with_variety(hubspot):
    hubspot.seed(HUB_ID, contacts=400, deals=10, companies=60)
    account = hubspot.store.account(HUB_ID)
    companies = {
        c.id: c.properties
        for c in account.objects["companies"].values()
        if not c.archived
    }
    contacts = [c.properties for c in account.objects["contacts"].values()]
    assert len(companies) == 60 and len(contacts) == 400
    employed = [c for c in contacts if c.get("associatedcompanyid")]
    assert 0 < len(employed) < len(contacts)
    for contact in employed:
        employer = companies[contact["associatedcompanyid"]]
        assert contact["company"] == employer["name"]
    without_industry = [c for c in companies.values() if not c.get("industry")]
    assert 0 < len(without_industry) < len(companies)
    assert sum(int(c["num_associated_contacts"]) for c in companies.values()) == len(
        employed
    )
    assert any(c.get("numemployees") for c in contacts)
    assert any(c.get("industry") for c in contacts)
    assert any(c.get("hs_sales_email_last_replied") for c in contacts)
    default = hubspot.seed(HUB_ID + 1, contacts=80, deals=0)
    assert default == {"contacts": 80, "deals": 0, "companies": 10}
