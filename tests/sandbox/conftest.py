"""Fixtures for the sandbox tests: started emulations, a recording webhook
receiver standing in for the app, and SDK clients pointed at the emulation."""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from flask import Flask, Response, request
from hubspot import HubSpot

from app.sandbox import HubSpotSandbox, ManualClock, UspacySandbox
from app.sandbox.hubspot.appconfig import DEFAULT_REDIRECT_URL
from app.sandbox.server import ServerThread

HUB_ID = 48213377  # the account the `tokens` fixture installs
CLIENT_ID = "conturs-sandbox-client"
CLIENT_SECRET = "conturs-sandbox-secret"
REDIRECT = DEFAULT_REDIRECT_URL


@dataclass
class Received:
    """One request the receiver got."""

    method: str
    url: str
    path: str
    body: str
    headers: dict[str, str]


@dataclass
class Receiver:
    """A tiny app endpoint that records requests and answers with scripted codes."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self, path: str) -> list[str]:
        """Raw bodies received on `path`."""
        with self.lock:
            return [r.body for r in self.requests if r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A loopback HTTP server recording every request."""
    state = Receiver()
    app = Flask("receiver")

    @app.route("/<path:path>", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
    def record(path: str) -> Response:
        with state.lock:
            state.requests.append(
                Received(
                    request.method,
                    request.url,
                    "/" + path,
                    request.get_data(as_text=True),
                    dict(request.headers),
                )
            )
            status = state.statuses.pop(0) if state.statuses else 204
            delay = state.delay
        if delay:
            time.sleep(delay)
        return Response(status=status)

    server = ServerThread(app).start()
    state.base_url = server.base_url
    yield state
    server.stop()


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock for windows and expiry."""
    return ManualClock()


@pytest.fixture
def hubspot(clock: ManualClock) -> Iterator[HubSpotSandbox]:
    """A started HubSpot emulation on a frozen clock, fast webhook retries."""
    sandbox = HubSpotSandbox(
        clock=clock, retry_delays=(0.05, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1)
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def tokens(hubspot: HubSpotSandbox) -> dict[str, Any]:
    """Tokens of an installed account `HUB_ID`."""
    return hubspot.mint_tokens(HUB_ID)


@pytest.fixture
def client(hubspot: HubSpotSandbox, tokens: dict[str, Any]) -> HubSpot:
    """The official SDK, pointed at the emulation through `host=`."""
    return HubSpot(access_token=tokens["access_token"], host=hubspot.base_url)


@pytest.fixture
def uspacy(receiver: Receiver, clock: ManualClock) -> Iterator[UspacySandbox]:
    """A started Uspacy emulation whose app callback is the receiver."""
    sandbox = UspacySandbox(
        callback_url=f"{receiver.base_url}/uspacy/v1",
        clock=clock,
        retry_delays=(0.05, 0.05, 0.05),
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def consent(hubspot: HubSpotSandbox) -> Callable[..., dict[str, str]]:
    """Walk the consent page like a browser; return the redirect's query."""

    def walk(
        decision: str = "allow",
        hub_id: int = HUB_ID,
        scope: str = "oauth crm.objects.contacts.read",
        optional_scope: str = "",
        state: str = "s-123",
    ) -> dict[str, str]:
        params = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": state,
        }
        if optional_scope:
            params["optional_scope"] = optional_scope
        with requests.Session() as browser:
            page = browser.get(
                f"{hubspot.base_url}/oauth/authorize", params=params, timeout=5
            )
            assert page.status_code == 200 and "Connect app" in page.text
            answer = browser.post(
                f"{hubspot.base_url}/oauth/authorize",
                timeout=5,
                data={
                    **params,
                    "hub_id": str(hub_id),
                    "user": "owner@acme.example",
                    "decision": decision,
                },
                allow_redirects=False,
            )
        assert answer.status_code == 302, answer.text
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT)
        return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}

    return walk


@pytest.fixture
def oauth_post(hubspot: HubSpotSandbox) -> Callable[..., requests.Response]:
    """POST a form to an OAuth path, with the app's client credentials."""

    def post(path: str, **fields: str) -> requests.Response:
        data = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields}
        return requests.post(f"{hubspot.base_url}{path}", data=data, timeout=5)

    return post
