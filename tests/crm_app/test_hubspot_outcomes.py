"""Deal outcomes and record signals become feedback, once each, over real HTTP:
people work in the HubSpot sandbox, its webhooks reach the served app twice and
shuffled, and the worker (HubSpotApp.sync, called until the inbox is empty)
turns closed deals into `converted` / `ignored` for their contacts, withdraws
them when a deal reopens, and records a newly shown click once."""

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from app.cli import _Context, main
from app.crm.hubspot.subscriptions import SUBSCRIPTIONS
from app.models import (
    CrmAccount,
    CrmContactOutcome,
    CrmDealContact,
    CrmEvent,
    Feedback,
    ScoreHistory,
)
from tests.crm_app.conftest import ServedApp

HUB = 48213391
PATH = "/hubspot/webhooks"


def _start(served: ServedApp, **delivery) -> int:
    """Install on HUB and deliver every subscribed change twice (about half of
    them) and shuffled; the installed account's pk."""
    pk = served.install(HUB)
    served.hubspot.configure_webhooks(
        f"{served.base_url}{PATH}",
        [
            {"subscriptionType": s.subscription_type, "propertyName": s.property_name}
            for s in SUBSCRIPTIONS
        ],
        **({"duplicates": 0.5, "out_of_order": True} | delivery),
    )
    return pk


def _work(served: ServedApp, pk: int) -> None:
    """Wait for HubSpot's deliveries, then run the worker until the inbox is empty."""
    assert served.hubspot.webhooks.wait_idle(timeout=30)
    for _ in range(20):
        served.services.hubspot.sync(pk)
        with served.services.sessions() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(CrmEvent)
                .where(CrmEvent.account_pk == pk, CrmEvent.status != "done")
            )
        if not pending:
            return
    raise AssertionError("the inbox did not empty")


def _contacts(served: ServedApp, count: int, **properties) -> list[str]:
    act = served.hubspot.act
    return [
        act.create_contact(
            HUB,
            email=f"person{i}@acme-robotics.com",
            jobtitle="Head of Operations",
            hs_lead_status="NEW",
            **properties,
        )
        for i in range(count)
    ]


def _key(served: ServedApp, contact_id: str) -> str:
    return served.services.lead_keys.for_crm_record(
        "hubspot", str(HUB), "contacts", contact_id
    )


def _actions(served: ServedApp, pk: int, contact_ids: list[str]) -> dict[str, list]:
    """The feedback recorded for each contact: its actions, sorted."""
    with served.services.sessions() as session:
        client_id = session.get(CrmAccount, pk).client_id
        return {
            cid: sorted(
                session.scalars(
                    select(Feedback.action).where(
                        Feedback.client_id == client_id,
                        Feedback.lead_key == _key(served, cid),
                    )
                )
            )
            for cid in contact_ids
        }


def _cli(served: ServedApp, *args: str):
    context = _Context()
    context._app = served.app  # the served deployment's own app
    return CliRunner().invoke(main, list(args), obj=context)


def test_a_won_deal_converts_its_contacts_once_and_reopening_withdraws_it(
    served: ServedApp,
):
    pk = _start(served)
    olena, taras, stranger = _contacts(served, 3)
    _work(served, pk)  # scored on creation
    deal = served.hubspot.act.create_deal(
        HUB, [olena], dealname="Pilot", dealstage="appointmentscheduled"
    )
    served.hubspot.act.associate(HUB, deal, taras)
    served.hubspot.act.move_deal(HUB, deal, "closedwon")
    _work(served, pk)
    assert _actions(served, pk, [olena, taras, stranger]) == {
        olena: ["converted"],
        taras: ["converted"],
        stranger: [],
    }
    with served.services.sessions() as session:
        rows = session.scalars(select(CrmDealContact)).all()
        assert {(r.deal_id, r.contact_id, r.outcome) for r in rows} == {
            (deal, olena, "won"),
            (deal, taras, "won"),
        }
        assert all(len(r.deal_id) >= 11 for r in rows)  # 64-bit ids, kept exact

    # The same deal read again (a later change of another deal property, a
    # redelivery): nothing more.
    served.hubspot.act.move_deal(HUB, deal, "closedwon")
    served.hubspot.act.associate(HUB, deal, olena)
    _work(served, pk)
    assert _actions(served, pk, [olena, taras]) == {
        olena: ["converted"],
        taras: ["converted"],
    }
    shown = _cli(served, "accounts", "show", "--crm", "hubspot", "--account", str(HUB))
    assert json.loads(shown.stdout)["feedback"]["converted"] == 2

    served.hubspot.act.move_deal(HUB, deal, "contractsent")  # reopened
    _work(served, pk)
    assert _actions(served, pk, [olena, taras]) == {olena: [], taras: []}
    shown = _cli(served, "accounts", "show", "--crm", "hubspot", "--account", str(HUB))
    assert json.loads(shown.stdout)["feedback"]["converted"] == 0
    with served.services.sessions() as session:
        assert session.scalars(select(CrmDealContact)).all() == []
        assert session.scalars(select(CrmContactOutcome)).all() == []


def test_lost_then_won_ends_as_converted_only_and_pipelines_are_read_once(
    served: ServedApp,
):
    pk = _start(served)
    act = served.hubspot.act
    contacts = _contacts(served, 4)
    _work(served, pk)
    # Lost then won before anything is delivered: shuffled, in one batch.
    together = act.create_deal(
        HUB, contacts[:2], dealname="A", dealstage="qualifiedtobuy"
    )
    act.move_deal(HUB, together, "closedlost")
    act.move_deal(HUB, together, "closedwon")
    # Lost, delivered and recorded; won later: the ignored is replaced.
    apart = act.create_deal(HUB, contacts[2:], dealname="B", dealstage="qualifiedtobuy")
    act.move_deal(HUB, apart, "closedlost")
    _work(served, pk)
    assert _actions(served, pk, contacts[2:]) == {c: ["ignored"] for c in contacts[2:]}
    act.move_deal(HUB, apart, "closedwon")
    _work(served, pk)
    assert _actions(served, pk, contacts) == {c: ["converted"] for c in contacts}
    with served.services.sessions() as session:
        recorded = session.scalars(select(CrmContactOutcome)).all()
        assert {(r.contact_id, r.action) for r in recorded} == {
            (c, "converted") for c in contacts
        }

    # Many deals, many drains, one read of the pipelines.
    for index in range(6):
        deal = act.create_deal(
            HUB, [contacts[index % 4]], dealname=f"More {index}", dealstage="closedlost"
        )
        act.move_deal(HUB, deal, "presentationscheduled")
        _work(served, pk)
    calls = served.hubspot.calls(HUB)
    reads = {k: v for k, v in calls.items() if k.startswith("GET") and "pipelines" in k}
    assert sum(reads.values()) == 1, calls
    assert calls.get("GET /crm/v3/objects/deals/<object_id>", 0) >= 8


def test_the_feedback_carries_the_values_from_before_the_deal_closed(
    served: ServedApp,
):
    pk = _start(served)
    [olena] = _contacts(served, 1)
    _work(served, pk)
    key = _key(served, olena)
    with served.services.sessions() as session:
        [before] = session.scalars(
            select(ScoreHistory.factor_values).where(ScoreHistory.lead_key == key)
        ).all()
    # In one change: the deal is won and the contact's status follows it.
    deal = served.hubspot.act.create_deal(
        HUB, [olena], dealname="Rollout", dealstage="contractsent"
    )
    served.hubspot.act.move_deal(HUB, deal, "closedwon")
    served.hubspot.act.update_contact(HUB, olena, hs_lead_status="OPEN_DEAL")
    _work(served, pk)  # the contact is rescored before the deal is looked at
    with served.services.sessions() as session:
        history = session.scalars(
            select(ScoreHistory.factor_values)
            .where(ScoreHistory.lead_key == key)
            .order_by(ScoreHistory.id)
        ).all()
        [feedback] = session.scalars(
            select(Feedback).where(Feedback.lead_key == key)
        ).all()
    assert len(history) == 2 and history[-1] != before  # rescored: qualified now
    assert feedback.action == "converted"
    assert feedback.factor_values == before


def test_stage_overrides_set_from_the_cli_decide_the_outcome(served: ServedApp):
    pk = _start(served, duplicates=0.0)
    served.hubspot.add_pipeline(
        HUB,
        "pilots",
        "Pilots",
        [("5001", "Trial", "0.5", False), ("5002", "Dropped", "0.0", True)],
    )
    trial, won, dropped = _contacts(served, 3)
    _work(served, pk)
    bad = _cli(
        served,
        "accounts",
        "configure",
        "--crm",
        "hubspot",
        "--account",
        str(HUB),
        "--stage",
        "5001=maybe",
    )
    assert bad.exit_code == 1 and "unknown stage action" in bad.output
    configured = _cli(
        served,
        "accounts",
        "configure",
        "--crm",
        "hubspot",
        "--account",
        str(HUB),
        "--stage",
        "5001=converted",
        "--stage",
        "closedwon=none",
        "--stage",
        "5002=ignored",
        "--stage",
        "5002=",
    )
    assert configured.exit_code == 0, configured.output
    assert json.loads(configured.stdout) == {
        "stage_actions": {"5001": "converted", "closedwon": "none"}
    }
    shown = served.services.hubspot.describe(str(HUB))["stage_actions"]
    assert shown == {"5001": "converted", "closedwon": "none"}
    act = served.hubspot.act
    act.create_deal(HUB, [trial], dealname="T", pipeline="pilots", dealstage="5001")
    act.create_deal(HUB, [won], dealname="W", dealstage="closedwon")
    act.create_deal(HUB, [dropped], dealname="D", pipeline="pilots", dealstage="5002")
    _work(served, pk)
    assert _actions(served, pk, [trial, won, dropped]) == {
        trial: ["converted"],  # an open stage that counts as converted here
        won: [],  # won, but this account says the stage means nothing
        dropped: ["ignored"],  # the override was reset: the stage's own meaning
    }


def test_a_deal_closed_before_the_install_teaches_nothing(served: ServedApp):
    served.hubspot.create_account(HUB)
    act = served.hubspot.act
    early, late = _contacts(served, 2)
    long_ago = (datetime.now(UTC) - timedelta(days=40)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    old_deal = act.create_deal(
        HUB, [early], dealname="Old", dealstage="closedwon", closedate=long_ago
    )
    pk = _start(served)
    assert served.services.hubspot.backfill(pk)  # both scored at install
    act.associate(HUB, old_deal, late)  # a change after the install: read again
    new_deal = act.create_deal(HUB, [late], dealname="New", dealstage="closedlost")
    _work(served, pk)
    assert _actions(served, pk, [early, late]) == {early: [], late: ["ignored"]}
    with served.services.sessions() as session:
        rows = session.scalars(select(CrmDealContact)).all()
    assert {(r.deal_id, r.contact_id) for r in rows} == {(new_deal, late)}


def test_a_click_becomes_feedback_once_but_not_one_from_before_the_install(
    served: ServedApp,
):
    served.hubspot.create_account(HUB)
    act = served.hubspot.act
    clicked_before, reader = _contacts(served, 2)
    act.open_email(HUB, clicked_before, clicked=True)
    pk = _start(served)
    assert served.services.hubspot.backfill(pk)
    key = _key(served, reader)
    with served.services.sessions() as session:
        [before] = session.scalars(
            select(ScoreHistory.factor_values).where(ScoreHistory.lead_key == key)
        ).all()
    act.open_email(HUB, reader, clicked=True)
    act.open_email(HUB, clicked_before, clicked=True)
    _work(served, pk)
    act.open_email(HUB, reader, clicked=True)  # clicking again: still once
    _work(served, pk)
    assert _actions(served, pk, [clicked_before, reader]) == {
        clicked_before: [],
        reader: ["clicked"],
    }
    with served.services.sessions() as session:
        [feedback] = session.scalars(
            select(Feedback).where(Feedback.lead_key == key)
        ).all()
        history = session.scalars(
            select(ScoreHistory.factor_values).where(ScoreHistory.lead_key == key)
        ).all()
    assert len(history) >= 2 and history[1] != before  # the click moved it...
    assert feedback.factor_values == before  # ...after the feedback took its values
