"""Scores kept in HubSpot: the install's backfill scores every existing contact,
an inbox event for a changed contact rewrites its score, and nothing is written
when the score did not change — not even when the same event runs twice."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app.container import services_of
from app.models import Client, CrmAccount, CrmEvent, CrmRecord
from app.sandbox import HubSpotSandbox
from app.scoring import FACTOR_KEYS
from app.services.errors import InvalidInput
from tests.conftest import close_app
from tests.crm_app.conftest import (
    TEST_BASE_URL,
    add_text_property,
    app_on,
    started_sandbox,
)

HUB = 48213378
BASE = TEST_BASE_URL
SCORE_PROPERTIES = [
    "conturs_score",
    "conturs_label",
    "conturs_top_factors",
    "conturs_explanation",
    "conturs_method",
    "conturs_scored_at",
]


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    sandbox = started_sandbox()
    sandbox.create_account(HUB)
    sandbox.seed(HUB, contacts=230, deals=10)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def app(database_url: str, tmp_path: Path, hubspot: HubSpotSandbox) -> Iterator[Flask]:
    application = app_on(database_url, tmp_path / "instance", hubspot)
    yield application
    close_app(application)


def _install(app: Flask, hubspot: HubSpotSandbox) -> int:
    web = app.test_client()
    authorize = web.get("/hubspot/install").headers["Location"]
    redirect = hubspot.approve(authorize, HUB, "ops@northwind-logistics.com")
    back = urlparse(redirect)
    assert web.get(f"{back.path}?{back.query}").status_code == 302
    with services_of(app).sessions() as session:
        return session.scalars(select(CrmAccount.id)).one()


def _contacts(hubspot: HubSpotSandbox) -> dict[str, dict]:
    token = hubspot.mint_tokens(HUB)["access_token"]
    found, after = {}, None
    while True:
        page = requests.get(
            f"{hubspot.base_url}/crm/v3/objects/contacts",
            params={
                "limit": 100,
                "properties": ",".join(SCORE_PROPERTIES),
                **({"after": after} if after else {}),
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        found.update({c["id"]: c["properties"] for c in page["results"]})
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return found


def _event(app: Flask, account_pk: int, contact_id: str, key: str) -> None:
    with services_of(app).sessions.begin() as session:
        session.add(
            CrmEvent(
                account_pk=account_pk,
                dedupe_key=key,
                kind="contact.propertyChange",
                object_type="contacts",
                object_id=contact_id,
                payload={"propertyName": "hs_lead_status"},
                occurred_at=datetime.now(UTC),
            )
        )


def test_the_install_backfill_scores_every_existing_contact(app, hubspot):
    account_pk = _install(app, hubspot)
    contacts = _contacts(hubspot)
    assert len(contacts) == 230
    for properties in contacts.values():
        assert properties["conturs_score"] not in (None, "")
        assert properties["conturs_label"] in {"Hot", "Warm", "Cool", "Cold"}
        assert properties["conturs_top_factors"] and properties["conturs_explanation"]
    hubspot_app = services_of(app).hubspot
    assert hubspot_app.unfinished_backfills() == []
    with services_of(app).sessions() as session:
        records = session.scalars(select(CrmRecord)).all()
        assert {r.record_id for r in records} == set(contacts)
        assert all(r.account_pk == account_pk for r in records)
    # Ids of 11-12 digits, kept exact.
    assert all(len(record_id) >= 11 for record_id in contacts)


def test_a_changed_contact_is_rewritten_once(app, hubspot):
    account_pk = _install(app, hubspot)
    contact_id = next(iter(_contacts(hubspot)))
    hubspot.act.update_contact(
        HUB, contact_id, hs_lead_status="OPEN_DEAL", jobtitle="Chief Executive Officer"
    )
    before = len(hubspot.writes(HUB))
    _event(app, account_pk, contact_id, "a" * 64)
    result = services_of(app).hubspot.sync(account_pk)
    assert (result.events, result.written) == (1, 1)
    assert len(hubspot.writes(HUB)) == before + 1
    rescored = _contacts(hubspot)[contact_id]
    assert (
        "CEO title" in rescored["conturs_explanation"]
        or "Chief" in (rescored["conturs_explanation"])
    )

    # The same change delivered again, and an event for an unchanged contact.
    _event(app, account_pk, contact_id, "b" * 64)
    again = services_of(app).hubspot.sync(account_pk)
    assert (again.events, again.written) == (1, 0)
    assert len(hubspot.writes(HUB)) == before + 1
    with services_of(app).sessions() as session:
        statuses = session.scalars(select(CrmEvent.status)).all()
    assert statuses == ["done", "done"]


def test_an_event_for_a_deleted_contact_is_settled(app, hubspot):
    account_pk = _install(app, hubspot)
    _event(app, account_pk, "99999999999", "c" * 64)
    result = services_of(app).hubspot.sync(account_pk)
    assert (result.events, result.contacts_read, result.written) == (1, 0, 0)


def test_new_weights_rescore_from_stored_inputs_without_reading(app, hubspot):
    account_pk = _install(app, hubspot)
    hubspot_app = services_of(app).hubspot
    assert hubspot_app.weights_changed(account_pk) is False
    with services_of(app).sessions.begin() as session:
        account = session.get(CrmAccount, account_pk)
        client = session.get(Client, account.client_id)
        # Everything on lead status: most scores move.
        client.pinned_weights = {
            key: (1.0 if key == "lead_status" else 0.0) for key in FACTOR_KEYS
        }
    assert hubspot_app.weights_changed(account_pk) is True
    calls_before = hubspot.calls(HUB)
    written = hubspot_app.rescore(account_pk)
    assert written > 0
    calls = {k: v - calls_before.get(k, 0) for k, v in hubspot.calls(HUB).items()}
    assert not any("read" in k or k.startswith("GET") for k, v in calls.items() if v)
    assert hubspot_app.weights_changed(account_pk) is False
    assert hubspot_app.rescore(account_pk) == 0  # nothing moved since
    scores = {c["conturs_score"] for c in _contacts(hubspot).values()}
    assert scores <= {"0", "10", "30", "50", "70", "100"}


def test_a_mapping_override_reads_a_field_from_the_portals_property(app, hubspot):
    account_pk = _install(app, hubspot)
    add_text_property(hubspot, HUB, "role_title", "Role")
    contact_id = next(iter(_contacts(hubspot)))
    hubspot.act.update_contact(HUB, contact_id, role_title="Chief Revenue Officer")
    hubspot_app = services_of(app).hubspot
    with pytest.raises(InvalidInput):
        hubspot_app.set_mapping(str(HUB), {"shoe_size": "role_title"})
    with pytest.raises(InvalidInput):
        hubspot_app.set_mapping(str(HUB), {"job_title": "conturs_score"})

    # Jobs run inline here: the backfill that re-reads every contact runs now.
    assert hubspot_app.set_mapping(str(HUB), {"job_title": "role_title"}) == {
        "job_title": "role_title"
    }
    with services_of(app).sessions() as session:
        record = session.get(CrmRecord, (account_pk, "contacts", contact_id))
        assert record.lead["job_title"] == "Chief Revenue Officer"
    assert hubspot_app.describe(str(HUB))["mapping"] == {"job_title": "role_title"}
    assert hubspot_app.set_mapping(str(HUB), {"job_title": None}) == {}
