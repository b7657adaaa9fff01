"""POST /leads over the WSGI stack: scores, and every error the design lists."""

import json

import pytest
from flask.testing import FlaskClient

from app.container import services_of
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import IssuedClient
from tests.examples import EXAMPLE_LEADS


def post(client: FlaskClient, body: object, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/leads", data=data, content_type="application/json")


def request_body(issued: IssuedClient, leads: object = EXAMPLE_LEADS, **extra) -> dict:
    return {"api_key": issued.api_key, "email": issued.email, "leads": leads, **extra}


def test_example_request_scores_both_leads(client, scoring_client) -> None:
    response = post(client, request_body(scoring_client))
    assert response.status_code == 200
    body = response.get_json()
    assert body["method"] == "default"
    assert body["client_id"] == scoring_client.client_id
    john, jane = body["scores"]
    assert john["email"] == "john.doe@techcorp.com"
    assert john["label"] in {"Hot Lead", "Warm Lead"}
    assert (jane["score"], jane["label"]) == (53, "Cool Lead")
    for scored in body["scores"]:
        assert [f["key"] for f in scored["factors"]] == list(FACTOR_KEYS)
        for factor in scored["factors"]:
            assert factor["contribution"] == pytest.approx(
                factor["weight"] * factor["value"], abs=1e-4
            )


def test_email_match_is_case_insensitive_and_client_id_identifies(
    client, scoring_client
) -> None:
    body = request_body(scoring_client, email="Sales@YourCompany.com")
    assert post(client, body).status_code == 200
    body = request_body(
        scoring_client, email="x@y.z", client_id=scoring_client.client_id
    )
    assert post(client, body).status_code == 200


def test_unknown_fields_are_ignored(client, scoring_client) -> None:
    leads = [{"email": "a@b.co", "favourite": {"deep": [1, 2]}, "score": "high"}]
    response = post(client, request_body(scoring_client, leads, extra_field=1))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"{not json", 400, "Invalid request body"),
        (b"", 400, "Invalid request body"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b'{"leads": [{}], "api_key": 1e999}', 400, "Invalid request body"),
        (b'{"leads": [{"email_open_count": NaN}]}', 400, "Invalid request body"),
    ],
)
def test_malformed_bodies(client, raw: bytes, status: int, message: str) -> None:
    response = post(client, None, raw=raw)
    assert response.status_code == status
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"api_key": None}, 401, "api_key and email required"),
        ({"email": ""}, 401, "api_key and email required"),
        ({"api_key": 123}, 401, "api_key and email required"),
        ({"api_key": "ck_wrong"}, 401, "Invalid API key"),
        ({"email": "someone@else.com"}, 401, "Invalid API key"),
        ({"client_id": "cl_other"}, 401, "Invalid API key"),
        ({"client_id": 5}, 400, "client_id must be a string"),
        ({"leads": []}, 400, "No leads provided"),
        ({"leads": None}, 400, "No leads provided"),
        ({"leads": {"email": "a@b.co"}}, 400, "leads must be an array"),
        ({"leads": [{"email": "a@b.co"}, "lead"]}, 400, "leads[1] must be an object"),
        ({"leads": [{}, {}, {"company": {"n": 1}}]}, 400, "leads[2].company must be"),
        (
            {"leads": [{"email_open_count": "lots"}]},
            400,
            "leads[0].email_open_count must be a number",
        ),
        ({"leads": [{"create_date": [2024]}]}, 400, "leads[0].create_date must be"),
        ({"leads": [{"email": True}]}, 400, "leads[0].email must be a string"),
    ],
)
def test_error_cases(client, scoring_client, change, status, message) -> None:
    body = request_body(scoring_client)
    body.update(change)
    response = post(client, body)
    assert response.status_code == status, response.get_json()
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    "lead",
    [
        {"email_open_count": "12", "email_click_count": "3", "num_deals": "1"},
        {"email_open_count": 10**18, "num_deals": -(10**18), "deal_amount": 1e308},
        {"phone": 15551234567, "create_date": 1733011200000},
        {"create_date": "not a date", "notes_last_updated": "2025-99-99"},
        {"deal_amount": {"weird": True}, "employee_count": {"x": 1}},
    ],
)
def test_odd_but_readable_values_score(client, scoring_client, lead) -> None:
    response = post(client, request_body(scoring_client, [lead]))
    assert response.status_code == 200, response.get_json()
    assert 0 <= response.get_json()["scores"][0]["score"] <= 100


def test_batch_limit(client, scoring_client, app) -> None:
    limit = app.config["MAX_LEADS_PER_REQUEST"]
    assert limit == 10_000
    response = post(client, request_body(scoring_client, [{}] * limit))
    assert response.status_code == 200
    assert len(response.get_json()["scores"]) == limit
    response = post(client, request_body(scoring_client, [{}] * (limit + 1)))
    assert response.status_code == 413
    assert "10001" in response.get_json()["error"]


def test_body_size_limit(client, scoring_client) -> None:
    padding = "x" * (20 * 1024 * 1024)
    response = post(client, request_body(scoring_client, [{"notes": padding}]))
    assert response.status_code == 413
    assert "Request body too large" in response.get_json()["error"]


def test_wrong_method_and_preflight(client) -> None:
    response = client.get("/leads")
    assert response.status_code == 405
    assert response.get_json() == {"error": "Method not allowed"}
    assert "POST" in response.headers["Allow"]
    preflight = client.options("/leads", headers={"Origin": "https://app.conturs.com"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.conturs.com"
    other = client.options("/leads", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_other_routes_answer_json(client) -> None:
    assert client.get("/health").get_json()["status"] == "healthy"
    assert client.get("/nope").get_json() == {"error": "Not found"}
    assert client.post("/health").status_code == 405


def test_pinned_weights_are_used(client, app) -> None:
    from app.services.learning.clients import create_client

    weights = {"lead_status": 1.0}
    issued = create_client(services_of(app).sessions, "p@x.io", weights)
    body = request_body(issued, [{"lead_status": "qualified"}, {"lead_status": "new"}])
    response = post(client, body).get_json()
    assert response["method"] == "custom"
    assert [s["score"] for s in response["scores"]] == [100, 30]
