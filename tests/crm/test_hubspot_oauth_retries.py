"""Token calls retried like API calls: HubSpot's token endpoint answering 5xx or
429 before it answers, or refusing a refresh for good (sent once). The emulation
has no faults on its token endpoint, so a loopback server plays HubSpot's
answers in turn; the waits pass on a manual clock."""

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.crm.base import AccessRevoked, CrmUnavailable
from app.crm.hubspot import oauth
from app.crm.hubspot.config import OAUTH_RETRY, HubSpotConfig
from app.sandbox.clock import ManualClock
from tests.crm.helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT

TOKENS = {
    "token_type": "bearer",
    "access_token": "at-new",
    "refresh_token": "rt-1",
    "expires_in": 1800,
    "hub_id": 48213377,
    "scopes": ["oauth", "crm.objects.contacts.read"],
}
BUSY = {"status": "error", "message": "Service unavailable", "category": "ERROR"}
LIMITED = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "policyName": "TEN_SECONDLY_ROLLING",
}
GONE = {
    "error": "invalid_grant",
    "error_description": "refresh token is invalid, expired or revoked",
    "status": "BAD_REFRESH_TOKEN",
}


class TokenEndpoint:
    """Answers each POST with the next scripted (status, body); records paths."""

    def __init__(self, answers: list[tuple[int, dict]]) -> None:
        self.answers = list(answers)
        self.paths: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.paths.append(self.path)
                status, body = endpoint.answers.pop(0)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1_000.0)


@pytest.fixture
def answering(clock) -> Iterator:
    """Start a token endpoint with scripted answers; yields (endpoint, config)."""
    started: list[TokenEndpoint] = []

    def start(*answers: tuple[int, dict]) -> tuple[TokenEndpoint, HubSpotConfig]:
        endpoint = TokenEndpoint(list(answers))
        started.append(endpoint)
        config = HubSpotConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT,
            api_base_url=endpoint.url,
            timeout_seconds=5.0,
            oauth_retry=replace(OAUTH_RETRY, sleep=clock.advance, clock=clock.now),
        )
        return endpoint, config

    yield start
    for endpoint in started:
        endpoint.close()


def test_a_refresh_outlasts_an_outage_and_a_rate_limit(answering, clock):
    endpoint, config = answering((503, BUSY), (429, LIMITED), (200, TOKENS))

    tokens = oauth.refresh(config, "rt-1")

    assert tokens.access_token == "at-new"
    assert endpoint.paths == ["/oauth/2026-03/token"] * 3
    # A short backoff after the 503, then the ten-second window after the 429.
    assert 10.0 < clock.now() - 1_000.0 < 12.0


def test_a_refresh_refused_for_good_is_sent_once(answering, clock):
    endpoint, config = answering((400, GONE), (200, TOKENS))
    with pytest.raises(AccessRevoked):
        oauth.refresh(config, "rt-1")
    assert len(endpoint.paths) == 1
    assert clock.now() == 1_000.0


def test_a_token_endpoint_that_stays_down_is_tried_three_times(answering):
    endpoint, config = answering(*[(502, BUSY)] * 5)
    with pytest.raises(CrmUnavailable) as down:
        oauth.exchange_code(config, "code-1")
    assert down.value.retryable
    assert len(endpoint.paths) == OAUTH_RETRY.attempts == 3
