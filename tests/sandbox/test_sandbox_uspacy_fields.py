"""Record writes through the Uspacy API are checked against the portal's fields
(unknown codes, read-only and pipeline keys, value types), and every accepted
write, the app's own score writes included, fires the update webhook."""

import json
from collections.abc import Iterator

import pytest
import requests

from app.sandbox import ManualClock, UspacySandbox

DOMAIN = "acme.uspacy.ua"


@pytest.fixture
def api(receiver, clock: ManualClock) -> Iterator[requests.Session]:
    """An HTTP client on one portal of a strict emulation, with a `lead_score` field."""
    sandbox = UspacySandbox(clock=clock, retry_delays=(0.05,))
    sandbox.start()
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        session.base = f"{sandbox.portal_base_url(DOMAIN)}/crm/v1/entities"
        session.sandbox = sandbox
        made = session.post(
            f"{session.base}/leads/fields",
            json={"name": "Lead score", "code": "lead_score", "type": "integer"},
            timeout=5,
        )
        assert made.status_code == 201
        yield session
    sandbox.stop()


def _lead(api) -> int:
    made = api.post(f"{api.base}/leads", json={"title": "Enquiry"}, timeout=5)
    assert made.status_code == 201
    return made.json()["id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"lead_scor": 87}, "lead_scor"),
        ({"lead_score": "87"}, "lead_score"),
        ({"lead_score": 87.5}, "lead_score"),
        ({"lead_score": True}, "lead_score"),
        ({"id": 5}, "id"),
        ({"kanban_stage_id": 12}, "kanban_stage_id"),
        ({"email": "a@b.c"}, "email"),
        ({"source": "fax"}, "source"),
        ({"owner": "1"}, "owner"),
        ({"title": 5}, "title"),
        ({"converted": "yes"}, "converted"),
    ],
)
def test_bad_writes_get_422_naming_the_field(api, body, code):
    lead = _lead(api)
    answer = api.patch(f"{api.base}/leads/{lead}", json=body, timeout=5)
    assert answer.status_code == 422
    assert answer.json()["status"] is False and code in answer.json()["errors"]
    stored = api.get(f"{api.base}/leads/{lead}", timeout=5).json()
    assert stored["updated_at"] == stored["created_at"]
    assert api.post(f"{api.base}/leads", json=body, timeout=5).status_code == 422


def test_good_writes_are_stored_in_read_form(api):
    lead = _lead(api)
    answer = api.patch(
        f"{api.base}/leads/{lead}",
        json={
            "lead_score": 87,
            "source": "site",
            "lead_label": ["hot"],
            "email": [{"value": "o@acme.ua", "type": "work"}],
            "comments": None,
        },
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["lead_score"] == 87
    assert [(s["value"], s["selected"]) for s in record["source"]] == [("site", True)]
    assert record["lead_label"][0]["value"] == "hot"
    deal = api.post(
        f"{api.base}/deals",
        json={"amount": {"currency": "UAH", "value": "15000"}},
        timeout=5,
    )
    assert deal.status_code == 201
    wrong = api.post(
        f"{api.base}/deals",
        json={"amount": {"currency": "UAH", "value": 15000}},
        timeout=5,
    )
    assert wrong.status_code == 422


def test_custom_fields_need_a_known_type_and_a_snake_case_code(api):
    bad_type = api.post(
        f"{api.base}/leads/fields",
        json={"name": "Score", "code": "score2", "type": "number"},
        timeout=5,
    )
    assert bad_type.status_code == 422 and "type" in bad_type.json()["errors"]
    bad_code = api.post(
        f"{api.base}/leads/fields",
        json={"name": "Score", "code": "Lead Score", "type": "integer"},
        timeout=5,
    )
    assert bad_code.status_code == 422 and "code" in bad_code.json()["errors"]
    required = api.post(
        f"{api.base}/deals/fields",
        json={"name": "Budget", "code": "budget", "type": "float", "required": True},
        timeout=5,
    )
    assert required.status_code == 201
    assert api.post(f"{api.base}/deals", json={}, timeout=5).status_code == 422
    assert (
        api.post(f"{api.base}/deals", json={"budget": 1.5}, timeout=5).status_code
        == 201
    )


def test_the_apps_own_score_write_fires_an_update_event(api, receiver):
    sandbox = api.sandbox
    hooks = f"{sandbox.portal_base_url(DOMAIN)}/company/v1/webhooks"
    api.post(
        hooks,
        json={
            "url": f"{receiver.base_url}/hook",
            "events": [
                {"service": "crm", "table_name": "leads", "actions": ["update"]}
            ],
        },
        timeout=5,
    )
    assert sandbox.webhooks.wait_idle()
    link = json.loads(receiver.bodies("/hook")[0])["validation_link"]
    assert requests.get(link, timeout=5).status_code == 200
    lead = _lead(api)
    api.patch(f"{api.base}/leads/{lead}", json={"lead_score": 87}, timeout=5)
    api.patch(f"{api.base}/leads/{lead}", json={"lead_score": "x"}, timeout=5)
    api.patch(f"{api.base}/leads/{lead}", json={"lead_score": 87}, timeout=5)
    assert sandbox.webhooks.wait_idle()
    events = [json.loads(b) for b in receiver.bodies("/hook")][1:]
    assert len(events) == 2  # the refused write fired nothing; a no-op write did
    first = events[0]["data"]
    assert (first["action"], first["user_id"]) == ("update", 900)
    assert first["entity"]["lead_score"] == 87
    assert first["old_entity"]["lead_score"] is None
