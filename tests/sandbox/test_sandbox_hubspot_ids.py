"""Record ids of the HubSpot emulation are HubSpot's: 64-bit, 11–12 digits,
strings in JSON, numbers in webhooks, crossing digit lengths so that string order
and numeric order differ; list and association cursors are opaque."""

import json

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    PublicObjectSearchRequest,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals import BatchInputSimplePublicObjectBatchInputForCreate as Deals

HUB_ID = 48213377  # the account the `tokens` fixture installs


def _create_contacts(client, count: int) -> list[str]:
    made = client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": f"c{i}@ids.io"}} for i in range(count)]
        )
    )
    return [record.id for record in made.results]


def test_record_ids_are_64_bit_and_cross_from_11_to_12_digits(client, hubspot):
    contact_ids = _create_contacts(client, 80)
    deals = client.crm.deals.batch_api.create(
        Deals(inputs=[{"properties": {"dealname": f"D{i}"}} for i in range(40)])
    )
    deal_ids = [record.id for record in deals.results]
    for ids in (contact_ids, deal_ids):
        assert all(isinstance(i, str) and int(i) > 2**32 for i in ids)
        assert {len(i) for i in ids} == {11, 12}
        numbers = [int(i) for i in ids]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert sorted(ids) != sorted(ids, key=int)
    got = client.crm.contacts.basic_api.get_by_id(contact_ids[-1])
    assert got.properties["hs_object_id"] == contact_ids[-1]
    assert (
        hubspot.get_object(HUB_ID, "contacts", contact_ids[0])["id"] == (contact_ids[0])
    )


def test_lists_page_in_numeric_order_with_opaque_cursors(client, hubspot, tokens):
    created = _create_contacts(client, 60)
    seen, after, cursors = [], None, []
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=7, after=after)
        seen += [record.id for record in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
        cursors.append(after)
    assert seen == sorted(created, key=int)
    assert not any(cursor.isdigit() or cursor in created for cursor in cursors)
    for bad in ("abc", created[10], "MTIzCg", "%%%", "LTEK"):
        answer = requests.get(
            f"{hubspot.base_url}/crm/v3/objects/contacts",
            params={"after": bad},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=5,
        )
        assert answer.status_code == 400, bad
        assert answer.json()["category"] == "VALIDATION_ERROR"
    with pytest.raises(ContactsApiException) as bad_limit:
        client.crm.contacts.basic_api.get_page(limit=0)
    assert bad_limit.value.status == 400


def test_search_keyset_paging_on_hs_object_id_is_numeric(client, hubspot):
    hubspot.knobs(HUB_ID, search_index_delay=0)
    created = _create_contacts(client, 70)
    found, last = [], "0"
    while True:
        hubspot.clock.advance(1.0)  # stay under the 5/s search limit
        page = client.crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    {
                        "filters": [
                            {
                                "propertyName": "hs_object_id",
                                "operator": "GT",
                                "value": last,
                            }
                        ]
                    }
                ],
                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                limit=9,
            )
        )
        if not page.results:
            break
        found += [record.id for record in page.results]
        last = found[-1]
    assert found == sorted(created, key=int) != sorted(created)


def test_association_and_webhook_ids_are_the_same_numbers(
    client, hubspot, tokens, receiver
):
    hubspot.configure_webhooks(
        f"{receiver.base_url}/hooks", [{"subscriptionType": "contact.creation"}]
    )
    [contact] = _create_contacts(client, 1)
    deal = hubspot.act.create_deal(HUB_ID, [contact], dealname="D")
    page = client.crm.associations.v4.basic_api.get_page("deals", deal, "contacts")
    assert page.results[0].to_object_id == contact
    raw = requests.get(
        f"{hubspot.base_url}/crm/v4/objects/deals/{deal}/associations/contacts",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert raw.json()["results"][0]["toObjectId"] == int(contact)
    bad = requests.get(
        f"{hubspot.base_url}/crm/v4/objects/deals/{deal}/associations/contacts",
        params={"after": "not-a-cursor"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert bad.status_code == 400
    assert hubspot.webhooks.wait_idle()
    [event] = [e for d in hubspot.deliveries() for e in json.loads(d["body"])]
    assert event["objectId"] == int(contact)
