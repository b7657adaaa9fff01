"""The date-versioned OAuth of the HubSpot emulation: `/oauth/2026-03/token`
responses and errors, introspect, revoke, and uninstall from either side."""

import pytest
import requests

HUB_ID = 48213377  # the account the `tokens` fixture installs
REDIRECT = "http://localhost:8082/hubspot/oauth/callback"
TOKEN = "/oauth/2026-03/token"
INTROSPECT = "/oauth/2026-03/token/introspect"
REVOKE = "/oauth/2026-03/token/revoke"
DATED_ERROR_KEYS = {
    "error",
    "error_description",
    "status",
    "message",
    "category",
    "correlationId",
    "subCategory",
}


def _api(hubspot, access_token: str) -> requests.Response:
    return requests.get(
        f"{hubspot.base_url}/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=5,
    )


def _refresh(oauth_post, refresh_token: str, path: str = TOKEN) -> requests.Response:
    return oauth_post(path, grant_type="refresh_token", refresh_token=refresh_token)


def _assert_bad_refresh(answer: requests.Response) -> None:
    body = answer.json()
    assert answer.status_code == 400
    assert set(body) == DATED_ERROR_KEYS
    assert (body["error"], body["status"]) == ("invalid_grant", "BAD_REFRESH_TOKEN")
    assert isinstance(body["subCategory"], str)


def test_code_exchange_and_refresh_answer_the_2026_03_token_response(
    hubspot, consent, oauth_post
):
    query = consent(scope="oauth crm.objects.contacts.read")
    answer = oauth_post(
        TOKEN,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=REDIRECT,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
        "hub_id",
        "user_id",
        "scopes",
        "token_use",
    }
    assert (body["hub_id"], body["expires_in"], body["token_use"]) == (
        HUB_ID,
        1800,
        "access_token",
    )
    assert body["scopes"] == ["crm.objects.contacts.read", "oauth"]
    assert body["user_id"] == hubspot.store.account(HUB_ID).user_id
    assert _api(hubspot, body["access_token"]).status_code == 200
    refreshed = _refresh(oauth_post, body["refresh_token"])
    assert refreshed.status_code == 200
    again = refreshed.json()
    assert set(again) == set(body) and again["access_token"] != body["access_token"]
    assert again["refresh_token"] == body["refresh_token"]
    legacy = _refresh(oauth_post, body["refresh_token"], "/oauth/v1/token").json()
    assert set(legacy) == {
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
        "hub_id",
        "scopes",
    }


@pytest.mark.parametrize(
    ("fields", "error", "status"),
    [
        (
            {"grant_type": "refresh_token", "refresh_token": "nope"},
            "invalid_grant",
            "BAD_REFRESH_TOKEN",
        ),
        (
            {
                "grant_type": "authorization_code",
                "code": "no",
                "redirect_uri": REDIRECT,
            },
            "invalid_grant",
            "BAD_AUTH_CODE",
        ),
        (
            {"grant_type": "client_credentials", "scope": "oauth"},
            "unsupported_grant_type",
            "BAD_GRANT_TYPE",
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "x", "client_secret": "x"},
            "invalid_client",
            "BAD_CLIENT_SECRET",
        ),
    ],
)
def test_dated_token_errors_carry_rfc6749_and_legacy_fields(
    oauth_post, fields, error, status
):
    answer = oauth_post(TOKEN, **fields)
    body = answer.json()
    assert answer.status_code == 400 and set(body) == DATED_ERROR_KEYS
    assert (body["error"], body["status"]) == (error, status)
    assert body["error_description"] == body["message"]
    legacy = oauth_post("/oauth/v1/token", **fields).json()
    assert "category" not in legacy and legacy["status"] == status


def test_token_endpoint_takes_only_a_form(hubspot, tokens):
    answer = requests.post(
        f"{hubspot.base_url}{TOKEN}",
        json={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "conturs-sandbox-client",
            "client_secret": "conturs-sandbox-secret",
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_introspect_describes_access_and_refresh_tokens(
    hubspot, tokens, oauth_post, clock
):
    access = oauth_post(INTROSPECT, token=tokens["access_token"]).json()
    assert {
        "active",
        "app_id",
        "client_id",
        "expires_in",
        "hub_domain",
        "hub_id",
        "scopes",
        "token",
        "token_type",
        "token_use",
        "user",
        "user_id",
    } <= set(access)
    assert (access["active"], access["token_use"], access["hub_id"]) == (
        True,
        "access_token",
        HUB_ID,
    )
    assert access["expires_in"] == 1800 and access["scopes"] == tokens["scopes"]
    hinted = oauth_post(
        INTROSPECT, token=tokens["access_token"], token_type_hint="refresh_token"
    ).json()
    assert hinted["token_use"] == "access_token"
    refresh = oauth_post(INTROSPECT, token=tokens["refresh_token"]).json()
    assert (refresh["active"], refresh["token_use"], refresh["hub_id"]) == (
        True,
        "refresh_token",
        HUB_ID,
    )
    assert oauth_post(INTROSPECT, token="unknown").json() == {"active": False}
    clock.advance(1800)
    assert oauth_post(INTROSPECT, token=tokens["access_token"]).json() == {
        "active": False
    }
    assert oauth_post(INTROSPECT, token=tokens["refresh_token"]).json()["active"]
    wrong = oauth_post(INTROSPECT, token=tokens["refresh_token"], client_secret="x")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"


def test_revoke_kills_the_refresh_token_only(hubspot, tokens, oauth_post):
    refused = oauth_post(REVOKE, token=tokens["access_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_token_type"
    assert oauth_post(REVOKE, token=tokens["refresh_token"]).status_code == 200
    _assert_bad_refresh(_refresh(oauth_post, tokens["refresh_token"]))
    assert oauth_post(INTROSPECT, token=tokens["refresh_token"]).json() == {
        "active": False
    }
    assert _api(hubspot, tokens["access_token"]).status_code == 200
    assert oauth_post(REVOKE, token=tokens["refresh_token"]).status_code == 200


def test_external_install_delete_uninstalls_the_app(hubspot, tokens, oauth_post):
    answer = requests.delete(
        f"{hubspot.base_url}/appinstalls/2026-03/external-install",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert answer.status_code == 204 and answer.content == b""
    refused = _api(hubspot, tokens["access_token"])
    assert refused.status_code == 401
    assert refused.json()["category"] == "INVALID_AUTHENTICATION"
    _assert_bad_refresh(_refresh(oauth_post, tokens["refresh_token"]))
    assert oauth_post(INTROSPECT, token=tokens["access_token"]).json() == {
        "active": False
    }
    assert hubspot.token_calls(HUB_ID) == {"refresh_token": 1}


def test_portal_admin_uninstall_sends_no_webhook(
    hubspot, tokens, oauth_post, receiver, consent
):
    hubspot.configure_webhooks(
        f"{receiver.base_url}/hooks",
        [
            {"subscriptionType": "contact.creation"},
            {"subscriptionType": "contact.deletion"},
            {"subscriptionType": "deal.deletion"},
        ],
    )
    hubspot.act.create_contact(HUB_ID, email="before@acme.ua")
    assert hubspot.webhooks.wait_idle()
    answer = requests.post(
        f"{hubspot.base_url}/_control/accounts/{HUB_ID}/uninstall", timeout=5
    )
    assert answer.status_code == 204
    assert hubspot.webhooks.wait_idle()
    assert len(hubspot.deliveries()) == 1
    assert _api(hubspot, tokens["access_token"]).status_code == 401
    _assert_bad_refresh(_refresh(oauth_post, tokens["refresh_token"]))
    hubspot.act.create_contact(HUB_ID, email="while-gone@acme.ua")
    assert hubspot.webhooks.wait_idle()
    assert len(hubspot.deliveries()) == 1
    code = consent()["code"]
    fresh = oauth_post(
        TOKEN, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    ).json()
    assert _api(hubspot, fresh["access_token"]).status_code == 200
    hubspot.act.create_contact(HUB_ID, email="back@acme.ua")
    assert hubspot.webhooks.wait_idle()
    assert len(hubspot.deliveries()) == 2
