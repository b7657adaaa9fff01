"""DELETE /feedback on the Config API: authenticated like POST /feedback, keyed like
it (the same lead_id finds the same outcomes), limited to the caller's own rows,
clear 400s and 401s, rate-limited together with POST /feedback, and answered as
/openapi.json says."""

import json

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import (
    WerkzeugOpenAPIRequest,
    WerkzeugOpenAPIResponse,
)
from sqlalchemy import select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app import create_app
from app.container import services_of
from app.migrations import upgrade
from app.models import Feedback
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import IssuedClient, create_client
from tests.conftest import app_settings, close_app

FACTORS = dict.fromkeys(FACTOR_KEYS, 0.5)


def _post(client, issued: IssuedClient, lead_id: str | int, action: str) -> None:
    body = {
        "api_key": issued.api_key,
        "client_id": issued.client_id,
        "lead_id": lead_id,
        "action": action,
        "factors": FACTORS,
    }
    assert client.post("/feedback", json=body).status_code == 200


def _delete(client, body: object, **environ):
    return client.delete("/feedback", json=body, environ_base=environ)


def _actions(app, client_id: str) -> list[str]:
    with services_of(app).sessions() as session:
        return sorted(
            session.scalars(
                select(Feedback.action).where(Feedback.client_id == client_id)
            )
        )


@pytest.fixture
def other_client(app) -> IssuedClient:
    return create_client(services_of(app).sessions, "owner@other.io")


def test_delete_retracts_one_action_or_forgets_the_lead(
    app, client, scoring_client: IssuedClient, other_client: IssuedClient
) -> None:
    for issued in (scoring_client, other_client):
        for action in ("converted", "clicked", "replied"):
            _post(client, issued, "Jane@Startup.io", action)
        _post(client, issued, 4711, "converted")  # an integer id of the integrator
    auth = {"api_key": scoring_client.api_key, "client_id": scoring_client.client_id}

    # The email normalised as POST /feedback keys it; only the named action goes.
    one = _delete(client, {**auth, "lead_id": "jane@startup.io", "action": "clicked"})
    assert one.status_code == 200 and one.get_json() == {"deleted": 1}
    assert _actions(app, scoring_client.client_id) == [
        "converted",
        "converted",
        "replied",
    ]
    again = _delete(client, {**auth, "lead_id": "jane@startup.io", "action": "clicked"})
    assert again.get_json() == {"deleted": 0}

    every = _delete(client, {**auth, "lead_id": "JANE@startup.io"})
    assert every.status_code == 200 and every.get_json() == {"deleted": 2}
    by_number = _delete(client, {**auth, "lead_id": 4711, "action": "converted"})
    assert by_number.get_json() == {"deleted": 1}
    assert _actions(app, scoring_client.client_id) == []
    # The other client's rows for the very same leads are all still there.
    assert _actions(app, other_client.client_id) == [
        "clicked",
        "converted",
        "converted",
        "replied",
    ]


def test_bad_requests_are_refused_clearly(
    app, client, scoring_client: IssuedClient, other_client: IssuedClient
) -> None:
    _post(client, scoring_client, "jane@startup.io", "converted")
    auth = {"api_key": scoring_client.api_key, "client_id": scoring_client.client_id}
    lead = {"lead_id": "jane@startup.io"}

    unknown = _delete(client, {**auth, **lead, "action": "won"})
    assert unknown.status_code == 400 and "converted" in unknown.get_json()["error"]
    for body, field in (
        ({**auth}, "lead_id"),
        ({**auth, "lead_id": ""}, "lead_id"),
        ({**auth, "lead_id": "x" * 321}, "lead_id"),
        ({**auth, **lead, "action": 5}, "action"),
        ({**auth, **lead, "action": "c" * 33}, "action"),
    ):
        refused = _delete(client, body)
        assert refused.status_code == 400 and field in refused.get_json()["error"]
    not_json = client.delete("/feedback", data=b"{", content_type="application/json")
    assert not_json.status_code == 400
    assert _delete(client, [auth]).status_code == 400

    assert _delete(client, lead).get_json() == {
        "error": "api_key and client_id required"
    }
    wrong_key = {**auth, **lead, "api_key": "ck_wrong"}
    assert _delete(client, wrong_key).status_code == 401
    # A client's key cannot remove through another client's id, nor the reverse.
    crossed = {**auth, **lead, "client_id": other_client.client_id}
    assert _delete(client, crossed).status_code == 401
    assert _actions(app, scoring_client.client_id) == ["converted"]


def test_answers_match_the_document(client, scoring_client: IssuedClient) -> None:
    spec = OpenAPI.from_dict(client.get("/openapi.json").get_json())
    auth = {"api_key": scoring_client.api_key, "client_id": scoring_client.client_id}

    def check(body: object) -> int:
        def build() -> EnvironBuilder:
            return EnvironBuilder(
                path="/feedback",
                method="DELETE",
                data=json.dumps(body),
                content_type="application/json",
                base_url="http://localhost",
            )

        response = client.open(build())
        spec.validate_response(
            WerkzeugOpenAPIRequest(Request(build().get_environ())),
            WerkzeugOpenAPIResponse(response),
        )
        return response.status_code

    assert check({**auth, "lead_id": "a@b.co"}) == 200
    assert check({**auth, "lead_id": "a@b.co", "action": "bounced"}) == 200
    assert check({**auth, "lead_id": "a@b.co", "action": "won"}) == 400
    assert check({**auth, "api_key": "ck_x", "lead_id": "a@b.co"}) == 401


def test_post_and_delete_share_one_rate_limit(database_url: str, tmp_path) -> None:
    app = create_app(
        app_settings(
            tmp_path / "instance",
            DATABASE_URL=database_url,
            FEEDBACK_RATE_LIMIT="4/minute",
            AUTH_FAILURE_RATE_LIMIT="3/minute",
        )
    )
    upgrade(services_of(app).engine)
    try:
        client = app.test_client()
        issued = create_client(services_of(app).sessions, "owner@acme.com")
        auth = {"api_key": issued.api_key, "client_id": issued.client_id}
        caller = {"REMOTE_ADDR": "198.51.100.7"}
        for n in range(2):
            body = {**auth, "lead_id": f"{n}@x.io", "action": "converted"}
            posted = client.post(
                "/feedback", json={**body, "factors": FACTORS}, environ_base=caller
            )
            assert posted.status_code == 200
            assert _delete(client, body, **caller).status_code == 200
        limited = _delete(client, {**auth, "lead_id": "a@b.co"}, **caller)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # Failed keys on DELETE count with the other routes' failures.
        guesser = {"REMOTE_ADDR": "198.51.100.66"}
        wrong = {**auth, "api_key": "ck_guess", "lead_id": "a@b.co"}
        statuses = [_delete(client, wrong, **guesser).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        assert (
            client.post(
                "/config",
                json={"email": "owner@acme.com", "api_key": "ck_guess"},
                environ_base=guesser,
            ).status_code
            == 429
        )
    finally:
        close_app(app)
