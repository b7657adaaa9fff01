"""How the Uspacy emulation calls the app: uninstall with either spelling and
method, webhook bodies plain or SNS-style, and seeded duplicate and out-of-order
delivery."""

import json
from collections.abc import Iterator

import pytest
import requests

from app.sandbox import ManualClock, UspacySandbox

DOMAIN = "acme.uspacy.ua"
HOOK = "/uspacy/v1/webhooks/k3y"


@pytest.fixture
def sandbox(receiver, clock: ManualClock) -> Iterator[UspacySandbox]:
    """A seeded emulation calling the receiver."""
    started = UspacySandbox(
        callback_url=f"{receiver.base_url}/uspacy/v1",
        clock=clock,
        retry_delays=(0.05,),
        seed=5,
    )
    started.start()
    yield started
    started.stop()


@pytest.mark.parametrize("path", ["uninstall", "uinstall"])
@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_uninstall_uses_the_chosen_spelling_and_method(sandbox, receiver, path, method):
    pair = sandbox.mint_tokens(DOMAIN)
    answer = requests.post(
        f"{sandbox.base_url}/_control/portals/{DOMAIN}/uninstall",
        json={"path": path, "method": method},
        timeout=5,
    )
    assert answer.json()["app_status"] == 204
    [call] = receiver.requests
    assert (call.method, call.path) == (method, f"/uspacy/v1/portals/{path}")
    assert call.headers["Authorization"].startswith("Bearer ey")
    me = requests.get(
        f"{sandbox.portal_base_url(DOMAIN)}/company/v1/users/me",
        headers={"Authorization": f"Bearer {pair['jwt']}"},
        timeout=5,
    )
    assert me.status_code == 401
    bad = requests.post(
        f"{sandbox.base_url}/_control/portals/{DOMAIN}/uninstall",
        json={"path": "remove"},
        timeout=5,
    )
    assert bad.status_code == 400


def _subscribe(sandbox: UspacySandbox, receiver) -> dict:
    token = sandbox.mint_tokens(DOMAIN)["jwt"]
    made = requests.post(
        f"{sandbox.portal_base_url(DOMAIN)}/company/v1/webhooks",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "url": f"{receiver.base_url}{HOOK}",
            "events": [
                {"service": "crm", "table_name": "leads", "actions": ["create"]}
            ],
        },
        timeout=5,
    )
    assert made.status_code == 201
    assert sandbox.webhooks.wait_idle()
    return made.json()


def _titles(receiver, envelope: str = "plain") -> list[str]:
    bodies = [json.loads(b) for b in receiver.bodies(HOOK)]
    if envelope == "sns":
        bodies = [
            json.loads(b["Message"]) for b in bodies if b["Type"] == "Notification"
        ]
    else:
        bodies = [b for b in bodies if b.get("type") == "entity_crm"]
    return [b["data"]["entity"]["title"] for b in bodies]


def _confirm_plain(sandbox, receiver) -> None:
    [first] = [json.loads(b) for b in receiver.bodies(HOOK)]
    assert requests.get(first["validation_link"], timeout=5).status_code == 200


def test_sns_envelope_confirms_by_subscribe_url_and_wraps_events(sandbox, receiver):
    sandbox.create_portal(DOMAIN)
    assert sandbox.delivery(DOMAIN, envelope="sns")["envelope"] == "sns"
    _subscribe(sandbox, receiver)
    [raw] = receiver.requests
    assert raw.headers["Content-Type"].startswith("text/plain")
    assert raw.headers["X-Amz-Sns-Message-Type"] == "SubscriptionConfirmation"
    handshake = json.loads(raw.body)
    assert handshake["Type"] == "SubscriptionConfirmation"
    assert requests.get(handshake["SubscribeURL"], timeout=5).status_code == 200
    sandbox.act_create(DOMAIN, "leads", title="First")
    assert sandbox.webhooks.wait_idle()
    note = json.loads(receiver.requests[-1].body)
    assert note["Type"] == "Notification" and isinstance(note["Message"], str)
    assert _titles(receiver, "sns") == ["First"]
    assert json.loads(note["Message"])["data"]["action"] == "create"


def test_plain_envelope_is_the_event_itself(sandbox, receiver):
    _subscribe(sandbox, receiver)
    _confirm_plain(sandbox, receiver)
    sandbox.act_create(DOMAIN, "leads", title="Plain")
    assert sandbox.webhooks.wait_idle()
    last = receiver.requests[-1]
    assert last.headers["Content-Type"] == "application/json"
    assert json.loads(last.body)["type"] == "entity_crm"


def _events(sandbox, receiver, n: int) -> list[str]:
    for i in range(n):
        sandbox.act_create(DOMAIN, "leads", title=f"E{i}")
    assert sandbox.webhooks.wait_idle()
    return _titles(receiver)


def test_in_order_and_once_by_default(sandbox, receiver):
    _subscribe(sandbox, receiver)
    _confirm_plain(sandbox, receiver)
    assert _events(sandbox, receiver, 8) == [f"E{i}" for i in range(8)]


def test_duplicate_rate_sends_events_twice(sandbox, receiver):
    _subscribe(sandbox, receiver)
    _confirm_plain(sandbox, receiver)
    sandbox.delivery(DOMAIN, duplicate_rate=1.0)
    titles = _events(sandbox, receiver, 4)
    assert titles == [t for i in range(4) for t in (f"E{i}", f"E{i}")]
    ids = [json.loads(b).get("id") for b in receiver.bodies(HOOK)][1:]
    assert len(set(ids)) == 4


def test_reorder_rate_lets_later_events_overtake(sandbox, receiver):
    _subscribe(sandbox, receiver)
    _confirm_plain(sandbox, receiver)
    sandbox.delivery(DOMAIN, reorder_rate=1.0)
    assert _events(sandbox, receiver, 4) == ["E1", "E0", "E3", "E2"]


def test_partial_rates_are_reproducible_with_the_seed(sandbox, receiver):
    _subscribe(sandbox, receiver)
    _confirm_plain(sandbox, receiver)
    runs = []
    for _ in range(2):
        sandbox.delivery(DOMAIN, duplicate_rate=0.3, reorder_rate=0.3, seed=9)
        start = len(_titles(receiver))
        runs.append(_events(sandbox, receiver, 12)[start:])
    assert runs[0] == runs[1]
    assert runs[0] != [f"E{i}" for i in range(12)]
    assert sorted(set(runs[0])) == sorted(f"E{i}" for i in range(12))
