"""Search in the HubSpot emulation is as inconvenient as HubSpot's: 5 requests/s
per account whichever token asks, eventually consistent (new and changed
records show up only after the index delay; reads by id are current), and
malformed cursors or pages past 10,000 results get 400."""

import pytest
import requests
from hubspot.crm.contacts import (
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

HUB_ID = 48213377  # the account the `tokens` fixture installs


def _search(hubspot, token: str, body: dict) -> requests.Response:
    return requests.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def _by_email(client, email: str) -> list:
    return client.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {"propertyName": "email", "operator": "EQ", "value": email}
                    ]
                }
            ],
            properties=["email", "lastname"],
        )
    ).results


def test_search_limit_counts_per_account_not_per_token(hubspot, tokens):
    second = hubspot.mint_tokens(HUB_ID)["access_token"]
    other_hub = hubspot.mint_tokens(HUB_ID + 7)["access_token"]
    answers = [
        _search(hubspot, (tokens["access_token"], second)[i % 2], {"limit": 1})
        for i in range(6)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    body = answers[-1].json()
    assert set(body) == {
        "status",
        "message",
        "errorType",
        "correlationId",
        "policyName",
        "requestId",
        "groupName",
    }
    assert (body["status"], body["errorType"], body["policyName"]) == (
        "error",
        "RATE_LIMIT",
        "SECONDLY",
    )
    assert str(HUB_ID) in body["groupName"]
    assert _search(hubspot, other_hub, {"limit": 1}).status_code == 200
    hubspot.clock.advance(1.0)
    assert _search(hubspot, second, {"limit": 1}).status_code == 200


def test_new_records_reach_search_only_after_the_index_delay(client, hubspot):
    assert hubspot.knobs(HUB_ID)["search_index_delay"] == 2.0
    made = client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "new@acme.ua"})
    )
    assert client.crm.contacts.basic_api.get_by_id(made.id).id == made.id
    assert _by_email(client, "new@acme.ua") == []
    hubspot.clock.advance(1.999)
    assert _by_email(client, "new@acme.ua") == []
    hubspot.clock.advance(0.001)
    assert [r.id for r in _by_email(client, "new@acme.ua")] == [made.id]


def test_search_shows_stale_values_and_deleted_records_until_reindexed(client, hubspot):
    hubspot.knobs(HUB_ID, search_index_delay=5)
    contacts = client.crm.contacts.basic_api
    made = contacts.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "s@acme.ua", "lastname": "Old"}
        )
    )
    hubspot.clock.advance(5)
    contacts.update(made.id, SimplePublicObjectInput(properties={"lastname": "New"}))
    current = contacts.get_by_id(made.id, properties=["lastname"])
    assert current.properties["lastname"] == "New"
    [stale] = _by_email(client, "s@acme.ua")
    assert stale.properties["lastname"] == "Old"
    hubspot.clock.advance(5)
    [fresh] = _by_email(client, "s@acme.ua")
    assert fresh.properties["lastname"] == "New"
    contacts.archive(made.id)
    hubspot.clock.advance(1)
    assert [r.id for r in _by_email(client, "s@acme.ua")] == [made.id]
    hubspot.clock.advance(4)
    assert _by_email(client, "s@acme.ua") == []


def test_index_delay_knob_and_flush(client, hubspot):
    hubspot.knobs(HUB_ID, search_index_delay=600)
    hubspot.act.create_contact(HUB_ID, email="ui@acme.ua")
    assert _by_email(client, "ui@acme.ua") == []
    answer = requests.post(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/search-index/flush", timeout=5
    )
    assert answer.status_code == 204
    assert len(_by_email(client, "ui@acme.ua")) == 1
    knobs = requests.put(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/knobs",
        json={"search_index_delay": 0},
        timeout=5,
    ).json()
    assert knobs["search_index_delay"] == 0
    hubspot.act.create_contact(HUB_ID, email="now@acme.ua")
    hubspot.clock.advance(1.0)
    assert len(_by_email(client, "now@acme.ua")) == 1
    refused = requests.put(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/knobs",
        json={"search_index_delay": -1},
        timeout=5,
    )
    assert refused.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"after": "abc"},
        {"after": "-1"},
        {"after": {"x": 1}},
        {"after": "1e3"},
        {"limit": "ten"},
        {"limit": 201},
        {"filterGroups": "x"},
        {"filterGroups": [{"filters": ["x"]}]},
        {"sorts": 5},
        {"after": "9999", "limit": 2},
        {"after": "10000", "limit": 1},
    ],
)
def test_bad_cursors_and_pages_past_10000_get_400(hubspot, tokens, body):
    answer = _search(hubspot, tokens["access_token"], body)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_the_last_page_under_10000_is_served(hubspot, tokens):
    answer = _search(hubspot, tokens["access_token"], {"after": "9800", "limit": 200})
    assert answer.status_code == 200 and answer.json()["results"] == []
