"""A portal of thousands of contacts behaves like a small one: list pages visit
every live record once in id order, keyset search on `hs_object_id` walks the
whole portal, and filtered searches find exactly what a scan of the records
finds. (How fast: `python -m app.sandbox.benchmark`.)"""

from datetime import UTC, datetime

import pytest
import requests

HUB_ID = 48213377
CONTACTS = 3000
SCOPES = ["oauth", "crm.objects.contacts.read", "crm.objects.contacts.write"]


@pytest.fixture
def portal(hubspot, clock):
    """A seeded portal and a session holding its token."""
    hubspot.seed(HUB_ID, contacts=CONTACTS, deals=30, companies=200)
    token = hubspot.mint_tokens(HUB_ID, scopes=SCOPES)["access_token"]
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def _live(hubspot) -> dict[str, dict[str, str]]:
    records = hubspot.store.account(HUB_ID).objects["contacts"].values()
    return {r.id: r.properties for r in records if not r.archived}


def _list_all(hubspot, http, **params) -> list[str]:
    found, after = [], None
    while True:
        hubspot.clock.advance(0.1)
        page = http.get(
            f"{hubspot.base_url}/crm/v3/objects/contacts",
            params={"limit": 100, **params, **({"after": after} if after else {})},
            timeout=5,
        )
        assert page.status_code == 200, page.text
        body = page.json()
        found += [r["id"] for r in body["results"]]
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return found


def _search(hubspot, http, body: dict) -> dict:
    hubspot.clock.advance(0.25)
    answer = http.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts/search", json=body, timeout=5
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _keyset(hubspot, http, filters: list[dict], limit: int = 200) -> list[str]:
    found, last = [], "0"
    while True:
        body = _search(
            hubspot,
            http,
            {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_object_id",
                                "operator": "GT",
                                "value": last,
                            },
                            *filters,
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": limit,
            },
        )
        ids = [r["id"] for r in body["results"]]
        found += ids
        if len(ids) < limit:
            return found
        last = ids[-1]


def test_list_pages_visit_every_live_contact_once_in_id_order(hubspot, portal):
    gone = list(_live(hubspot))[10:13]
    for contact in gone:
        hubspot.act.delete(HUB_ID, "contacts", contact)
    listed = _list_all(hubspot, portal)
    assert len(listed) == CONTACTS - 3
    assert listed == sorted(_live(hubspot), key=int)
    archived = _list_all(hubspot, portal, archived="true")
    assert archived == gone


def test_keyset_search_walks_the_whole_portal(hubspot, portal):
    assert _keyset(hubspot, portal, []) == sorted(_live(hubspot), key=int)
    newest = _search(
        hubspot,
        portal,
        {
            "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
            "limit": 50,
            "after": "10",
        },
    )
    assert newest["total"] == CONTACTS
    everyone = sorted(_live(hubspot), key=int, reverse=True)
    assert [r["id"] for r in newest["results"]] == everyone[10:60]


def test_filtered_searches_find_what_a_scan_finds(hubspot, portal):
    live = _live(hubspot)
    statuses = ["new", "connected"]
    wanted = sorted(
        (i for i, p in live.items() if p.get("hs_lead_status") in ("NEW", "CONNECTED")),
        key=int,
    )
    lead_status = {
        "propertyName": "hs_lead_status",
        "operator": "IN",
        "values": statuses,
    }
    assert _keyset(hubspot, portal, [lead_status], limit=100) == wanted

    middle = sorted(live, key=int)[CONTACTS // 2]
    either = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_object_id", "operator": "LTE", "value": middle}
                ]
            },
            {
                "filters": [
                    {"propertyName": "hs_email_open", "operator": "GTE", "value": "8"}
                ]
            },
        ],
        "limit": 200,
    }
    expected = {
        i
        for i, p in live.items()
        if int(i) <= int(middle) or int(p["hs_email_open"]) >= 8
    }
    first = _search(hubspot, portal, either)
    assert first["total"] == len(expected)
    pages = [r["id"] for r in first["results"]]
    after = first["paging"]["next"]["after"]
    while after:
        more = _search(hubspot, portal, {**either, "after": after})
        pages += [r["id"] for r in more["results"]]
        after = more.get("paging", {}).get("next", {}).get("after")
    assert sorted(pages, key=int) == sorted(expected, key=int) and len(pages) == len(
        set(pages)
    )

    cutoff = sorted(p["createdate"] for p in live.values())[CONTACTS // 3]
    moment = datetime.fromisoformat(cutoff).astimezone(UTC)
    recent = _search(
        hubspot,
        portal,
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "createdate",
                            "operator": "GTE",
                            "value": str(int(moment.timestamp() * 1000)),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": "createdate", "direction": "ASCENDING"}],
            "properties": ["createdate"],
            "limit": 100,
        },
    )
    assert recent["total"] == sum(p["createdate"] >= cutoff for p in live.values())
    dates = [r["properties"]["createdate"] for r in recent["results"]]
    assert dates == sorted(dates) and dates[0] == cutoff
