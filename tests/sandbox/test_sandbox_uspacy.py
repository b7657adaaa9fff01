"""The Uspacy emulation against Uspacy's documented behaviour: install/uninstall calls
with an HS256 JWT, rotating refresh, entities, fields, funnels, move-to-stage,
webhooks with the confirmation handshake, retries, and the 429/403 knobs."""

import json

import jwt
import pytest
import requests

DOMAIN = "acme.uspacy.ua"
SECRET = "conturs-uspacy-sandbox-secret-change-me-0001"


@pytest.fixture
def api(uspacy):
    """A session holding a portal access token, plus the base URL."""
    pair = uspacy.mint_tokens(DOMAIN)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {pair['jwt']}"
        session.base = uspacy.portal_base_url(DOMAIN)
        session.pair = pair
        yield session


def _url(api, path: str) -> str:
    return f"{api.base}{path}"


def test_install_jwt_verifies_with_the_shared_secret_only(uspacy, receiver):
    answer = uspacy.install(DOMAIN)
    assert answer.status_code == 204
    [call] = [r for r in receiver.requests if r.path == "/uspacy/v1/portals/install"]
    assert call.method == "POST"
    token = call.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"require": ["exp", "nbf", "iat"]}
    )
    assert claims["domain"] == DOMAIN
    assert jwt.get_unverified_header(token)["domain"] == DOMAIN
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another-secret-of-the-same-length-00000001", algorithms=["HS256"]
        )
    body = json.loads(call.body)
    assert set(body) == {"token", "refresh_token", "expiry_date"}
    me = requests.get(
        f"{uspacy.portal_base_url(DOMAIN)}/company/v1/users/me",
        timeout=5,
        headers={"Authorization": f"Bearer {body['token']}"},
    )
    assert me.status_code == 200 and me.json()["id"] == 900
    uspacy.uninstall(DOMAIN)
    removed = [r for r in receiver.requests if r.path == "/uspacy/v1/portals/uninstall"]
    assert removed[0].method == "DELETE"
    after = requests.get(
        f"{uspacy.portal_base_url(DOMAIN)}/company/v1/users/me",
        timeout=5,
        headers={"Authorization": f"Bearer {body['token']}"},
    )
    assert after.status_code == 401 and after.json() == {"message": "Unauthorized"}


def test_refresh_rotates_and_old_refresh_token_dies(uspacy, api, clock):
    old = api.pair["refreshToken"]
    fresh = requests.post(
        _url(api, "/auth/v1/auth/refresh_token"),
        timeout=5,
        headers={"Authorization": f"Bearer {old}"},
    )
    assert fresh.status_code == 200
    pair = fresh.json()
    assert set(pair) == {"jwt", "refreshToken", "expireInSeconds"}
    assert pair["expireInSeconds"] == 86400 and pair["refreshToken"] != old
    again = requests.post(
        _url(api, "/auth/v1/auth/refresh_token/"),
        timeout=5,
        headers={"Authorization": f"Bearer {old}"},
    )
    assert again.status_code == 401
    clock.advance(86401)
    expired = requests.get(
        _url(api, "/company/v1/users/me"),
        timeout=5,
        headers={"Authorization": f"Bearer {pair['jwt']}"},
    )
    assert expired.status_code == 401
    uspacy.knobs(DOMAIN, tariff_exceeded=True)
    tariff = requests.post(
        _url(api, "/auth/v1/auth/refresh_token"),
        timeout=5,
        headers={"Authorization": f"Bearer {pair['refreshToken']}"},
    )
    assert tariff.status_code == 403
    assert tariff.json()["errors"]["text"] == [
        "The number of users in the tariff is exceeded!"
    ]


def test_entities_paging_patch_and_trailing_slashes(uspacy, api):
    uspacy.seed(DOMAIN, leads=7, deals=0)
    first = api.get(
        _url(api, "/crm/v1/entities/leads"),
        params={"page": 1, "list": 5, "sort_by[created_at]": "desc"},
        timeout=5,
    ).json()
    assert len(first["data"]) == 5
    assert first["meta"]["total"] == 7 and first["meta"]["last_page"] == 2
    assert first["links"]["next"] and first["links"]["prev"] is None
    second = api.get(
        _url(api, "/crm/v1/entities/leads/"), params={"page": 2, "list": 5}, timeout=5
    ).json()
    assert len(second["data"]) == 2 and second["links"]["next"] is None
    lead_id = second["data"][0]["id"]
    score = {"name": "Lead score", "code": "lead_score", "type": "integer"}
    api.post(_url(api, "/crm/v1/entities/leads/fields"), json=score, timeout=5)
    patched = api.patch(
        _url(api, f"/crm/v1/entities/leads/{lead_id}/"),
        json={"lead_score": 87},
        timeout=5,
    ).json()
    assert patched["lead_score"] == 87 and patched["changed_by"] == 900
    bare = api.get(_url(api, f"/crm/v1/entities/leads/{lead_id}"), timeout=5).json()
    assert bare["id"] == lead_id and bare["email"][0]["value"]
    assert (
        api.get(_url(api, "/crm/v1/entities/leads/999999"), timeout=5).status_code
        == 404
    )
    created = api.post(
        _url(api, "/crm/v1/entities/contacts"),
        timeout=5,
        json={"first_name": "Olena", "email": [{"value": "o@acme.ua"}]},
    )
    assert created.status_code == 201 and created.json()["email"][0]["main"] is True


def test_fields_create_and_422_on_duplicate_code(api):
    field = {"name": "Lead score", "code": "lead_score", "type": "integer"}
    made = api.post(_url(api, "/crm/v1/entities/leads/fields"), json=field, timeout=5)
    assert made.status_code == 201 and made.json()["system_field"] is False
    dup = api.post(_url(api, "/crm/v1/entities/leads/fields/"), json=field, timeout=5)
    assert dup.status_code == 422
    assert dup.json()["status"] is False and "code" in dup.json()["errors"]
    codes = [
        f["code"]
        for f in api.get(_url(api, "/crm/v1/entities/leads/fields"), timeout=5).json()[
            "data"
        ]
    ]
    assert "lead_score" in codes
    one = api.get(_url(api, "/crm/v1/entities/leads/fields/lead_score"), timeout=5)
    assert one.json()["type"] == "integer"


def test_funnels_stages_and_move_to_success(api):
    funnels = api.get(_url(api, "/crm/v1/entities/deals/funnel"), timeout=5).json()
    stages = {s["stage_code"]: s for s in funnels[0]["stages"]}
    assert {"NEW", "SUCCESS", "FAIL"} <= set(stages)
    by_funnel = api.get(
        _url(api, "/crm/v1/entities/deals/kanban/stage"),
        timeout=5,
        params={"funnel_id": funnels[0]["id"]},
    ).json()["data"]
    assert [s["id"] for s in by_funnel] == [s["id"] for s in funnels[0]["stages"]]
    deal = api.post(
        _url(api, "/crm/v1/entities/deals"), json={"title": "Pilot"}, timeout=5
    ).json()
    assert deal["kanban_status"] == "IN_WORK"
    won = stages["SUCCESS"]
    moved = api.post(
        _url(api, f"/crm/v1/entities/deals/{deal['id']}/move/stage/{won['id']}"),
        json={"reason_id": won["reasons"][0]["id"]},
        timeout=5,
    ).json()
    assert (moved["kanban_stage_id"], moved["kanban_status"]) == (won["id"], "SUCCESS")
    assert moved["kanban_reason_id"] == won["reasons"][0]["id"]
    reasons = api.get(
        _url(api, f"/crm/v1/reasons/{funnels[0]['id']}"), timeout=5
    ).json()
    assert reasons["SUCCESS"] and reasons["FAIL"]


def test_webhook_confirmation_gates_events_and_failures_retry(uspacy, api, receiver):
    hook_url = f"{receiver.base_url}/uspacy/v1/webhooks/k3y"
    made = api.post(
        _url(api, "/company/v1/webhooks"),
        timeout=5,
        json={
            "name": "scores",
            "url": hook_url,
            "active": True,
            "events": [
                {
                    "service": "crm",
                    "type": "entity_crm",
                    "table_name": "deals",
                    "actions": ["create", "update", "delete", "updateStage"],
                }
            ],
        },
    )
    assert made.status_code == 201 and made.json()["confirmed"] is False
    assert uspacy.webhooks.wait_idle()
    uspacy.act_create(DOMAIN, "deals", title="Before confirmation")
    assert uspacy.webhooks.wait_idle()
    bodies = [json.loads(b) for b in receiver.bodies("/uspacy/v1/webhooks/k3y")]
    assert [b["type"] for b in bodies] == ["confirmation"]
    link = bodies[0]["validation_link"]
    assert requests.get(link, timeout=5).status_code == 200
    listed = api.get(_url(api, "/company/v1/webhooks"), timeout=5).json()["data"]
    assert listed[0]["confirmed"] is True
    receiver.statuses = [500]
    deal = uspacy.act_create(DOMAIN, "deals", title="After")
    stage = uspacy.store.portals[DOMAIN].funnels["deals"][0]["stages"][-1]
    uspacy.act_move(DOMAIN, "deals", deal["id"], stage["id"])
    uspacy.act_create(DOMAIN, "leads", title="Not subscribed")
    assert uspacy.webhooks.wait_idle()
    events = [json.loads(b) for b in receiver.bodies("/uspacy/v1/webhooks/k3y")][1:]
    unique = {e["id"]: e for e in events}
    assert sorted(e["data"]["action"] for e in unique.values()) == [
        "create",
        "updateStage",
    ]
    assert len(events) == 3  # the one answered with 500 came again
    failed = [d for d in uspacy.deliveries() if d.get("status") == 500]
    assert [d["attempt"] for d in failed] == [0]
    retried = [d for d in uspacy.deliveries() if d["body"] is failed[0]["body"]]
    assert [d["attempt"] for d in retried] == [0, 1]
    move = next(e for e in events if e["data"]["action"] == "updateStage")
    entity = move["data"]["entity"]
    assert (entity["new_kanban_stage_id"], entity["kanban_status"]) == (
        stage["id"],
        "FAIL",
    )
    assert move["data"]["old_entity"]["kanban_status"] == "IN_WORK"
    assert move["type"] == "entity_crm" and move["data"]["user_id"] == 1


def test_rate_limit_and_non_admin_knobs(uspacy, api):
    uspacy.knobs(DOMAIN, rate_limit=1)
    limited = api.get(_url(api, "/crm/v1/entities/leads"), timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert api.get(_url(api, "/crm/v1/entities/leads"), timeout=5).status_code == 200
    uspacy.knobs(DOMAIN, non_admin=True)
    forbidden = api.post(
        _url(api, "/company/v1/webhooks"),
        timeout=5,
        json={"url": "http://127.0.0.1:9/x", "events": []},
    )
    assert forbidden.status_code == 403
    assert forbidden.json() == {"errors": {"text": ["Forbidden"]}, "status": True}
    assert (
        uspacy.calls(DOMAIN)[
            "GET /crm/v1/entities/<any(leads, contacts, deals, companies):kind>"
        ]
        == 2
    )
