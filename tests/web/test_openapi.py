"""/openapi.json is a valid OpenAPI 3.1 document that real responses conform to."""

import json

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import (
    WerkzeugOpenAPIRequest,
    WerkzeugOpenAPIResponse,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.examples import EXAMPLE_LEADS


@pytest.fixture
def spec(client) -> OpenAPI:
    return OpenAPI.from_dict(client.get("/openapi.json").get_json())


def check(spec: OpenAPI, client, method: str, path: str, body: object = None) -> int:
    data = None if body is None else json.dumps(body)

    def build() -> EnvironBuilder:
        return EnvironBuilder(
            path=path,
            method=method,
            data=data,
            content_type="application/json",
            base_url="http://localhost",
        )

    request = Request(build().get_environ())
    response = client.open(build())
    spec.validate_response(
        WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response)
    )
    return response.status_code


def test_responses_match_the_document(spec, client, scoring_client) -> None:
    good = {
        "api_key": scoring_client.api_key,
        "email": scoring_client.email,
        "leads": EXAMPLE_LEADS,
    }
    assert check(spec, client, "GET", "/health") == 200
    assert check(spec, client, "POST", "/leads", good) == 200
    assert check(spec, client, "POST", "/leads", {**good, "api_key": "x"}) == 401
    assert check(spec, client, "POST", "/leads", {**good, "leads": []}) == 400
    assert (
        check(spec, client, "POST", "/leads", {**good, "leads": [{}] * 10_001}) == 413
    )


def test_config_api_responses_match_the_document(spec, client) -> None:
    registered = client.post("/config", json={"email": "o@acme.com"}).get_json()
    assert (
        check(
            spec,
            client,
            "POST",
            "/config",
            {"email": "n@acme.com", "profile": {"industry": "Retail"}},
        )
        == 201
    )
    assert (
        check(
            spec,
            client,
            "POST",
            "/config",
            {"email": "o@acme.com", "api_key": registered["api_key"]},
        )
        == 200
    )
    assert check(spec, client, "POST", "/config", {"email": "o@acme.com"}) == 401
    feedback = {
        "api_key": registered["api_key"],
        "client_id": registered["client_id"],
        "lead_id": "x@y.com",
        "action": "converted",
    }
    assert check(spec, client, "POST", "/feedback", feedback) == 422
    factors = dict.fromkeys(
        spec.spec["components"]["schemas"]["Weights"]["required"], 0.5
    )
    assert (
        check(spec, client, "POST", "/feedback", {**feedback, "factors": factors})
        == 200
    )
    assert (
        check(spec, client, "POST", "/feedback", {**feedback, "action": "won"}) == 400
    )
