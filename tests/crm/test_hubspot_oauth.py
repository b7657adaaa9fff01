"""HubSpot OAuth on the date-versioned endpoints, over real HTTP against the
emulation: the authorize URL, the code exchange through the consent page,
refresh, introspect, and how failures map to our errors."""

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from app.crm.base import AccessRevoked, CrmUnavailable, Rejected
from app.crm.hubspot import oauth
from app.crm.hubspot.config import OPTIONAL_SCOPES, REQUIRED_SCOPES
from tests.crm.helpers import HUB_ID, consent, tokens_from


def test_authorize_url_asks_for_our_scopes_with_state(config):
    url = oauth.authorize_url(config, "install-7f3a")
    parts = urlparse(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == config.authorize_url
    assert query["client_id"] == [config.client_id]
    assert query["redirect_uri"] == [config.redirect_uri]
    assert query["scope"] == [" ".join(REQUIRED_SCOPES)]
    assert query["optional_scope"] == ["crm.objects.companies.read"]
    assert query["state"] == ["install-7f3a"]
    assert set(REQUIRED_SCOPES) == {
        "oauth",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.write",
        "crm.objects.deals.read",
    }
    # HubSpot documents %20 between scopes; "+" is not a separator there.
    assert "oauth%20crm.objects.contacts.read" in url and "+" not in url


def test_authorize_url_refuses_missing_or_huge_state(config):
    with pytest.raises(ValueError):
        oauth.authorize_url(config, "")
    with pytest.raises(ValueError):
        oauth.authorize_url(config, "s" * 2001)


def test_code_exchange_yields_portal_user_scopes_and_tokens(hubspot, config):
    query = consent(oauth.authorize_url(config, "state-1"), hub_id=243370915)
    assert query["state"] == "state-1"
    before = datetime.now(UTC)

    installed = oauth.exchange_code(config, query["code"])

    assert installed.account_id == "243370915"
    assert installed.user_email == "owner@acme.example"
    assert installed.user_id is not None and installed.user_id.isdigit()
    assert installed.account_domain
    assert installed.tokens.scopes == frozenset(REQUIRED_SCOPES + OPTIONAL_SCOPES)
    lifetime = installed.tokens.expires_at - before
    assert timedelta(seconds=1790) <= lifetime <= timedelta(seconds=1810)
    calls = hubspot.token_calls(243370915)
    assert calls["authorization_code"] == 1 and calls["introspect"] == 1
    assert [c["version"] for c in hubspot.token_call_log(243370915)] == [
        "2026-03",
        "2026-03",
    ]
    assert "access_token" not in repr(installed)
    assert installed.tokens.access_token not in repr(installed)


def test_optional_scope_the_portal_lacks_is_not_granted(hubspot, config):
    hubspot.create_account(HUB_ID)
    hubspot.knobs(HUB_ID, unavailable_scopes=["crm.objects.companies.read"])
    query = consent(oauth.authorize_url(config, "s"))
    installed = oauth.exchange_code(config, query["code"])
    assert installed.tokens.scopes == frozenset(REQUIRED_SCOPES)


def test_a_code_works_once(config):
    query = consent(oauth.authorize_url(config, "s"))
    oauth.exchange_code(config, query["code"])
    with pytest.raises(Rejected) as refused:
        oauth.exchange_code(config, query["code"])
    assert "BAD_AUTH_CODE" in refused.value.message or "invalid_grant" in str(
        refused.value
    )
    assert not refused.value.retryable


def test_wrong_client_secret_is_rejected(config):
    query = consent(oauth.authorize_url(config, "s"))
    with pytest.raises(Rejected):
        oauth.exchange_code(replace(config, client_secret="nope"), query["code"])


def test_refresh_gives_a_new_access_token(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    fresh = oauth.refresh(config, minted.refresh_token)
    assert fresh.access_token != minted.access_token
    # Without rotation HubSpot sends the same refresh token back.
    assert fresh.refresh_token == minted.refresh_token
    assert fresh.scopes == frozenset(REQUIRED_SCOPES)
    assert hubspot.token_calls(HUB_ID)["refresh_token"] == 1


def test_rotated_refresh_token_is_kept_and_the_old_one_is_dead(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    hubspot.knobs(HUB_ID, rotate_refresh_tokens=True)
    fresh = oauth.refresh(config, minted.refresh_token)
    assert fresh.refresh_token != minted.refresh_token
    oauth.refresh(config, fresh.refresh_token)
    with pytest.raises(AccessRevoked):
        oauth.refresh(config, minted.refresh_token)


def test_refresh_after_uninstall_is_access_revoked(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    hubspot.uninstall(HUB_ID)
    with pytest.raises(AccessRevoked) as revoked:
        oauth.refresh(config, minted.refresh_token)
    assert not revoked.value.retryable
    assert minted.refresh_token not in str(revoked.value)


def test_introspect_tells_the_portal_and_nothing_for_a_dead_token(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    info = oauth.introspect(config, minted.access_token)
    assert info is not None
    assert info["hub_id"] == HUB_ID and "token" not in info
    hubspot.expire_access_tokens(HUB_ID)
    assert oauth.introspect(config, minted.access_token) is None


def test_revoke_kills_the_refresh_token(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    oauth.revoke(config, minted.refresh_token)
    with pytest.raises(AccessRevoked):
        oauth.refresh(config, minted.refresh_token)


def test_token_endpoint_that_never_answers_is_unavailable(config):
    # A socket that accepts connections (through the backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        slow = replace(
            config, api_base_url=f"http://127.0.0.1:{port}", timeout_seconds=0.3
        )
        with pytest.raises(CrmUnavailable) as down:
            oauth.refresh(slow, "some-refresh-token")
    assert down.value.retryable


def test_token_endpoint_that_refuses_connections_is_unavailable(config):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gone = replace(config, api_base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(CrmUnavailable):
        oauth.exchange_code(gone, "some-code")


def test_refresh_token_active_until_the_portal_uninstalls(hubspot, config):
    minted = tokens_from(hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES)))
    assert oauth.refresh_token_active(config, minted.refresh_token) is True
    # An access token is not a refresh token, and asking rotates nothing.
    assert oauth.refresh_token_active(config, minted.access_token) is False
    assert hubspot.token_calls(HUB_ID).get("refresh_token", 0) == 0
    hubspot.uninstall(HUB_ID)
    assert oauth.refresh_token_active(config, minted.refresh_token) is False
    assert oauth.refresh_token_active(config, "") is False
