"""Per-portal faults and the rate limit of the Uspacy emulation: seeded 5xx, 429
with Retry-After, hangs, and Laravel's fixed window, each set over the control
API and each shown to change what the app sees."""

from collections.abc import Iterator

import pytest
import requests

from app.sandbox import ManualClock, UspacySandbox

DOMAIN = "acme.uspacy.ua"


def _started(clock: ManualClock, seed: int) -> UspacySandbox:
    sandbox = UspacySandbox(clock=clock, seed=seed)
    sandbox.start()
    return sandbox


@pytest.fixture
def pair(clock: ManualClock) -> Iterator[tuple[UspacySandbox, UspacySandbox]]:
    """Two emulations started with the same seed."""
    first, second = _started(clock, 3), _started(clock, 3)
    yield first, second
    first.stop()
    second.stop()


def _calls(sandbox: UspacySandbox, n: int, timeout: float = 5) -> list[int]:
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    url = f"{sandbox.portal_base_url(DOMAIN)}/crm/v1/entities/leads"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        return [session.get(url, timeout=timeout).status_code for _ in range(n)]


def _put(sandbox: UspacySandbox, group: str, **body: object) -> requests.Response:
    return requests.put(
        f"{sandbox.base_url}/_control/portals/{DOMAIN}/{group}", json=body, timeout=5
    )


def test_error_rate_fails_the_same_calls_for_the_same_seed(pair):
    first, second = pair
    for sandbox in pair:
        sandbox.create_portal(DOMAIN)
        assert _put(sandbox, "faults", error_rate=0.5).status_code == 200
    statuses = _calls(first, 30)
    assert statuses == _calls(second, 30)
    assert {500, 502, 503} <= set(statuses) and 200 in statuses
    assert 8 <= sum(s != 200 for s in statuses) <= 22
    first.faults(DOMAIN, seed=11)
    replay = _calls(first, 30)
    first.faults(DOMAIN, seed=11)
    assert _calls(first, 30) == replay
    first.faults(DOMAIN, error_rate=0.0)
    assert set(_calls(first, 10)) == {200}


def test_error_bodies_are_laravel_json_or_proxy_html(pair):
    sandbox, _ = pair
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    sandbox.faults(DOMAIN, error_rate=1.0)
    url = f"{sandbox.portal_base_url(DOMAIN)}/company/v1/users/me"
    seen = {}
    for _ in range(30):
        answer = requests.get(
            url, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        seen[answer.status_code] = answer
    assert seen[500].json() == {"message": "Server Error"}
    assert seen[502].headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in seen[502].text
    assert seen[503].status_code == 503


def test_throttle_rate_answers_429_with_retry_after(pair):
    sandbox, _ = pair
    sandbox.create_portal(DOMAIN)
    assert _put(sandbox, "faults", throttle_rate=1.0, retry_after=7).json()[
        "throttle_rate"
    ] == pytest.approx(1.0)
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    answer = requests.get(
        f"{sandbox.portal_base_url(DOMAIN)}/crm/v1/entities/deals",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert answer.json() == {"message": "Too Many Attempts."}


def test_hangs_outlast_the_client_timeout_then_end_in_504(pair):
    sandbox, _ = pair
    sandbox.create_portal(DOMAIN)
    sandbox.faults(DOMAIN, hang_rate=1.0, hang_seconds=2.0)
    with pytest.raises(requests.Timeout):
        _calls(sandbox, 1, timeout=0.3)
    sandbox.faults(DOMAIN, hang_seconds=0.0)
    assert _calls(sandbox, 1) == [504]


def test_bad_fault_settings_are_refused(pair):
    sandbox, _ = pair
    sandbox.create_portal(DOMAIN)
    assert _put(sandbox, "faults", error_rate=1.5).status_code == 400
    assert _put(sandbox, "faults", nope=1).status_code == 400
    assert _put(sandbox, "knobs", calls_per_window=0).status_code == 400
    assert sandbox.faults(DOMAIN)["error_rate"] == 0.0


def test_rate_limit_is_a_fixed_window_per_portal(pair, clock):
    sandbox, _ = pair
    other = "globex.uspacy.ua"
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    statuses = _calls(sandbox, 61)
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    sandbox.mint_tokens(other)
    url = f"{sandbox.portal_base_url(other)}/crm/v1/entities/leads"
    other_token = sandbox.tokens.issue(other)["jwt"]
    ok = requests.get(
        url, headers={"Authorization": f"Bearer {other_token}"}, timeout=5
    )
    assert ok.status_code == 200 and ok.headers["X-RateLimit-Remaining"] == "59"
    clock.advance(61)
    sandbox.knobs(DOMAIN, calls_per_window=2, window_seconds=10)
    base = f"{sandbox.portal_base_url(DOMAIN)}/crm/v1/entities/leads"
    headers = {"Authorization": f"Bearer {token}"}
    answers = [requests.get(base, headers=headers, timeout=5) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].headers["Retry-After"] == "10"
    assert answers[2].headers["X-RateLimit-Limit"] == "2"
    clock.advance(10)
    assert requests.get(base, headers=headers, timeout=5).status_code == 200
