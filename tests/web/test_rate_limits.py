"""Rate limits over HTTP: brute force meets a 429 with Retry-After, per caller
address (never globally), registrations and failed keys are counted per address, a
trusted proxy's X-Forwarded-For names the caller, and RATE_LIMITS_ENABLED=false
limits nothing."""

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import (
    WerkzeugOpenAPIRequest,
    WerkzeugOpenAPIResponse,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app import create_app
from app.container import services_of
from app.migrations import upgrade
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import IssuedClient, create_client
from tests.conftest import app_settings, close_app
from tests.examples import EXAMPLE_LEADS

ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"
PROXY = "192.0.2.1"

MakeApp = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, tmp_path) -> Iterator[MakeApp]:
    """Apps on one migrated database, each with its own settings overrides."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app(
            app_settings(
                tmp_path / f"instance{len(made)}",
                DATABASE_URL=database_url,
                **overrides,
            )
        )
        upgrade(services_of(application).engine)
        made.append(application)
        return application

    yield make
    for application in made:
        close_app(application)


def score(client: FlaskClient, api_key: str, email: str, address: str, **extra: Any):
    body = {"api_key": api_key, "email": email, "leads": EXAMPLE_LEADS[:1]}
    return client.post(
        "/leads", json=body, environ_base={"REMOTE_ADDR": address}, **extra
    )


def config_call(client: FlaskClient, body: dict, address: str):
    return client.post("/config", json=body, environ_base={"REMOTE_ADDR": address})


def feedback_call(client: FlaskClient, issued: IssuedClient, key: str, address: str):
    body = {
        "api_key": key,
        "client_id": issued.client_id,
        "lead_id": "jane@startup.io",
        "action": "converted",
        "factors": dict.fromkeys(FACTOR_KEYS, 0.5),
    }
    return client.post("/feedback", json=body, environ_base={"REMOTE_ADDR": address})


def first_429(send: Callable[[int], Any], attempts: int = 100) -> tuple[int, Any]:
    """The attempt number (0-based) and response of the first 429, or fail."""
    for attempt in range(attempts):
        response = send(attempt)
        if response.status_code == 429:
            return attempt, response
        assert response.status_code in (401, 403), response.get_json()
    pytest.fail(f"no 429 within {attempts} attempts")


def assert_retry_after(response, at_most: int) -> None:
    assert response.status_code == 429
    assert response.is_json and set(response.get_json()) == {"error"}
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= at_most


def test_wrong_keys_to_leads_meet_429_within_100_attempts(
    client, scoring_client
) -> None:
    attempt, response = first_429(
        lambda n: score(client, f"ck_guess{n}", scoring_client.email, ATTACKER)
    )
    assert attempt == 20  # the default: 20 failed authentications per minute
    assert_retry_after(response, at_most=60)
    assert "failed authentications" in response.get_json()["error"]
    assert response.headers["X-Request-Id"]


def test_malformed_credentials_count_as_failed_authentications(client) -> None:
    attempt, response = first_429(
        lambda n: client.post(
            "/leads",
            json={"leads": EXAMPLE_LEADS[:1], "email": f"x{n}@acme.com"},
            environ_base={"REMOTE_ADDR": ATTACKER},
        )
    )
    assert attempt == 20
    assert_retry_after(response, at_most=60)


def test_a_blocked_address_does_not_block_the_owner_or_others(
    client, scoring_client
) -> None:
    first_429(lambda n: score(client, f"ck_guess{n}", scoring_client.email, ATTACKER))
    owner = score(client, scoring_client.api_key, scoring_client.email, OWNER)
    assert owner.status_code == 200
    assert owner.get_json()["client_id"] == scoring_client.client_id
    stranger = score(client, "ck_typo", scoring_client.email, "203.0.113.11")
    assert stranger.status_code == 401
    # Once limited, the attacker learns nothing more, not even from a right key.
    again = score(client, scoring_client.api_key, scoring_client.email, ATTACKER)
    assert again.status_code == 429


def test_successful_requests_do_not_count_as_failures(client, scoring_client) -> None:
    for _ in range(30):
        response = score(client, scoring_client.api_key, scoring_client.email, OWNER)
        assert response.status_code == 200
    assert score(client, "ck_typo", scoring_client.email, OWNER).status_code == 401


def test_requests_per_client_are_limited(make_app) -> None:
    app = make_app(LEADS_RATE_LIMIT="5/minute")
    client = app.test_client()
    busy = create_client(services_of(app).sessions, "busy@acme.com")
    quiet = create_client(services_of(app).sessions, "quiet@acme.com")
    codes = [
        score(client, busy.api_key, busy.email, OWNER).status_code for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]
    limited = score(client, busy.api_key, busy.email, "203.0.113.12")
    assert_retry_after(limited, at_most=60)
    assert "Too many requests for this client" in limited.get_json()["error"]
    assert score(client, quiet.api_key, quiet.email, OWNER).status_code == 200


def test_browsers_can_read_retry_after(client, scoring_client) -> None:
    origin = {"Origin": "https://app.conturs.com"}
    _, response = first_429(
        lambda n: score(
            client, f"ck_{n}", scoring_client.email, ATTACKER, headers=origin
        )
    )
    assert response.headers["Access-Control-Allow-Origin"] == origin["Origin"]
    assert response.headers["Access-Control-Expose-Headers"] == "Retry-After"


def test_registrations_are_limited_per_address(app, client) -> None:
    codes = [
        config_call(client, {"email": f"owner{n}@site{n}.com"}, ATTACKER).status_code
        for n in range(11)
    ]
    assert 429 not in codes[:10]
    limited = config_call(client, {"email": "one-more@site.com"}, ATTACKER)
    assert_retry_after(limited, at_most=3600)
    assert "registrations" in limited.get_json()["error"]
    assert codes[10] == 429
    # Another address registers; a registered client still reads its config.
    elsewhere = config_call(client, {"email": "owner@elsewhere.com"}, OWNER)
    assert elsewhere.status_code != 429
    issued = create_client(services_of(app).sessions, "known@acme.com")
    keyed = {"email": issued.email, "api_key": issued.api_key}
    assert config_call(client, keyed, ATTACKER).status_code == 200


def test_failed_keys_to_feedback_are_limited_per_address(
    client, scoring_client
) -> None:
    attempt, response = first_429(
        lambda n: feedback_call(client, scoring_client, f"ck_guess{n}", ATTACKER)
    )
    assert attempt == 20
    assert_retry_after(response, at_most=60)
    # /config and /feedback share the count of failed keys.
    keyed = {"email": scoring_client.email, "api_key": "ck_guess"}
    assert config_call(client, keyed, ATTACKER).status_code == 429
    assert config_call(client, keyed, OWNER).status_code == 401
    right = feedback_call(client, scoring_client, scoring_client.api_key, OWNER)
    assert right.status_code == 200


def test_forwarded_for_is_honoured_only_from_a_trusted_proxy(make_app) -> None:
    app = make_app(FORWARDED_ALLOW_IPS=f"{PROXY}, 2001:db8::1")
    client = app.test_client()
    issued = create_client(services_of(app).sessions, "owner@acme.com")

    def via(peer: str, forwarded: str, key: str = "ck_guess"):
        return score(
            client, key, issued.email, peer, headers={"X-Forwarded-For": forwarded}
        )

    # Through our proxy, each caller is counted apart, whatever it claims on the left.
    attempt, _ = first_429(lambda n: via(PROXY, f"10.9.8.{n}, {ATTACKER}"))
    assert attempt == 20
    assert via(PROXY, f"{OWNER}", issued.api_key).status_code == 200
    assert via(PROXY, "203.0.113.13").status_code == 401
    # A caller talking to us directly cannot pick its address with the header.
    attempt, _ = first_429(lambda n: via("203.0.113.14", f"198.51.100.{n}"))
    assert attempt == 20
    # A header that names no address leaves the proxy itself as the caller.
    assert via(PROXY, "not-an-address").status_code == 401


@pytest.mark.parametrize("setting", ["false", "0"])
def test_disabled_limits_limit_nothing(make_app, monkeypatch, setting) -> None:
    monkeypatch.setenv("RATE_LIMITS_ENABLED", setting)
    app = make_app()
    client = app.test_client()
    issued = create_client(services_of(app).sessions, "owner@acme.com")
    for n in range(120):
        assert score(client, f"ck_{n}", issued.email, ATTACKER).status_code == 401
    for n in range(25):
        assert feedback_call(client, issued, f"ck_{n}", ATTACKER).status_code == 401
    for n in range(15):
        body = {"email": f"owner{n}@site{n}.com"}
        assert config_call(client, body, ATTACKER).status_code != 429


def test_a_bad_limit_setting_stops_the_app_at_start(make_app) -> None:
    with pytest.raises(ValueError, match="REGISTRATION_RATE_LIMIT"):
        make_app(REGISTRATION_RATE_LIMIT="lots")
    with pytest.raises(ValueError, match="FORWARDED_ALLOW_IPS"):
        make_app(FORWARDED_ALLOW_IPS="proxy.internal")


def test_429_answers_match_the_document(client, scoring_client) -> None:
    spec = OpenAPI.from_dict(client.get("/openapi.json").get_json())

    def check(path: str, body: dict) -> int:
        def build() -> EnvironBuilder:
            return EnvironBuilder(
                path=path,
                method="POST",
                data=json.dumps(body),
                content_type="application/json",
                base_url="http://localhost",
                environ_base={"REMOTE_ADDR": ATTACKER},
            )

        response = client.open(build())
        spec.validate_response(
            WerkzeugOpenAPIRequest(Request(build().get_environ())),
            WerkzeugOpenAPIResponse(response),
        )
        return response.status_code

    wrong = {"api_key": "ck_guess", "email": "o@acme.com", "leads": EXAMPLE_LEADS}
    assert [check("/leads", wrong) for _ in range(21)][-1] == 429
    feedback = {
        "api_key": "ck_guess",
        "client_id": scoring_client.client_id,
        "lead_id": "x@y.com",
        "action": "converted",
    }
    assert [check("/feedback", feedback) for _ in range(21)][-1] == 429
    assert check("/config", {"email": "o@acme.com", "api_key": "ck_guess"}) == 429


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs Redis")
def test_processes_share_the_counts_through_redis(make_app) -> None:
    redis_url = os.environ["TEST_REDIS_URL"]
    first_app = make_app(REDIS_URL=redis_url)
    first, second = first_app.test_client(), make_app(REDIS_URL=redis_url).test_client()
    # A fresh /64 per run, so counts left in Redis by earlier runs do not matter.
    caller = f"2001:db8:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::1"
    issued = create_client(services_of(first_app).sessions, "owner@acme.com")
    for n in range(20):
        one_or_other = first if n % 2 else second
        assert feedback_call(one_or_other, issued, f"ck_{n}", caller).status_code == 401
    assert feedback_call(first, issued, "ck_x", caller).status_code == 429
    assert feedback_call(second, issued, "ck_y", caller).status_code == 429


@pytest.fixture
def hung_redis() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback server that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0", accepted
    server.close()
    for connection in accepted:
        connection.close()


def test_a_hung_redis_does_not_take_requests_down(make_app, hung_redis) -> None:
    redis_url, accepted = hung_redis
    app = make_app(REDIS_URL=redis_url)
    client = app.test_client()
    started = time.monotonic()
    codes = [
        config_call(client, {"email": f"owner{n}@site{n}.com"}, ATTACKER).status_code
        for n in range(11)
    ]
    elapsed = time.monotonic() - started
    assert accepted, "the limiter never tried Redis"
    assert all(code < 500 for code in codes)
    # The limits go on from memory: the first call waits one timeout, not each.
    assert codes[10] == 429 and 429 not in codes[:10]
    assert elapsed < 5
