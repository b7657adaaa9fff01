"""Shared pieces of the CRM adapter tests: the app's registration with the
emulated HubSpot, a token keeper playing the services' part, and a browser
walking HubSpot's consent page."""

import html
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from app.crm.base import Tokens
from app.crm.hubspot import oauth
from app.crm.hubspot.config import HubSpotConfig

HUB_ID = 48213377
REDIRECT = "http://localhost:8082/hubspot/oauth/callback"
CLIENT_ID = "conturs-crm-client"
CLIENT_SECRET = "conturs-crm-secret"


class KeptTokens:
    """The services' side of `AccessTokens`: the stored tokens of one account,
    refreshed with our OAuth code, one refresh however many callers ask."""

    def __init__(self, config: HubSpotConfig, tokens: Tokens) -> None:
        self.config = config
        self.tokens = tokens
        self.refreshes = 0
        self.lock = threading.Lock()

    def current(self) -> str:
        return self.tokens.access_token

    def refreshed(self, stale: str) -> str:
        with self.lock:
            if self.tokens.access_token == stale:
                self.tokens = oauth.refresh(self.config, self.tokens.refresh_token)
                self.refreshes += 1
            return self.tokens.access_token


def tokens_from(minted: dict[str, Any]) -> Tokens:
    """A sandbox token response as our Tokens."""
    return Tokens(
        access_token=minted["access_token"],
        refresh_token=minted["refresh_token"],
        expires_at=datetime.now(UTC) + timedelta(seconds=minted["expires_in"]),
        scopes=frozenset(minted["scopes"]),
    )


def consent(
    url: str, hub_id: int = HUB_ID, user: str = "owner@acme.example"
) -> dict[str, str]:
    """Open an authorize URL like a browser, press Connect on HubSpot's consent
    page, and return the query of the redirect back to the app."""
    with requests.Session() as browser:
        page = browser.get(url, timeout=5)
        assert page.status_code == 200, page.text
        form = {
            html.unescape(name): html.unescape(value)
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text
            )
        }
        answer = browser.post(
            url.split("?")[0],
            data={**form, "hub_id": str(hub_id), "user": user, "decision": "allow"},
            timeout=5,
            allow_redirects=False,
        )
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
