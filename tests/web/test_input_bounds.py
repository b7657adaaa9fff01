"""Hostile input at the edge: identity fields beyond their limits or holding text a
database cannot store are refused with 400 naming the field before any cache or
store sees them, and values of the wrong JSON type (true as a factor value, false
as a size range) are refused instead of being read as numbers. On every backend:
PostgreSQL is where a NUL used to fail."""

import json
import secrets

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.container import services_of
from app.models import Client
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import IssuedClient
from app.web.identity import IDENTITY_LIMITS

FACTORS = dict.fromkeys(FACTOR_KEYS, 0.5)
HUGE = 15 * 2**20  # characters: below the 16 MB body limit, far beyond any identity


def post(client: FlaskClient, path: str, body: dict):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def leads_body(issued: IssuedClient, **changes) -> dict:
    body = {
        "api_key": issued.api_key,
        "email": issued.email,
        "leads": [{"email": "ann@lead.example", "lead_status": "new"}],
    }
    return {**body, **changes}


def feedback_body(issued: IssuedClient, **changes) -> dict:
    body = {
        "api_key": issued.api_key,
        "client_id": issued.client_id,
        "lead_id": "ann@lead.example",
        "action": "converted",
        "factors": FACTORS,
    }
    return {**body, **changes}


def error_of(response) -> str:
    return response.get_json()["error"]


def test_a_huge_email_with_a_random_key_is_refused_before_the_key_cache(
    app, client
) -> None:
    configs = services_of(app).configs
    random_key = "ck_" + secrets.token_urlsafe(32)
    response = post(
        client,
        "/leads",
        {"api_key": random_key, "email": "x" * HUGE + "@a.co", "leads": [{}]},
    )
    assert response.status_code == 400
    assert "email" in error_of(response) and "320" in error_of(response)
    assert configs._unknown == {}  # nothing was looked up, nothing remembered

    # A rejection within the limits is remembered by a fixed-size digest only.
    response = post(
        client, "/leads", {"api_key": random_key, "email": "a@b.co", "leads": [{}]}
    )
    assert response.status_code == 401
    assert [len(key) for key in configs._unknown] == [32]
    assert all(type(key) is bytes for key in configs._unknown)


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("api_key", IDENTITY_LIMITS["api_key"] + 1),
        ("email", IDENTITY_LIMITS["email"] + 1),
        ("client_id", IDENTITY_LIMITS["client_id"] + 1),
    ],
)
def test_leads_identity_fields_beyond_their_limit_are_400_naming_them(
    client, scoring_client, field, length
) -> None:
    response = post(
        client, "/leads", leads_body(scoring_client, **{field: "a" * length})
    )
    assert response.status_code == 400
    assert error_of(response).startswith(f"{field} is too long")
    at_limit = "a" * (length - 1)
    response = post(client, "/leads", leads_body(scoring_client, **{field: at_limit}))
    assert response.status_code == 401  # within the limit: only the wrong identity


@pytest.mark.parametrize("field", ["api_key", "email", "client_id"])
def test_leads_identity_with_nul_is_400_naming_the_field(
    client, scoring_client, field
) -> None:
    value = getattr(scoring_client, field) + "\x00"
    response = post(client, "/leads", leads_body(scoring_client, **{field: value}))
    assert response.status_code == 400
    assert error_of(response) == f"{field} must not contain NUL characters"


def test_config_email_with_nul_never_reaches_the_database(app, client) -> None:
    response = post(client, "/config", {"email": "owner\x00@acme.com"})
    assert response.status_code == 400
    assert "email" in error_of(response) and "NUL" in error_of(response)
    with services_of(app).sessions() as session:
        assert session.scalars(select(Client)).all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a" * 321 + "@acme.com"},
        {"email": "owner@acme.com", "api_key": "ck_" + "a" * 126},
        {"email": "owner@acme.com", "api_key": "ck_\x00"},
    ],
)
def test_config_identity_beyond_limits_is_400(client, body) -> None:
    response = post(client, "/config", body)
    assert response.status_code == 400
    field = "api_key" if "api_key" in body else "email"
    assert f"body: {field}:" in error_of(response)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lead_id": "lead\x00@x.co"}, "lead_id"),
        ({"lead_id": "a" * 321}, "lead_id"),
        ({"client_id": "cl_" + "0" * 38}, "client_id"),
        ({"client_id": "cl_\x00"}, "client_id"),
        ({"api_key": "ck_" + "a" * 126}, "api_key"),
        ({"action": "converted" * 10}, "action"),
    ],
)
def test_feedback_identity_beyond_limits_is_400_naming_the_field(
    client, scoring_client, changes, field
) -> None:
    response = post(client, "/feedback", feedback_body(scoring_client, **changes))
    assert response.status_code == 400
    assert f"body: {field}:" in error_of(response)


@pytest.mark.parametrize("value", [True, False, "0.5"])
def test_a_factor_value_must_be_a_json_number(client, scoring_client, value) -> None:
    factors = {**FACTORS, "lead_status": value}
    response = post(client, "/feedback", feedback_body(scoring_client, factors=factors))
    assert response.status_code == 400
    assert "factors.lead_status" in error_of(response)


def test_whole_numbers_are_still_factor_values(client, scoring_client) -> None:
    factors = {**FACTORS, "lead_status": 1, "recency_score": 0}
    response = post(client, "/feedback", feedback_body(scoring_client, factors=factors))
    assert response.status_code == 200


def register(client: FlaskClient, **profile) -> dict:
    response = post(client, "/config", {"email": "owner@acme.com", "profile": profile})
    return response


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        ({"company_size": False}, "profile.company_size"),
        ({"icp_company_sizes": True}, "profile.icp_company_sizes"),
        ({"icp_company_sizes": 50.5}, "profile.icp_company_sizes"),
        ({"icp_industries": ["Retail"] * 51}, "profile.icp_industries"),
        ({"icp_industries": ["Retail", "r" * 101]}, "profile.icp_industries.1"),
        ({"icp_industries": ["Ret\x00ail"]}, "profile.icp_industries.0"),
        ({"industry": "Retail\x00"}, "profile.industry"),
        ({"industry": "x" * 101}, "profile.industry"),
        ({"country": "DE\x00"}, "profile.country"),
        ({"company_size": "5" * 101}, "profile.company_size"),
    ],
)
def test_profile_fields_beyond_limits_are_400_naming_the_field(
    app, client, profile, field
) -> None:
    response = register(client, **profile)
    assert response.status_code == 400
    assert f"body: {field}:" in error_of(response)
    with services_of(app).sessions() as session:
        assert session.scalars(select(Client)).all() == []


def test_an_icp_list_is_stored_as_its_distinct_verticals(app, client) -> None:
    industries = [
        "Retail",
        "retail",
        " Retail ",
        "E-commerce",
        "Hospital & Health Care",
    ]
    response = register(client, icp_industries=industries * 10)  # 50 entries
    assert response.status_code == 201, response.get_json()
    stated = response.get_json()["profile"]["icp_industries"]
    with services_of(app).sessions() as session:
        client_row = session.scalars(select(Client)).one()
        assert client_row.stated_profile["icp_industries"] == stated
    assert len(stated) == len(set(stated)) <= 3


def test_sizes_may_be_integers_or_whole_numbers(client) -> None:
    response = register(client, company_size=40, icp_company_sizes=500.0)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["profile"]["icp_company_sizes"] == "500-500"
