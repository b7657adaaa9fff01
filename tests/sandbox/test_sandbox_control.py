"""The `/_control/` HTTP interfaces: everything a demo or another process needs
without importing the sandbox — accounts, tokens, seeding, a user's edits,
faults, webhooks, and what the app called and wrote."""

import json

import requests

HUB = 51950523


def test_hubspot_control_over_http(hubspot, receiver):
    base = f"{hubspot.base_url}/_control"
    assert (
        requests.post(f"{base}/accounts", json={"hub_id": HUB}, timeout=5).status_code
        == 201
    )
    token = requests.post(f"{base}/accounts/{HUB}/tokens", timeout=5).json()
    assert token["expires_in"] == 1800
    seeded = requests.post(
        f"{base}/accounts/{HUB}/seed", timeout=5, json={"contacts": 10, "deals": 4}
    ).json()
    assert seeded == {"contacts": 10, "deals": 4, "companies": 1}
    hooks = requests.put(
        f"{base}/webhooks",
        timeout=5,
        json={
            "targetUrl": f"{receiver.base_url}/hooks",
            "subscriptions": [
                {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"}
            ],
        },
    ).json()
    assert hooks["subscriptions"][0]["id"]
    contact = requests.post(
        f"{base}/accounts/{HUB}/contacts",
        timeout=5,
        json={"properties": {"email": "ui@acme.ua", "hs_lead_status": "NEW"}},
    ).json()
    bounced = requests.post(
        f"{base}/accounts/{HUB}/contacts/{contact['id']}/bounce", timeout=5
    ).json()
    assert bounced["properties"]["hs_email_bounce"] == "1"
    bad = requests.post(
        f"{base}/accounts/{HUB}/contacts",
        timeout=5,
        json={"properties": {"hs_lead_status": "HOT"}},
    )
    assert bad.status_code == 400
    deal = requests.post(
        f"{base}/accounts/{HUB}/deals",
        timeout=5,
        json={
            "properties": {"dealname": "UI deal", "dealstage": "qualifiedtobuy"},
            "contact_ids": [contact["id"]],
        },
    ).json()
    moved = requests.post(
        f"{base}/accounts/{HUB}/deals/{deal['id']}/stage",
        json={"stage": "closedlost"},
        timeout=5,
    ).json()
    assert moved["properties"]["hs_is_closed"] == "true"
    assert moved["properties"]["hs_is_closed_won"] == "false"
    assert (
        requests.put(
            f"{base}/accounts/{HUB}/faults", json={"force_429": 1}, timeout=5
        ).json()["force_429"]
        == 1
    )
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    assert (
        api.get(f"{hubspot.base_url}/crm/v3/objects/deals", timeout=5).status_code
        == 429
    )
    api.patch(
        f"{hubspot.base_url}/crm/v3/objects/contacts/{contact['id']}",
        json={"properties": {"firstname": "Api"}},
        timeout=5,
    )
    api.close()
    calls = requests.get(f"{base}/accounts/{HUB}/calls", timeout=5).json()
    assert calls == {
        "GET /crm/v3/objects/deals": 1,
        "PATCH /crm/v3/objects/contacts/<object_id>": 1,
    }
    writes = requests.get(f"{base}/accounts/{HUB}/writes", timeout=5).json()
    assert [(w["action"], w["properties"]) for w in writes] == [
        ("update", {"firstname": "Api"})
    ]
    assert hubspot.webhooks.wait_idle()
    stages = [
        e["propertyValue"]
        for r in requests.get(f"{base}/webhooks/deliveries", timeout=5).json()
        for e in json.loads(r["body"])
    ]
    assert stages == ["qualifiedtobuy", "closedlost"]
    assert requests.get(f"{base}/accounts/999/calls", timeout=5).status_code == 404


def test_uspacy_control_over_http(uspacy, receiver):
    base = f"{uspacy.base_url}/_control"
    domain = "shop.uspacy.ua"
    assert (
        requests.post(f"{base}/portals", json={"domain": domain}, timeout=5).status_code
        == 201
    )
    installed = requests.post(f"{base}/portals/{domain}/install", timeout=5).json()
    assert installed["app_status"] == 204
    assert requests.post(
        f"{base}/portals/{domain}/seed", json={"leads": 4, "deals": 2}, timeout=5
    ).json() == {"leads": 4, "deals": 2}
    lead = requests.post(
        f"{base}/portals/{domain}/leads", json={"title": "Hi"}, timeout=5
    ).json()
    stage = uspacy.store.portals[domain].funnels["leads"][0]["stages"][3]
    moved = requests.post(
        f"{base}/portals/{domain}/leads/{lead['id']}/stage",
        json={"stage_id": stage["id"]},
        timeout=5,
    ).json()
    assert moved["kanban_status"] == "SUCCESS"
    knobs = requests.put(
        f"{base}/portals/{domain}/knobs", json={"rate_limit": 2}, timeout=5
    ).json()
    assert knobs == {"rate_limit": 2}
    assert (
        requests.put(
            f"{base}/portals/{domain}/knobs", json={"nope": 1}, timeout=5
        ).status_code
        == 400
    )


def test_hubspot_token_and_knob_controls_over_http(hubspot):
    base = f"{hubspot.base_url}/_control/accounts"
    minted = requests.post(
        f"{base}/{HUB}/tokens",
        json={"scopes": ["oauth"], "optional_scopes": ["crm.objects.deals.read"]},
        timeout=5,
    ).json()
    assert minted["hub_id"] == HUB and minted["token_use"] == "access_token"
    assert minted["scopes"] == ["crm.objects.deals.read", "oauth"]
    bad = requests.post(f"{base}/{HUB}/tokens", json={"scopes": "oauth"}, timeout=5)
    assert bad.status_code == 400
    assert requests.get(f"{base}/{HUB}/knobs", timeout=5).json() == {
        "access_token_seconds": 1800,
        "search_index_delay": 2.0,
        "unavailable_scopes": [],
        "rotate_refresh_tokens": False,
    }
    unknown = requests.put(f"{base}/{HUB}/knobs", json={"nope": 1}, timeout=5)
    assert unknown.status_code == 400
    assert requests.get(f"{base}/999999/knobs", timeout=5).status_code == 404
    assert requests.get(f"{base}/{HUB}/token-calls", timeout=5).json() == {
        "counts": {},
        "log": [],
    }
