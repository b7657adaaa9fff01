"""The HubSpot rate limiter is exact: 110 calls per rolling 10 s per account
pass, the 111th gets HubSpot's 429 body; search has its own 5/s per token."""

import pytest
import requests

HUB_ID = 48213377  # the account the `tokens` fixture installs


@pytest.fixture
def http(tokens):
    """A keep-alive session carrying the account's Bearer token."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        yield session


def _get(http, hubspot):
    return http.get(f"{hubspot.base_url}/crm/v3/objects/contacts", timeout=5)


def test_110_calls_pass_and_the_111th_gets_hubspots_429(http, hubspot):
    remaining = []
    for _ in range(110):
        answer = _get(http, hubspot)
        assert answer.status_code == 200
        remaining.append(int(answer.headers["X-HubSpot-RateLimit-Remaining"]))
        assert answer.headers["X-HubSpot-RateLimit-Max"] == "110"
        assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert remaining == list(range(109, -1, -1))
    refused = _get(http, hubspot)
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {
        "status",
        "message",
        "errorType",
        "correlationId",
        "policyName",
        "requestId",
        "groupName",
    }
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert (body["errorType"], body["policyName"]) == (
        "RATE_LIMIT",
        "TEN_SECONDLY_ROLLING",
    )
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    hubspot.clock.advance(9.999)
    assert _get(http, hubspot).status_code == 429
    hubspot.clock.advance(0.001)
    assert _get(http, hubspot).status_code == 200


def test_window_is_rolling_not_fixed(http, hubspot):
    for _ in range(60):
        assert _get(http, hubspot).status_code == 200
    hubspot.clock.advance(5)
    for _ in range(50):
        assert _get(http, hubspot).status_code == 200
    assert _get(http, hubspot).status_code == 429
    hubspot.clock.advance(5)
    statuses = [_get(http, hubspot).status_code for _ in range(61)]
    assert statuses == [200] * 60 + [429]


def test_limits_are_per_account_and_search_is_separate(http, hubspot):
    other = hubspot.mint_tokens(HUB_ID + 1)["access_token"]
    for _ in range(110):
        _get(http, hubspot)
    assert _get(http, hubspot).status_code == 429
    answer = requests.get(
        f"{hubspot.base_url}/crm/v3/objects/deals",
        timeout=5,
        headers={"Authorization": f"Bearer {other}"},
    )
    assert answer.status_code == 200
    search = http.post(
        f"{hubspot.base_url}/crm/v3/objects/contacts/search",
        json={"limit": 1},
        timeout=5,
    )
    assert search.status_code == 200
    assert "X-HubSpot-RateLimit-Remaining" not in search.headers
    calls = hubspot.calls(HUB_ID)
    assert calls["GET /crm/v3/objects/contacts"] == 111
    assert calls["POST /crm/v3/objects/contacts/search"] == 1


def test_fault_knobs_errors_latency_and_timeouts(http, hubspot):
    hubspot.faults(HUB_ID, error_rate=1.0)
    failed = _get(http, hubspot)
    assert failed.status_code == 502 and failed.json()["status"] == "error"
    hubspot.faults(HUB_ID, error_rate=0.0, timeouts=1, timeout_seconds=0.3)
    with pytest.raises(requests.Timeout):
        http.get(f"{hubspot.base_url}/crm/v3/objects/contacts", timeout=0.1)
    assert _get(http, hubspot).status_code == 200
    with pytest.raises(ValueError):
        hubspot.faults(HUB_ID, nonsense=1)


def test_missing_scope_gets_403(hubspot):
    token = hubspot.mint_tokens(
        HUB_ID + 2, scopes=["oauth", "crm.objects.contacts.read"]
    )
    answer = requests.get(
        f"{hubspot.base_url}/crm/v3/objects/deals",
        timeout=5,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert answer.status_code == 403
    assert answer.json()["category"] == "MISSING_SCOPES"
    assert answer.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.deals.read"
    ]
