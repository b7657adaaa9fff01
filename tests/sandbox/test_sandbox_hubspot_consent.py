"""The consent page of the HubSpot emulation: redirect URLs checked against the
app's Auth settings, cancel, optional scopes a portal lacks, and hub ids."""

import pytest
import requests

from app.sandbox import HubSpotSandbox
from app.sandbox.hubspot.appconfig import AppConfig

HUB_ID = 48213377
REDIRECT = "http://localhost:8082/hubspot/oauth/callback"
TOKEN = "/oauth/2026-03/token"


def _params(**overrides: str) -> dict[str, str]:
    return {
        "client_id": "conturs-sandbox-client",
        "redirect_uri": REDIRECT,
        "scope": "oauth crm.objects.contacts.read",
        "state": "s-1",
        **overrides,
    }


def _decide(hubspot, **fields: str) -> requests.Response:
    data = {"hub_id": str(HUB_ID), "decision": "allow", **_params(), **fields}
    return requests.post(
        f"{hubspot.base_url}/oauth/authorize",
        data=data,
        allow_redirects=False,
        timeout=5,
    )


def _page(hubspot, **overrides: str) -> requests.Response:
    return requests.get(
        f"{hubspot.base_url}/oauth/authorize", params=_params(**overrides), timeout=5
    )


def test_redirect_uri_must_be_one_of_the_apps_redirect_urls(hubspot):
    assert _page(hubspot).status_code == 200
    for wrong in ("http://localhost:8082/elsewhere", "https://evil.example/cb", ""):
        page = _page(hubspot, redirect_uri=wrong)
        assert page.status_code == 400 and "redirect" in page.text
        decided = _decide(hubspot, redirect_uri=wrong)
        assert decided.status_code == 400 and "Location" not in decided.headers
    other = "https://app.conturs.example/hubspot/oauth/callback"
    answer = requests.put(
        f"{hubspot.base_url}/_control/app", json={"redirect_urls": [other]}, timeout=5
    )
    assert answer.json()["redirect_urls"] == [other]
    assert _page(hubspot).status_code == 400
    assert _page(hubspot, redirect_uri=other).status_code == 200
    bad = requests.put(
        f"{hubspot.base_url}/_control/app",
        json={"redirect_urls": ["http://127.0.0.1:8082/cb"]},
        timeout=5,
    )
    assert bad.status_code == 400
    hubspot.app_config.set_redirect_urls([])
    assert "no redirect URL" in _page(hubspot, redirect_uri=other).text


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8082/cb", "http://example.com/cb", "https://[::1]/cb", "x"],
)
def test_apps_accept_only_https_or_localhost_redirect_urls(url):
    with pytest.raises(ValueError):
        AppConfig(redirect_urls=[url])


def test_cancel_redirects_with_access_denied(consent):
    query = consent("deny")
    assert query["error"] == "access_denied" and query["state"] == "s-123"
    assert query["error_description"] and "code" not in query


def test_optional_scopes_the_portal_lacks_are_not_granted(hubspot, consent, oauth_post):
    hubspot.create_account(HUB_ID)
    hubspot.knobs(HUB_ID, unavailable_scopes=["crm.objects.deals.read"])
    query = consent(optional_scope="crm.objects.deals.read crm.schemas.contacts.read")
    tokens = oauth_post(
        TOKEN,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=REDIRECT,
    ).json()
    granted = ["crm.objects.contacts.read", "crm.schemas.contacts.read", "oauth"]
    assert tokens["scopes"] == granted
    info = oauth_post(f"{TOKEN}/introspect", token=tokens["access_token"]).json()
    assert info["scopes"] == granted
    deals = requests.get(
        f"{hubspot.base_url}/crm/v3/objects/deals",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert deals.status_code == 403 and deals.json()["category"] == "MISSING_SCOPES"
    other = consent(hub_id=HUB_ID + 1, optional_scope="crm.objects.deals.read")
    full = oauth_post(
        TOKEN,
        grant_type="authorization_code",
        code=other["code"],
        redirect_uri=REDIRECT,
    ).json()
    assert "crm.objects.deals.read" in full["scopes"]
    minted = hubspot.mint_tokens(
        HUB_ID, ["oauth"], optional_scopes=["crm.objects.deals.read"]
    )
    assert minted["scopes"] == ["oauth"]


def test_required_scope_the_portal_lacks_fails_the_install(hubspot):
    hubspot.create_account(HUB_ID)
    hubspot.knobs(HUB_ID, unavailable_scopes=["crm.objects.contacts.read"])
    answer = _decide(hubspot)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "crm.objects.contacts.read" in answer.text
    with pytest.raises(ValueError):
        hubspot.mint_tokens(HUB_ID, ["oauth", "crm.objects.contacts.read"])


def test_required_app_scopes_must_be_requested(hubspot):
    hubspot.app_config.required_scopes = ["oauth", "crm.objects.contacts.write"]
    page = _page(hubspot)
    assert page.status_code == 400 and "crm.objects.contacts.write" in page.text


@pytest.mark.parametrize("hub_id", ["abc", str(2**31), "0", "-5"])
def test_hub_ids_are_int32(hubspot, hub_id):
    assert _decide(hubspot, hub_id=hub_id).status_code == 400
    answer = requests.post(
        f"{hubspot.base_url}/_control/accounts", json={"hub_id": hub_id}, timeout=5
    )
    assert answer.status_code == 400
    with pytest.raises(ValueError):
        hubspot.create_account(hub_id)


def test_consent_defaults_to_an_8_digit_hub():
    with HubSpotSandbox() as hubspot:
        page = _page(hubspot)
    assert 'name="hub_id" value="48213377"' in page.text
