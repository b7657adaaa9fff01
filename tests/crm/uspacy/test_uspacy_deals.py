"""Deals and webhooks of a Uspacy portal over HTTP: a deal's stage classified won
(SUCCESS) / lost (FAIL) / open from the funnels, with its contacts; our webhook
registered once, confirmed through its validation link and delivering; and the
Disconnect removing it."""

import threading
from collections.abc import Iterator

import pytest
from flask import Flask, request

from app.sandbox.server import ServerThread
from tests.crm.uspacy.helpers import DOMAIN

FUNNELS = "GET /crm/v1/entities/<any(leads, deals):kind>/funnel"
CLOSED = 1_767_225_600


class Inbox:
    """A stand-in for the app's webhook endpoint: records every JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""

    def of_type(self, kind: str) -> list[dict]:
        with self.lock:
            return [b for b in self.bodies if b.get("type") == kind]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    state = Inbox()
    app = Flask("inbox")

    @app.post("/uspacy/v1/webhooks/<key>")
    def receive(key: str):
        with state.lock:
            state.bodies.append(request.get_json(force=True))
        return "", 200

    server = ServerThread(app).start()
    state.url = f"{server.base_url}/uspacy/v1/webhooks/portal-secret"
    yield state
    server.stop()


def stages(uspacy) -> dict[str, int]:
    [funnel] = uspacy.store.portals[DOMAIN].funnels["deals"]
    return {stage["stage_code"]: stage["id"] for stage in funnel["stages"]}


def a_deal(uspacy, **values) -> str:
    contacts = [uspacy.act_create(DOMAIN, "contacts")["id"] for _ in range(2)]
    deal = uspacy.act_create(
        DOMAIN, "deals", contacts=[{"id": c, "title": "C"} for c in contacts], **values
    )
    return str(deal["id"])


def test_a_deals_outcome_follows_its_stage(uspacy, account):
    deal_id = a_deal(uspacy, closed_at=CLOSED)
    codes = stages(uspacy)

    opened = account.read_deal(deal_id)
    uspacy.act_move(DOMAIN, "deals", int(deal_id), codes["negotiation"])
    working = account.read_deal(deal_id)
    uspacy.act_move(DOMAIN, "deals", int(deal_id), codes["SUCCESS"])
    won = account.read_deal(deal_id)
    uspacy.act_move(DOMAIN, "deals", int(deal_id), codes["FAIL"])
    lost = account.read_deal(deal_id)

    assert [d.outcome for d in (opened, working, won, lost)] == [
        "open",
        "open",
        "won",
        "lost",
    ]
    assert won.stage_id == str(codes["SUCCESS"]) and won.pipeline_id == "2"
    assert len(won.contact_ids) == 2 and all(i.isdigit() for i in won.contact_ids)
    assert won.closed_at is not None and won.closed_at.timestamp() == CLOSED
    assert opened.closed_at is None
    # The funnels were read once for all four.
    assert uspacy.calls(DOMAIN)[FUNNELS] == 1


def test_a_stage_added_later_is_learned_and_an_unknown_one_uses_the_status(
    uspacy, account
):
    deal_id = a_deal(uspacy)
    account.read_deal(deal_id)
    [funnel] = uspacy.store.portals[DOMAIN].funnels["deals"]
    funnel["stages"].append(
        {**funnel["stages"][3], "id": 29, "title": "Won big", "sort": 95}
    )
    uspacy.act_move(DOMAIN, "deals", int(deal_id), 29)

    assert account.read_deal(deal_id).outcome == "won"
    assert uspacy.calls(DOMAIN)[FUNNELS] == 2
    funnel["stages"].pop()  # the stage is deleted; the deal keeps its status
    other = account.read_deal(deal_id)
    assert other.outcome == "won" and other.stage_id == "29"


def test_a_missing_deal_is_none(account):
    assert account.read_deal("999999") is None
    assert account.read_deal("not-an-id") is None


def test_our_webhook_is_registered_once_confirmed_and_delivers(uspacy, account, inbox):
    setup = account.ensure_webhook(inbox.url)
    assert setup.created and not setup.confirmed
    uspacy.webhooks.wait_idle()
    [confirmation] = inbox.of_type("confirmation")

    account.confirm_webhook(confirmation["validation_link"])
    again = account.ensure_webhook(inbox.url)

    assert not again.created and again.confirmed
    assert again.webhook_id == setup.webhook_id
    [webhook] = uspacy.store.portals[DOMAIN].webhooks.values()
    assert {(e["table_name"], tuple(e["actions"])) for e in webhook["events"]} == {
        ("leads", ("create", "update")),
        ("contacts", ("create", "update")),
        ("deals", ("updateStage",)),
    }
    uspacy.act_create(DOMAIN, "leads", first_name="New")
    uspacy.webhooks.wait_idle()
    [event] = inbox.of_type("entity_crm")
    assert event["data"]["action"] == "create"
    assert event["data"]["entity"]["table_name"] == "leads"


def test_a_link_off_the_portal_is_not_fetched(account):
    with pytest.raises(ValueError):
        account.confirm_webhook("http://127.0.0.1:9/company/v1/webhooks/1/confirm")
    with pytest.raises(ValueError):
        account.confirm_webhook(account._api.base_url + ".evil.example/x")


def test_an_incomplete_or_switched_off_webhook_is_put_right(uspacy, account, inbox):
    portal = uspacy.store.portals[DOMAIN]
    first = account.ensure_webhook(inbox.url)
    portal.webhooks[int(first.webhook_id)]["active"] = False

    switched_on = account.ensure_webhook(inbox.url)

    assert switched_on.webhook_id == first.webhook_id
    assert portal.webhooks[int(first.webhook_id)]["active"] is True
    portal.webhooks[int(first.webhook_id)]["events"] = []
    replaced = account.ensure_webhook(inbox.url)
    assert replaced.created and replaced.webhook_id != first.webhook_id
    assert list(portal.webhooks) == [int(replaced.webhook_id)]


def test_disconnect_removes_our_webhooks_and_survives_a_gone_install(
    uspacy, account, inbox
):
    account.ensure_webhook(inbox.url)
    account.ensure_webhook(inbox.url + "-second")
    assert account.app_user_id() == "900"

    account.uninstall()

    assert uspacy.store.portals[DOMAIN].webhooks == {}
    uspacy.tokens.revoke(DOMAIN)
    account.uninstall()  # the install is gone already: done
