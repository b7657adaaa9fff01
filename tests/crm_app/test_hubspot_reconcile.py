"""The daily reconciliation, over real HTTP: with every change a lost event (no
webhook reaches the app), a new walk over every contact writes the scores that
went stale or were cleared, forgets contacts HubSpot deleted, and writes nothing
for unchanged contacts; a second run of one walk stops instead of walking
beside it, and the sweep of deleted contacts is bounded per run."""

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from app.cli import _Context, main
from app.crm.hubspot.subscriptions import SUBSCRIPTIONS
from app.models import CrmEvent, CrmRecord
from app.models.sync import CrmSync
from app.services.crm import reconcile
from tests.crm_app.conftest import ServedApp, add_text_property

HUB = 48213391
CONTACTS = 120  # two pages of the contact list
LIST_CALL = "GET /crm/v3/objects/contacts"


def _run_queue(served: ServedApp, limit: int = 100) -> int:
    """What the worker does: run queued tasks until none is left."""
    huey = served.services.tasks.huey
    for ran in range(limit):
        task = huey.dequeue()
        if task is None:
            return ran
        huey.execute(task)
    raise AssertionError("the queue did not empty")


def _reconcile_daily(served: ServedApp) -> None:
    """The worker's scheduler at the reconciliation's time of day."""
    huey = served.services.tasks.huey
    due = huey.read_periodic(datetime(2026, 3, 2, 3, 29, tzinfo=UTC))
    (task,) = [t for t in due if t.name == "reconcile_accounts"]
    huey.execute(task)


@pytest.fixture
def portal(served: ServedApp) -> int:
    """An installed portal whose install backfill has run; its account pk."""
    served.hubspot.create_account(HUB)
    served.hubspot.seed(HUB, contacts=CONTACTS, deals=4)
    account_pk = served.install(HUB)
    _run_queue(served)
    assert served.services.hubspot.describe(str(HUB))["contacts_scored"] == CONTACTS
    return account_pk


def _properties(served: ServedApp, contact_id: str) -> dict:
    return served.hubspot.get_object(HUB, "contacts", contact_id)["properties"]


def _contact_ids(served: ServedApp, account_pk: int) -> list[str]:
    with served.services.sessions() as session:
        return list(
            session.scalars(
                select(CrmRecord.record_id)
                .where(CrmRecord.account_pk == account_pk)
                .order_by(CrmRecord.record_id)
            )
        )


def _written_ids(served: ServedApp, since: int) -> list[str]:
    return [w["objectId"] for w in served.hubspot.writes(HUB)[since:]]


def _drain_writes(served: ServedApp, account_pk: int, contact_id: str) -> int:
    """Apply an inbox event for the contact: what the event path would write."""
    with served.services.sessions.begin() as session:
        session.add(
            CrmEvent(
                account_pk=account_pk,
                dedupe_key=f"{contact_id:0>64}",
                kind="contact.propertyChange",
                object_type="contacts",
                object_id=contact_id,
                payload={"propertyName": "jobtitle"},
                occurred_at=datetime.now(UTC),
            )
        )
    return served.services.hubspot.sync(account_pk).written


def test_a_reconciliation_repairs_what_lost_events_left_wrong(served, portal):
    hubspot, app = served.hubspot, served.services.hubspot
    edited, cleared, deleted, *_ = _contact_ids(served, portal)
    before = _properties(served, edited)
    hubspot.act.update_contact(
        HUB, edited, hs_lead_status="OPEN_DEAL", jobtitle="Chief Executive Officer"
    )
    hubspot.act.update_contact(HUB, cleared, conturs_score="")
    hubspot.act.delete(HUB, "contacts", deleted)
    assert hubspot.deliveries() == []  # no webhook: every change is a lost event
    assert _properties(served, edited)["conturs_score"] == before["conturs_score"]
    status = app.describe(str(HUB))
    first_walk = status["reconciled_at"]
    assert first_walk and status["backfill"]["finished"] is True

    writes = len(hubspot.writes(HUB))
    _reconcile_daily(served)
    during = app.describe(str(HUB))
    assert during["backfill"]["finished"] is False
    assert during["reconciled_at"] == first_walk  # the last finished walk's
    assert _run_queue(served) >= 1

    # Only the edited and the cleared contact were written, once each.
    assert sorted(_written_ids(served, writes)) == sorted([edited, cleared])
    after = _properties(served, edited)
    assert "Chief Executive Officer title" in after["conturs_explanation"]
    assert after["conturs_score"] != before["conturs_score"]
    # The score is the one the event path computes: an event now writes nothing.
    assert _drain_writes(served, portal, edited) == 0
    with served.services.sessions() as session:
        record = session.get(CrmRecord, (portal, "contacts", cleared))
        assert record is not None and record.score is not None
    assert _properties(served, cleared)["conturs_score"] == str(record.score)

    status = app.describe(str(HUB))
    assert status["contacts_scored"] == CONTACTS - 1
    assert deleted not in _contact_ids(served, portal)
    assert status["backfill"] == {
        "done": CONTACTS - 1,
        "total": CONTACTS - 1,
        "finished": True,
    }
    assert status["reconciled_at"] > first_walk

    # A walk with nothing to repair writes nothing at all.
    writes = len(hubspot.writes(HUB))
    assert app.reconcile(str(HUB)) is True
    _run_queue(served)
    assert hubspot.writes(HUB)[writes:] == []


def test_a_change_to_a_mapping_overrides_property_is_picked_up(served, portal):
    hubspot, app = served.hubspot, served.services.hubspot
    add_text_property(hubspot, HUB, "role_title", "Role")
    app.set_mapping(str(HUB), {"job_title": "role_title"})
    _run_queue(served)  # the walk a mapping change starts
    contact_id = _contact_ids(served, portal)[3]
    before = _properties(served, contact_id)

    # Webhooks on, with the app's subscriptions: none covers role_title.
    subscriptions = [
        {"subscriptionType": s.subscription_type, "propertyName": s.property_name}
        for s in SUBSCRIPTIONS
    ]
    hubspot.configure_webhooks(f"{served.base_url}/hubspot/webhooks", subscriptions)
    hubspot.act.update_contact(HUB, contact_id, role_title="Chief Executive Officer")
    assert hubspot.webhooks.wait_idle()
    assert hubspot.deliveries() == []

    writes = len(hubspot.writes(HUB))
    _reconcile_daily(served)
    _run_queue(served)
    assert _written_ids(served, writes) == [contact_id]
    after = _properties(served, contact_id)
    assert "Chief Executive Officer title" in after["conturs_explanation"]
    assert after["conturs_explanation"] != before["conturs_explanation"]
    with served.services.sessions() as session:
        record = session.get(CrmRecord, (portal, "contacts", contact_id))
        assert record.lead["job_title"] == "Chief Executive Officer"


def test_the_cli_starts_one_walk_and_the_schedule_only_finished_ones(served, portal):
    def invoke(*args: str):
        context = _Context()
        context._app = served.app  # the served deployment's app
        return CliRunner().invoke(main, list(args), obj=context)

    huey = served.services.tasks.huey
    started = invoke("accounts", "reconcile", "--crm", "hubspot", "--account", str(HUB))
    assert started.exit_code == 0, started.output
    assert json.loads(started.stdout) == {
        "account": str(HUB),
        "reconciling": True,
        "started": True,
    }
    assert [task.name for task in huey.pending()] == ["backfill_account"]
    # A walk under way is not started again, by hand or by the schedule.
    again = invoke("accounts", "reconcile", "--crm", "hubspot", "--account", str(HUB))
    assert json.loads(again.stdout)["started"] is False
    huey.flush()
    _reconcile_daily(served)
    assert huey.pending() == []
    # The minute sweep resumes it (its wake-up was flushed above).
    (sweep,) = [
        t
        for t in huey.read_periodic(datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
        if t.name == "sweep_inboxes"
    ]
    huey.execute(sweep)
    assert "backfill_account" in {task.name for task in huey.pending()}
    _run_queue(served)
    assert served.services.hubspot.describe(str(HUB))["backfill"]["finished"]

    unknown = invoke("accounts", "reconcile", "--crm", "hubspot", "--account", "77")
    assert unknown.exit_code == 1
    assert "not installed" in unknown.output
    hourly = huey.read_periodic(datetime(2026, 3, 2, 4, 29, tzinfo=UTC))
    assert "reconcile_accounts" not in {task.name for task in hourly}


@pytest.mark.parametrize("meanwhile", ["whole walk", "one page", "restart"])
def test_a_run_whose_walk_moved_on_meanwhile_stops(served, portal, meanwhile):
    """Another run of the walk (a re-queued wake-up, once this run's lease ran
    out on a slow page) or a restart (a mapping change) during a run's page:
    that run stops, the walk is walked once."""
    app = served.services.hubspot
    sync = app._sync
    assert sync.start_walk(portal) is True
    crm = app.client(portal)
    lists = []

    class MovedMidPage:
        """The adapter of a run during whose first page the walk moves on."""

        def __getattr__(self, name):
            return getattr(crm, name)

        def list_contacts(self, object_type, cursor, limit=100):
            lists.append(cursor)
            if len(lists) == 1:
                if meanwhile == "restart":
                    sync.restart_backfill(portal)
                else:
                    _lease_runs_out(served, portal)
                    pages = 10 if meanwhile == "whole walk" else 1
                    sync.backfill(portal, crm, pages=pages)
            return crm.list_contacts(object_type, cursor, limit)

    calls = served.hubspot.calls(HUB).get(LIST_CALL, 0)
    assert sync.backfill(portal, MovedMidPage(), pages=10) is True
    assert lists == [None]  # one page, then it found the walk moved on
    assert sync.backfill(portal, crm, pages=10) is True  # what the others do
    # The stopped run's one page, and each of the two pages once.
    assert served.hubspot.calls(HUB)[LIST_CALL] - calls == 1 + 2
    status = app.describe(str(HUB))["backfill"]
    assert status == {"done": CONTACTS, "total": CONTACTS, "finished": True}


def _lease_runs_out(served, portal) -> None:  # noqa: ANN001
    with served.services.sessions.begin() as session:
        session.execute(
            update(CrmSync)
            .where(CrmSync.account_pk == portal)
            .values(walk_lease_until=None)
        )


def test_the_sweep_of_deleted_contacts_is_bounded_per_run(served, portal, monkeypatch):
    monkeypatch.setattr(reconcile, "BATCH", 2)
    monkeypatch.setattr(reconcile, "SWEEP_BATCHES", 1)
    gone = _contact_ids(served, portal)[10:15]
    for contact_id in gone:
        served.hubspot.act.delete(HUB, "contacts", contact_id)
    app = served.services.hubspot
    assert app.reconcile(str(HUB)) is True
    runs = _run_queue(served)
    # Walk and two swept per run: 2, 2, 1, then the run that finds none left.
    assert runs == 4
    with served.services.sessions() as session:
        left = session.scalar(select(func.count()).select_from(CrmRecord))
    assert left == CONTACTS - len(gone)
    assert not set(gone) & set(_contact_ids(served, portal))
    assert app.describe(str(HUB))["backfill"]["finished"] is True


def test_a_rescore_during_a_walk_does_not_hide_a_deleted_contact(served, portal):
    """Rescoring from stored inputs reads nothing from HubSpot, so it must not
    count as having seen a contact that HubSpot deleted meanwhile."""
    app = served.services.hubspot
    deleted = _contact_ids(served, portal)[0]
    served.hubspot.act.delete(HUB, "contacts", deleted)
    _reconcile_daily(served)  # the walk starts (queued, not yet run)
    app.rescore(portal)  # e.g. new weights published while the walk is under way
    _run_queue(served)
    assert deleted not in _contact_ids(served, portal)
    assert app.describe(str(HUB))["contacts_scored"] == CONTACTS - 1


def test_a_walk_leaves_a_contact_with_waiting_events_to_the_drain(served, portal):
    """The drain will read the contact again (newer than the walk's page), so the
    walk writing its older read could land last and stay wrong."""
    hubspot, app = served.hubspot, served.services.hubspot
    edited, other, *_ = _contact_ids(served, portal)
    hubspot.act.update_contact(HUB, edited, jobtitle="Chief Executive Officer")
    hubspot.act.update_contact(HUB, other, jobtitle="Chief Executive Officer")
    with served.services.sessions.begin() as session:
        session.add(
            CrmEvent(
                account_pk=portal,
                dedupe_key=f"{edited:0>64}",
                kind="contact.propertyChange",
                object_type="contacts",
                object_id=edited,
                payload={"propertyName": "jobtitle"},
                occurred_at=datetime.now(UTC),
            )
        )
    writes = len(hubspot.writes(HUB))
    assert app.reconcile(str(HUB)) is True
    _run_queue(served)
    assert _written_ids(served, writes) == [other]
    assert app.sync(portal).written == 1
    assert _written_ids(served, writes) == [other, edited]
