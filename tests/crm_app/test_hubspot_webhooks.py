"""HubSpot webhook intake, over real HTTP: the HubSpot sandbox delivers signed
events (v3, per attempt, duplicated and shuffled on request) to the app under a
real server; each event is stored once in the inbox of its own portal, forged,
stale and future-dated signatures are refused, and our own writes never come
back as work."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
import requests
from huey import MemoryHuey
from sqlalchemy import func, select

from app import create_app
from app.crm.hubspot.config import HubSpotConfig
from app.crm.hubspot.subscriptions import SUBSCRIPTIONS
from app.crm.hubspot.webhooks import (
    MAX_EVENTS_PER_BODY,
    MAX_PROPERTY_VALUE_CHARS,
    parse_events,
    verify_signature,
)
from app.models import CrmEvent
from app.queue import JobQueue
from app.sandbox.hubspot import signing
from app.services.crm.hubspot_inbox import HubSpotInbox, PortalCache
from tests.conftest import app_settings, close_app
from tests.crm_app.conftest import SERVED_APP_ID, SERVED_CLIENT_SECRET, ServedApp

HUB, OTHER_HUB = 48213377, 48213399
PATH = "/hubspot/webhooks"


def _subscriptions() -> list[dict]:
    """The app's own subscriptions, as its developer project declares them."""
    return [
        {"subscriptionType": s.subscription_type, "propertyName": s.property_name}
        for s in SUBSCRIPTIONS
    ]


def _identity(event: dict) -> tuple:
    """What makes two deliveries the same event (eventId is not unique)."""
    common = (event["portalId"], event["subscriptionType"], event["occurredAt"])
    if event["subscriptionType"].endswith(".associationChange"):
        return (
            *common,
            event["associationType"],
            event["fromObjectId"],
            event["toObjectId"],
            event["associationRemoved"],
        )
    return (
        *common,
        event["subscriptionId"],
        event["objectId"],
        event.get("propertyName"),
        event.get("propertyValue"),
    )


def _stored(served: ServedApp, account_pk: int | None = None) -> list[CrmEvent]:
    with served.services.sessions() as session:
        query = select(CrmEvent).order_by(CrmEvent.id)
        if account_pk is not None:
            query = query.where(CrmEvent.account_pk == account_pk)
        return list(session.scalars(query))


def _delivered(served: ServedApp) -> list[dict]:
    """Every event of every delivery the sandbox made (duplicates included)."""
    deliveries = served.hubspot.deliveries()
    assert deliveries and all(d.get("status") == 200 for d in deliveries), [
        (d.get("status"), d.get("error")) for d in deliveries
    ]
    return [event for d in deliveries for event in json.loads(d["body"])]


def _post(
    served: ServedApp,
    events: list[dict] | str,
    *,
    secret: str = SERVED_CLIENT_SECRET,
    shift_ms: int = 0,
    query: str = "",
) -> requests.Response:
    """POST a body signed the way HubSpot signs it (the sandbox's signer)."""
    body = events if isinstance(events, str) else json.dumps(events)
    url = f"{served.base_url}{PATH}{query}"
    stamp = int(time.time() * 1000) + shift_ms
    return requests.post(
        url, data=body, headers=signing.headers(secret, url, body, stamp), timeout=10
    )


def _change(hub: int, object_id: int, name: str, value: str, **extra) -> dict:
    return {
        "eventId": 100,
        "subscriptionId": 7,
        "portalId": hub,
        "appId": SERVED_APP_ID,
        "occurredAt": 1796100000123,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": object_id,
        "propertyName": name,
        "propertyValue": value,
        "changeSource": "CRM_UI",
        "sourceId": "userId:9",
        **extra,
    }


def _association(hub: int, removed: bool = False, **extra) -> dict:
    return {
        "eventId": 200,
        "subscriptionId": 9,
        "portalId": hub,
        "appId": SERVED_APP_ID,
        "occurredAt": 1796100000500,
        "subscriptionType": "deal.associationChange",
        "attemptNumber": 0,
        "changeSource": "USER",
        "sourceId": "userId:9",
        "associationType": "DEAL_TO_CONTACT",
        "fromObjectId": 541935488729,
        "toObjectId": 541935488730,
        "associationRemoved": removed,
        "isPrimaryAssociation": False,
        **extra,
    }


# -- deliveries from the sandbox -------------------------------------------------


def test_duplicated_shuffled_deliveries_are_stored_once(served: ServedApp):
    pk = served.install(HUB)
    hubspot, act = served.hubspot, served.hubspot.act
    hubspot.configure_webhooks(
        f"{served.base_url}{PATH}",
        _subscriptions(),
        duplicates=1.0,  # every delivery arrives twice
        out_of_order=True,
    )
    olena = act.create_contact(HUB, email="olena@acme.example", firstname="Olena")
    taras = act.create_contact(HUB, email="taras@acme.example")
    act.update_contact(HUB, olena, jobtitle="CEO", phone="+380441234567")
    act.update_contact(HUB, taras, lifecyclestage="lead")
    deal = act.create_deal(HUB, [olena], dealname="Pilot")
    act.associate(HUB, deal, taras)
    act.move_deal(HUB, deal, "closedwon")
    act.merge_contacts(HUB, olena, taras)
    assert hubspot.webhooks.wait_idle(timeout=30)

    delivered = _delivered(served)
    distinct = {_identity(event): event for event in delivered}
    assert len(delivered) >= 2 * len(distinct)  # each one came at least twice
    stored = _stored(served, pk)
    # Every distinct event exactly once.
    assert Counter(_identity(row.payload) for row in stored) == Counter(list(distinct))
    kinds = {row.kind for row in stored}
    assert {
        "contact.creation",
        "contact.propertyChange",
        "contact.merge",
        "deal.propertyChange",
        "deal.associationChange",
    } <= kinds
    for row in stored:
        sent = distinct[_identity(row.payload)]
        assert row.status == "pending" and row.attempts == 0
        assert row.occurred_at == datetime.fromtimestamp(sent["occurredAt"] / 1000, UTC)
        if row.kind.endswith("associationChange"):
            assert row.object_id is None
            assert row.payload["fromObjectId"] == sent["fromObjectId"]
            assert row.payload["toObjectId"] == sent["toObjectId"]
        else:
            assert row.object_id == str(sent["objectId"])
    # Stored as the models store rows: the worker's query finds every one.
    with served.services.sessions() as session:
        due = session.scalar(
            select(func.count())
            .select_from(CrmEvent)
            .where(CrmEvent.status == "pending")
            .where(CrmEvent.next_attempt_at <= datetime.now(UTC))
        )
    assert due == len(distinct)


def test_ten_concurrent_deliveries_of_one_body_store_it_once(served: ServedApp):
    pk = served.install(HUB)
    events = [
        _change(HUB, 541935488000 + i, "email", f"p{i}@acme.example")
        for i in range(100)
    ]
    answers: list[dict] = []
    start = threading.Barrier(10)

    def deliver() -> None:
        start.wait()
        answer = _post(served, events)
        answers.append({"status": answer.status_code, **answer.json()})

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a["status"] for a in answers] == [200] * 10
    assert sum(a["stored"] for a in answers) == 100
    assert sum(a["duplicates"] for a in answers) == 900
    assert len(_stored(served, pk)) == 100


def test_a_portal_gets_only_its_own_events(served: ServedApp):
    first, second = served.install(HUB), served.install(OTHER_HUB, "ops@globex.example")
    hubspot, act = served.hubspot, served.hubspot.act
    hubspot.configure_webhooks(f"{served.base_url}{PATH}", _subscriptions())
    act.create_contact(HUB, email="a@acme.example")
    act.create_contact(OTHER_HUB, email="b@globex.example")
    act.create_contact(OTHER_HUB, email="c@globex.example")
    assert hubspot.webhooks.wait_idle(timeout=30)
    by_portal: dict[int, set] = {HUB: set(), OTHER_HUB: set()}
    for event in _delivered(served):
        by_portal[event["portalId"]].add(event["eventId"])
    for hub, pk in ((HUB, first), (OTHER_HUB, second)):
        assert {row.payload["eventId"] for row in _stored(served, pk)} == by_portal[hub]

    # A body naming the other portal lands in that portal's inbox only.
    answer = _post(served, [_change(OTHER_HUB, 541935488001, "email", "x@globex")])
    assert answer.json() == {"stored": 1, "duplicates": 0, "dropped": 0}
    assert len(_stored(served, first)) == len(by_portal[HUB])
    assert len(_stored(served, second)) == len(by_portal[OTHER_HUB]) + 1


def test_our_properties_and_our_own_changes_are_dropped(served: ServedApp):
    pk = served.install(HUB)
    hubspot, act = served.hubspot, served.hubspot.act
    hubspot.configure_webhooks(
        f"{served.base_url}{PATH}",
        [
            {"subscriptionType": "contact.propertyChange", "propertyName": name}
            for name in ("firstname", "conturs_score", "conturs_label")
        ],
    )
    contact = act.create_contact(HUB, email="olena@acme.example")
    token = served.services.hubspot.tokens.of(pk).current()

    def write_as_the_app(properties: dict) -> None:
        answer = requests.patch(
            f"{hubspot.base_url}/crm/v3/objects/contacts/{contact}",
            json={"properties": properties},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    write_as_the_app({"conturs_score": "87", "conturs_label": "Hot"})
    write_as_the_app({"firstname": "Olena"})  # our app's own change
    act.update_contact(HUB, contact, conturs_score="12")  # a person edits ours
    act.update_contact(HUB, contact, firstname="Olenka")  # the one that counts
    assert hubspot.webhooks.wait_idle(timeout=30)

    delivered = _delivered(served)
    assert len(delivered) == 5
    assert {e["sourceId"] for e in delivered} >= {str(SERVED_APP_ID)}
    [kept] = _stored(served, pk)
    assert kept.payload["propertyName"] == "firstname"
    assert kept.payload["propertyValue"] == "Olenka"
    assert kept.payload["sourceId"].startswith("userId:")


def test_an_encoded_target_url_verifies_as_hubspot_signs_it(served: ServedApp):
    """HubSpot decodes %40, %2C and ten other escapes before signing, and no
    others (%20 stays): the app must rebuild exactly that URL."""
    pk = served.install(HUB)
    hubspot = served.hubspot
    target = f"{served.base_url}{PATH}?route=acme%40eu%2Cwest&label=a%20b%3a"
    hubspot.configure_webhooks(target, _subscriptions())
    hubspot.act.create_contact(HUB, email="olena@acme.example")
    assert hubspot.webhooks.wait_idle(timeout=30)
    delivered = _delivered(served)  # every delivery answered 200
    assert len(_stored(served, pk)) == len(delivered) > 0

    # Signed over the URL without decoding: not what HubSpot signs.
    body = json.dumps([_change(HUB, 541935488002, "email", "x@acme")])
    stamp = str(int(time.time() * 1000))
    undecoded = "POST" + target + body + stamp
    wrong = base64.b64encode(
        hmac.new(
            SERVED_CLIENT_SECRET.encode(), undecoded.encode(), hashlib.sha256
        ).digest()
    ).decode()
    answer = requests.post(
        target,
        data=body,
        headers={
            "X-HubSpot-Signature-v3": wrong,
            "X-HubSpot-Request-Timestamp": stamp,
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 401
    assert len(_stored(served, pk)) == len(delivered)


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param({"secret": "not-the-client-secret"}, id="forged"),
        pytest.param({"shift_ms": -6 * 60 * 1000}, id="stale"),
        pytest.param({"shift_ms": 2 * 60 * 1000}, id="future"),
        pytest.param({"shift_ms": 365 * 24 * 3600 * 1000}, id="far-future"),
    ],
)
def test_bad_signatures_are_refused_and_store_nothing(served: ServedApp, forge):
    served.install(HUB)
    events = [_change(HUB, 541935488003, "email", "x@acme.example")]
    refused = _post(served, events, **forge)
    assert refused.status_code == 401
    assert refused.json() == {"error": "Missing or invalid HubSpot signature"}
    assert _stored(served) == []
    assert _post(served, events).status_code == 200  # the genuine one
    assert len(_stored(served)) == 1


def test_unsigned_tampered_and_garbled_signatures_are_refused(served: ServedApp):
    served.install(HUB)
    url = f"{served.base_url}{PATH}"
    body = json.dumps([_change(HUB, 541935488004, "email", "x@acme.example")])
    assert requests.post(url, data=body, timeout=10).status_code == 401
    headers = signing.headers(SERVED_CLIENT_SECRET, url, body, int(time.time() * 1000))
    tampered = body.replace("x@acme", "y@acme")
    assert (
        requests.post(url, data=tampered, headers=headers, timeout=10).status_code
        == 401
    )
    headers["X-HubSpot-Signature-v3"] = "é" * 44  # not ASCII: never a signature
    assert (
        requests.post(
            url,
            data=body.encode(),
            headers={k: v.encode("latin-1") for k, v in headers.items()},
            timeout=10,
        ).status_code
        == 401
    )
    assert _stored(served) == []


def test_a_little_clock_skew_is_tolerated(served: ServedApp):
    served.install(HUB)
    events = [_change(HUB, 541935488005, "email", "x@acme.example")]
    assert _post(served, events, shift_ms=30_000).status_code == 200
    assert _post(served, events, shift_ms=-4 * 60 * 1000).json()["duplicates"] == 1


def test_unknown_and_uninstalled_portals_are_acknowledged_and_ignored(
    served: ServedApp,
):
    served.install(HUB)
    answer = _post(served, [_change(97000001, 541935488006, "email", "x@nowhere")])
    assert answer.status_code == 200
    assert answer.json() == {"stored": 0, "duplicates": 0, "dropped": 1}

    served.install(OTHER_HUB)
    served.hubspot.uninstall(OTHER_HUB)
    assert served.services.hubspot.check_uninstalls() == [str(OTHER_HUB)]
    answer = _post(served, [_change(OTHER_HUB, 541935488007, "email", "x@globex")])
    assert answer.json() == {"stored": 0, "duplicates": 0, "dropped": 1}
    assert _stored(served) == []


def test_a_body_that_is_not_json_is_400_and_other_bodies_200(served: ServedApp):
    served.install(HUB)
    assert _post(served, "[{not json").status_code == 400
    for body in ('{"portalId": 1}', "[]", '[1, "two", null, {"portalId": "x"}]'):
        answer = _post(served, body)
        assert answer.status_code == 200
        assert answer.json() == {"stored": 0, "duplicates": 0, "dropped": 0}
    assert _stored(served) == []


def test_association_events_without_object_id_are_deduplicated(served: ServedApp):
    pk = served.install(HUB)
    linked, unlinked = _association(HUB), _association(HUB, removed=True)
    answer = _post(served, [linked, unlinked, dict(linked)])
    assert answer.json() == {"stored": 2, "duplicates": 1, "dropped": 0}
    # A retry: another attempt number and event id, the same association change.
    retried = {**linked, "attemptNumber": 3, "eventId": 999}
    assert _post(served, [retried]).json()["duplicates"] == 1
    # The other side of the same link, and a later change, are events of their own.
    other_side = {
        **linked,
        "subscriptionType": "contact.associationChange",
        "associationType": "CONTACT_TO_DEAL",
        "fromObjectId": linked["toObjectId"],
        "toObjectId": linked["fromObjectId"],
    }
    later = {**linked, "occurredAt": linked["occurredAt"] + 1}
    assert _post(served, [other_side, later]).json()["stored"] == 2
    rows = _stored(served, pk)
    assert len(rows) == 4 and all(row.object_id is None for row in rows)
    first = next(row for row in rows if row.payload["associationRemoved"] is False)
    assert first.kind == "deal.associationChange" and first.object_type == "deals"
    assert first.payload["isPrimaryAssociation"] is False
    assert first.payload["fromObjectId"] == 541935488729


def test_without_hubspot_settings_the_route_is_unavailable(tmp_path, database_url):
    app = create_app(app_settings(tmp_path / "instance", DATABASE_URL=database_url))
    try:
        answer = app.test_client().post(PATH, data="[]")
        assert answer.status_code == 503
        assert "not configured" in answer.get_json()["error"]
    finally:
        close_app(app)


# -- the wake-up --------------------------------------------------------------------


def test_new_events_wake_the_sync_once_per_portal(served: ServedApp):
    first, second = served.install(HUB), served.install(OTHER_HUB)
    queue = JobQueue(MemoryHuey("wake-test", immediate=True))
    woken: list[int] = []

    @queue.huey.task(name="sync_account")
    def sync_account(account_pk: int) -> None:
        woken.append(account_pk)

    inbox = HubSpotInbox(served.services.sessions, queue, str(SERVED_APP_ID))
    body = [
        _change(HUB, 541935488010, "email", "a@acme"),
        _change(HUB, 541935488011, "email", "b@acme"),
        _change(OTHER_HUB, 541935488012, "email", "c@globex"),
    ]
    events = parse_events(json.dumps(body).encode())
    assert inbox.accept(events).stored == 3
    assert woken == []  # not registered yet: skipped, the request unharmed
    queue.register("sync_account", sync_account)
    body += [_change(HUB, 541935488013, "email", "d@acme")]
    result = inbox.accept(parse_events(json.dumps(body).encode()))
    assert (result.stored, result.duplicates) == (1, 3)
    assert woken == [first]
    inbox.accept(parse_events(json.dumps(body).encode()))  # nothing new
    assert woken == [first]
    body += [
        _change(HUB, 541935488014, "email", "e@acme"),
        _change(OTHER_HUB, 541935488015, "email", "f@globex"),
    ]
    inbox.accept(parse_events(json.dumps(body).encode()))
    assert sorted(woken[1:]) == [first, second]


# -- parsing and verifying, without a server -----------------------------------------


def test_parsing_keeps_what_is_usable_and_bounds_the_rest():
    good = _change(HUB, "541935488729", "jobtitle", "x" * 5000)
    events = parse_events(
        json.dumps(
            [
                good,
                {
                    **good,
                    "subscriptionType": None,
                    "eventType": "contact.propertyChange",
                    "unknownField": {"nested": [1, 2]},
                    "propertyName": "phone",
                },
                {**good, "objectId": 2**63},  # beyond 64 bits
                {**good, "objectId": "12a"},
                {**good, "objectId": True},
                {**good, "portalId": -5},
                {**good, "occurredAt": "yesterday"},
                {**good, "subscriptionType": "ticket.creation"},
                {**good, "subscriptionType": "contact.somethingNew"},
                {**good, "propertyName": "p" * 300},
                {**good, "subscriptionType": "object.creation", "objectTypeId": "0-3"},
                {**good, "subscriptionType": "object.creation", "objectTypeId": "2-99"},
                "not an event",
            ]
        ).encode()
    )
    assert [(e.kind, e.object_type, e.property_name) for e in events] == [
        ("contact.propertyChange", "contacts", "jobtitle"),
        ("contact.propertyChange", "contacts", "phone"),
        ("object.creation", "deals", None),
    ]
    first = events[0]
    assert first.object_id == "541935488729" and first.portal_id == str(HUB)
    assert len(first.property_value) == MAX_PROPERTY_VALUE_CHARS
    assert "unknownField" not in events[1].payload
    assert len(first.dedupe_key) == 64
    assert first.occurred_at == datetime(2026, 12, 1, 4, 40, 0, 123000, tzinfo=UTC)

    many = [_change(HUB, 541935488000 + i, "email", "x") for i in range(1500)]
    assert len(parse_events(json.dumps(many).encode())) == MAX_EVENTS_PER_BODY
    with pytest.raises(ValueError):
        parse_events(b"\xff\xfe not json")


def test_merge_events_keep_hubspots_merge_fields():
    merge = {
        **_change(HUB, 541935488729, "x", "y"),
        "subscriptionType": "contact.merge",
        "primaryObjectId": 541935488729,
        "mergedObjectIds": [541935488730, "bogus", 541935488731],
        "newObjectId": 541935488800,
        "numberOfPropertiesMoved": 4,
    }
    [event] = parse_events(json.dumps([merge]).encode())
    assert event.property_name is None
    assert event.payload["mergedObjectIds"] == [541935488730, 541935488731]
    assert event.payload["primaryObjectId"] == 541935488729
    assert event.payload["newObjectId"] == 541935488800
    assert event.payload["numberOfPropertiesMoved"] == 4


def test_verification_reads_headers_in_any_case():
    config = HubSpotConfig("id", SERVED_CLIENT_SECRET, "https://x.example/cb")
    url, body = "https://x.example/hubspot/webhooks", '[{"a": 1}]'
    headers = signing.headers(SERVED_CLIENT_SECRET, url, body, int(time.time() * 1000))
    lowered = {k.lower(): v for k, v in headers.items()}
    now = datetime.now(UTC)
    assert verify_signature(config, "post", url, body.encode(), lowered, now)
    assert not verify_signature(
        config, "POST", url + "?x=1", body.encode(), lowered, now
    )
    assert not verify_signature(config, "POST", url, body.encode(), {}, now)


def test_the_portal_cache_is_bounded_and_soon_forgets_absent_portals():
    cache = PortalCache(size=3, seconds=60, absent_seconds=0.05)
    cache.remember({"1": 11, "2": 12, "3": None})
    cache.remember({"4": 14, "5": 15})  # over the bound: the oldest go
    assert cache.known(["1", "2", "3", "4", "5"]) == {"3": None, "4": 14, "5": 15}
    time.sleep(0.1)
    assert cache.known(["3", "4", "5"]) == {"4": 14, "5": 15}
