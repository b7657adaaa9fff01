"""Accounts over HTTP: one account per real address, and rotated and revoked keys on
/leads, /config and /feedback."""

import time

import pytest
from sqlalchemy import func, select

from app.container import services_of
from app.models import ApiKey, Client
from app.scoring import FACTOR_KEYS
from app.services.learning.clients import revoke_api_keys, rotate_api_key
from app.services.scoring.configs import ClientConfigCache, LocalConfigSource
from tests.examples import EXAMPLE_LEADS


def register(client, email: str) -> dict:
    response = client.post("/config", json={"email": email})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def statuses(client, email: str, api_key: str, client_id: str) -> tuple[int, ...]:
    """What /leads, /config and /feedback answer to this key."""
    leads = client.post(
        "/leads", json={"api_key": api_key, "email": email, "leads": EXAMPLE_LEADS}
    )
    config = client.post("/config", json={"email": email, "api_key": api_key})
    feedback = client.post(
        "/feedback",
        json={
            "api_key": api_key,
            "client_id": client_id,
            "lead_id": "john.doe@techcorp.com",
            "action": "converted",
            "factors": dict.fromkeys(FACTOR_KEYS, 0.5),
        },
    )
    return leads.status_code, config.status_code, feedback.status_code


# One account per real address.


def test_look_alike_spellings_find_the_registered_client(client) -> None:
    first = register(client, "owner@x.com")
    assert first["email"] == "owner@x.com"
    for spelling in ["Owner@X.com.", "\uff4fwner@x.com", "OWNER@x.COM"]:
        again = client.post("/config", json={"email": spelling})
        assert again.status_code == 401, spelling  # known: no second account
        known = client.post(
            "/config", json={"email": spelling, "api_key": first["api_key"]}
        )
        assert known.status_code == 200
        assert known.get_json()["client_id"] == first["client_id"]
    leads = client.post(
        "/leads",
        json={
            "api_key": first["api_key"],
            "email": "Owner@X.com.",
            "leads": EXAMPLE_LEADS,
        },
    )
    assert leads.status_code == 200
    assert leads.get_json()["client_id"] == first["client_id"]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("owner\u200b@x.com", "U+200B"),
        ("owner@x.com\u200d", "U+200D"),
        ("\u043ewner@x.com", "mixes letters of different scripts"),  # Cyrillic о
        ("owner@x@y.com", "exactly one @"),
    ],
)
def test_look_alike_addresses_are_refused(app, client, email, message) -> None:
    response = client.post("/config", json={"email": email})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    # With a key, the question is whose key it is: not this non-address's.
    keyed = client.post("/config", json={"email": email, "api_key": "ck_x"})
    assert keyed.status_code == 401
    with services_of(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 0


def test_single_script_addresses_in_any_script_register(client) -> None:
    for email, stored in [
        ("пример@пример.рф", "пример@xn--e1afmkfd.xn--p1ai"),
        ("用户@例子.中国", "用户@xn--fsqu00a.xn--fiqs8s"),
    ]:
        registered = register(client, email)
        assert registered["email"] == stored
        known = client.post(
            "/config", json={"email": email, "api_key": registered["api_key"]}
        )
        assert known.status_code == 200
        assert known.get_json()["client_id"] == registered["client_id"]


def test_closed_registration_answers_known_and_unknown_alike(app, client) -> None:
    register(client, "owner@x.com")
    services_of(app).accounts.open_registration = False
    known = client.post("/config", json={"email": "owner@x.com"})
    unknown = client.post("/config", json={"email": "nobody@x.com"})
    assert known.status_code == unknown.status_code == 403
    assert known.get_json() == unknown.get_json()


# Rotating and revoking keys.


def test_a_rotated_key_replaces_the_old_one_everywhere(app, client) -> None:
    services = services_of(app)
    first = register(client, "owner@x.com")
    old, client_id = first["api_key"], first["client_id"]
    assert statuses(client, "owner@x.com", old, client_id)[0] == 200  # now cached
    rotated = rotate_api_key(services.sessions, client_id)
    assert rotated.old_prefixes == [old[:10]]
    services.configs.invalidate()
    assert statuses(client, "owner@x.com", old, client_id) == (401, 401, 401)
    assert statuses(client, "owner@x.com", rotated.api_key, client_id) == (
        200,
        200,
        200,
    )


def test_a_grace_period_keeps_the_old_key_until_it_ends(app, client) -> None:
    services = services_of(app)
    first = register(client, "owner@x.com")
    old, client_id = first["api_key"], first["client_id"]
    rotated = rotate_api_key(services.sessions, client_id, grace_seconds=3600)
    services.configs.invalidate()
    assert statuses(client, "owner@x.com", old, client_id) == (200, 200, 200)
    assert statuses(client, "owner@x.com", rotated.api_key, client_id)[0] == 200
    # A second rotation never lengthens the grace the first one gave.
    again = rotate_api_key(services.sessions, client_id, grace_seconds=7200)
    with services.sessions() as session:
        ends = dict(session.execute(select(ApiKey.prefix, ApiKey.revoked_at)).all())
    assert ends[old[:10]] == rotated.old_keys_end_at
    assert ends[rotated.prefix] == again.old_keys_end_at
    assert revoke_api_keys(services.sessions, client_id, old[:10]) == [old[:10]]
    services.configs.invalidate()
    assert statuses(client, "owner@x.com", old, client_id) == (401, 401, 401)
    assert statuses(client, "owner@x.com", again.api_key, client_id)[0] == 200


def test_a_revoked_key_is_dropped_when_another_process_refreshes(app) -> None:
    """Without invalidation (another process revoked it), a cached key is served
    until its TTL ends, and the refresh after that drops it."""
    services = services_of(app)
    clock = [1000.0]
    cache = ClientConfigCache(
        LocalConfigSource(services.sessions), 60, clock=lambda: clock[0]
    )
    issued = app.test_client().post("/config", json={"email": "o@x.com"}).get_json()
    key = issued["api_key"]
    assert cache.for_api_key(key, "o@x.com") is not None
    revoke_api_keys(services.sessions, issued["client_id"])
    assert cache.for_api_key(key, "o@x.com") is not None  # within the TTL
    clock[0] += 61
    deadline = time.monotonic() + 10
    while cache.for_api_key(key, "o@x.com") is not None:  # a background refresh
        assert time.monotonic() < deadline, "the revoked key was never dropped"
        time.sleep(0.02)
