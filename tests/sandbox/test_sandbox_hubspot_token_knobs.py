"""Token knobs and counters of the HubSpot emulation: token endpoint calls
counted per portal and grant type, access-token lifetime and expiry on command,
and rotating refresh tokens."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException

HUB_ID = 48213377  # the account the `tokens` fixture installs
REDIRECT = "http://localhost:8082/hubspot/oauth/callback"
TOKEN = "/oauth/2026-03/token"
INTROSPECT = "/oauth/2026-03/token/introspect"


def _api(hubspot, access_token: str) -> requests.Response:
    return requests.get(
        f"{hubspot.base_url}/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )


def _refresh(oauth_post, refresh_token: str, path: str = TOKEN) -> requests.Response:
    return oauth_post(path, grant_type="refresh_token", refresh_token=refresh_token)


def test_token_calls_are_counted_per_portal_and_grant_type(
    hubspot, tokens, oauth_post, consent
):
    other = 93311245
    code = consent(hub_id=other)["code"]
    oauth_post(TOKEN, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(
            pool.map(lambda _: _refresh(oauth_post, tokens["refresh_token"]), range(50))
        )
    assert {a.status_code for a in answers} == {200}
    _refresh(oauth_post, "na1-dead-beef", "/oauth/v1/token")
    oauth_post(INTROSPECT, token=tokens["access_token"])
    assert hubspot.token_calls(HUB_ID) == {"refresh_token": 50, "introspect": 1}
    assert hubspot.token_calls(other) == {"authorization_code": 1}
    assert hubspot.token_calls(None) == {"refresh_token": 1}
    over_http = requests.get(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/token-calls", timeout=5
    ).json()
    assert over_http["counts"] == {"refresh_token": 50, "introspect": 1}
    assert {(c["version"], c["status"]) for c in over_http["log"]} == {("2026-03", 200)}


def test_token_lifetime_knob_and_expire_now(hubspot, oauth_post, clock):
    hubspot.create_account(HUB_ID)
    hubspot.knobs(HUB_ID, access_token_seconds=60)
    tokens = hubspot.mint_tokens(HUB_ID)
    assert tokens["expires_in"] == 60
    clock.advance(59)
    assert _api(hubspot, tokens["access_token"]).status_code == 200
    clock.advance(1)
    expired = _api(hubspot, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["category"] == "EXPIRED_AUTHENTICATION"
    fresh = _refresh(oauth_post, tokens["refresh_token"]).json()
    assert fresh["expires_in"] == 60
    answer = requests.post(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/tokens/expire", timeout=5
    )
    assert answer.json() == {"expired": 2}
    with pytest.raises(ContactsApiException) as failed:
        HubSpot(
            access_token=fresh["access_token"], host=hubspot.base_url
        ).crm.contacts.basic_api.get_page()
    assert failed.value.status == 401
    assert json.loads(failed.value.body)["category"] == "EXPIRED_AUTHENTICATION"
    with pytest.raises(ValueError):
        hubspot.knobs(HUB_ID, access_token_seconds=0)


def test_rotating_refresh_tokens_kill_the_old_one(hubspot, tokens, oauth_post):
    hubspot.knobs(HUB_ID, rotate_refresh_tokens=True)
    first = _refresh(oauth_post, tokens["refresh_token"]).json()
    assert first["refresh_token"] != tokens["refresh_token"]
    stale = _refresh(oauth_post, tokens["refresh_token"])
    assert stale.status_code == 400
    assert stale.json()["status"] == "BAD_REFRESH_TOKEN"
    second = _refresh(oauth_post, first["refresh_token"]).json()
    assert _api(hubspot, second["access_token"]).status_code == 200
    assert hubspot.token_calls(HUB_ID) == {"refresh_token": 3}
