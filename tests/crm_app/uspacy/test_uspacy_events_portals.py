"""Two Uspacy portals and one HubSpot portal installed on one deployment: each
portal's events, scores and outcomes stay its own."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.container import services_of
from app.crm.uspacy.manifest import CALLBACK_PATH
from app.migrations import upgrade
from app.models import CrmAccount, Feedback
from app.models.sync import CrmEvent, CrmRecord
from app.sandbox import HubSpotSandbox, UspacySandbox
from app.sandbox.hubspot.appconfig import AppConfig
from app.sandbox.server import ServerThread
from tests.conftest import app_settings, close_app
from tests.crm_app.conftest import ServedApp
from tests.crm_app.uspacy.conftest import DOMAIN, OTHER_DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    DEAL_WON,
    field_scores,
    installed,
    people,
    settled,
    stored_scores,
    unthrottled,
)
from tests.processes import free_port

HUB = 62515551
HUBSPOT_ID, HUBSPOT_SECRET = "conturs-both-client", "conturs-both-secret"


@pytest.fixture
def both(
    database_url: str, tmp_path: Path, sandbox: UspacySandbox
) -> Iterator[tuple[ServedUspacy, ServedApp]]:
    """One app with the HubSpot and the Uspacy app, served on loopback."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    hubspot = HubSpotSandbox(
        app_config=AppConfig(
            client_id=HUBSPOT_ID,
            client_secret=HUBSPOT_SECRET,
            app_id=4242002,
            redirect_urls=[f"{base_url}/hubspot/oauth/callback"],
        )
    )
    hubspot.start()
    sandbox.callback_url = base_url + CALLBACK_PATH
    application = create_app(
        app_settings(
            tmp_path / "instance",
            DATABASE_URL=database_url,
            PUBLIC_BASE_URL=base_url,
            HUBSPOT_CLIENT_ID=HUBSPOT_ID,
            HUBSPOT_CLIENT_SECRET=HUBSPOT_SECRET,
            HUBSPOT_APP_ID="4242002",
            HUBSPOT_API_BASE_URL=hubspot.base_url,
            HUBSPOT_AUTHORIZE_URL=f"{hubspot.base_url}/oauth/authorize",
            USPACY_CLIENT_ID=sandbox.client_id,
            USPACY_CLIENT_SECRET=sandbox.client_secret,
            USPACY_BASE_URL_TEMPLATE=sandbox.base_url_template,
            JOBS_IMMEDIATE=False,
        )
    )
    upgrade(services_of(application).engine)
    server = ServerThread(application, port=port).start()
    try:
        yield (
            ServedUspacy(application, base_url, sandbox),
            ServedApp(application, base_url, hubspot),
        )
    finally:
        server.stop()
        close_app(application)
        hubspot.stop()


def test_two_uspacy_portals_and_a_hubspot_portal_keep_to_themselves(both):
    uspacy, hubspot = both
    unthrottled(uspacy, DOMAIN, OTHER_DOMAIN)
    hubspot.hubspot.create_account(HUB)
    hubspot.hubspot.act.create_contact(HUB, email="ann@hub.example", jobtitle="CEO")
    hub_pk = hubspot.install(HUB)
    assert hubspot.services.hubspot.backfill(hub_pk) is True
    made = {domain: people(uspacy, domain, 3) for domain in (DOMAIN, OTHER_DOMAIN)}
    pks = {domain: installed(uspacy, domain) for domain in (DOMAIN, OTHER_DOMAIN)}

    # The same ids on both portals: a change on one is work for that one only.
    assert made[DOMAIN] == made[OTHER_DOMAIN]
    uspacy.sandbox.act_update(DOMAIN, "leads", made[DOMAIN]["leads"][0], position="VP")
    deal = uspacy.sandbox.act_create(
        OTHER_DOMAIN, "deals", contacts=[{"id": made[OTHER_DOMAIN]["contacts"][0]}]
    )
    uspacy.sandbox.act_move(OTHER_DOMAIN, "deals", deal["id"], DEAL_WON)
    assert uspacy.sandbox.webhooks.wait_idle(10)
    with uspacy.uspacy._sessions() as session:
        events = session.execute(
            select(CrmEvent.account_pk, CrmEvent.kind, CrmEvent.object_type)
        ).all()
    assert sorted(events) == sorted(
        [
            (pks[DOMAIN], "record.change", "leads"),
            (pks[OTHER_DOMAIN], "deal.stageChange", "deals"),
        ]
    )
    for pk in pks.values():
        settled(uspacy, pk)

    for domain, pk in pks.items():
        assert stored_scores(uspacy, pk) == field_scores(uspacy, domain)
    with uspacy.uspacy._sessions() as session:
        clients = {
            row.account_id: row.client_id for row in session.scalars(select(CrmAccount))
        }
        assert len(set(clients.values())) == 3  # one client per portal
        feedback = session.execute(select(Feedback.client_id, Feedback.action)).all()
        assert feedback == [(clients[OTHER_DOMAIN], "converted")]
        hub_records = session.scalars(
            select(CrmRecord.object_type).where(CrmRecord.account_pk == hub_pk)
        ).all()
        assert hub_records == ["contacts"]
