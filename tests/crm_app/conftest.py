"""The HubSpot app served for real: the app under a real HTTP server on loopback,
the HubSpot sandbox with this app registered (its redirect and webhook URLs point
at that server), and portals installed through the sandbox's consent page."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.container import Services, services_of
from app.migrations import upgrade
from app.models import CrmAccount
from app.sandbox import HubSpotSandbox
from app.sandbox.hubspot.appconfig import AppConfig
from app.sandbox.server import ServerThread
from tests.conftest import app_settings, close_app
from tests.processes import free_port

SERVED_CLIENT_ID = "conturs-served-client"
SERVED_CLIENT_SECRET = "conturs-served-secret"
SERVED_APP_ID = 4242001


@dataclass
class ServedApp:
    """The app, the URL it is reached at, and the sandbox that talks to it."""

    app: Flask
    base_url: str
    hubspot: HubSpotSandbox

    @property
    def services(self) -> Services:
        return services_of(self.app)

    def install(self, hub_id: int, user: str = "owner@acme-robotics.com") -> int:
        """Install the app on `hub_id` through the consent page; its account pk."""
        self.hubspot.create_account(hub_id)
        landed = consent(self.base_url, self.hubspot, hub_id, user)
        assert landed.status_code == 200, landed.text
        with self.services.sessions() as session:
            return session.scalars(
                select(CrmAccount.id).where(
                    CrmAccount.crm == "hubspot", CrmAccount.account_id == str(hub_id)
                )
            ).one()


def add_text_property(
    hubspot: HubSpotSandbox, hub_id: int, name: str, label: str
) -> None:
    """A portal admin adds a text contact property (through the real API)."""
    token = hubspot.mint_tokens(hub_id)["access_token"]
    created = requests.post(
        f"{hubspot.base_url}/crm/v3/properties/contacts",
        json={
            "name": name,
            "label": label,
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert created.status_code == 201, created.text


def consent(
    base_url: str, hubspot: HubSpotSandbox, hub_id: int, user: str
) -> requests.Response:
    """A browser clicking through: our install link, HubSpot's consent page
    (connect), our callback, the status page."""
    with requests.Session() as browser:
        start = browser.get(
            f"{base_url}/hubspot/install", allow_redirects=False, timeout=10
        )
        assert start.status_code == 302, start.text
        authorize = start.headers["Location"]
        callback = hubspot.approve(authorize, hub_id, user)
        assert callback.startswith(f"{base_url}/hubspot/oauth/callback?")
        return browser.get(callback, timeout=30)


@pytest.fixture
def served_port() -> int:
    return free_port()


@pytest.fixture
def served_hubspot(served_port: int) -> Iterator[HubSpotSandbox]:
    """The HubSpot sandbox with our app registered for the served app's URL."""
    sandbox = HubSpotSandbox(
        app_config=AppConfig(
            client_id=SERVED_CLIENT_ID,
            client_secret=SERVED_CLIENT_SECRET,
            app_id=SERVED_APP_ID,
            redirect_urls=[f"http://localhost:{served_port}/hubspot/oauth/callback"],
        )
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def served(
    database_url: str,
    tmp_path: Path,
    served_port: int,
    served_hubspot: HubSpotSandbox,
) -> Iterator[ServedApp]:
    """The app with HubSpot settings under a real HTTP server on loopback. Jobs
    are queued (not run inline), so a request does only its own work."""
    # HubSpot refuses redirect URLs with an IP address.
    base_url = f"http://localhost:{served_port}"
    application = create_app(
        app_settings(
            tmp_path / "instance",
            DATABASE_URL=database_url,
            PUBLIC_BASE_URL=base_url,
            HUBSPOT_CLIENT_ID=SERVED_CLIENT_ID,
            HUBSPOT_CLIENT_SECRET=SERVED_CLIENT_SECRET,
            HUBSPOT_APP_ID=str(SERVED_APP_ID),
            HUBSPOT_API_BASE_URL=served_hubspot.base_url,
            HUBSPOT_AUTHORIZE_URL=f"{served_hubspot.base_url}/oauth/authorize",
            JOBS_IMMEDIATE=False,
        )
    )
    upgrade(services_of(application).engine)
    server = ServerThread(application, port=served_port).start()
    try:
        yield ServedApp(application, base_url, served_hubspot)
    finally:
        server.stop()
        close_app(application)


# The app reached through Flask's test client: its redirect URL is the default
# local one, which the sandbox's app registration accepts.
TEST_CLIENT_ID, TEST_CLIENT_SECRET = "conturs-test-client", "conturs-test-secret"
TEST_BASE_URL = "http://localhost:8082"


def started_sandbox() -> HubSpotSandbox:
    """A HubSpot sandbox with the test app registered (stop it when done)."""
    sandbox = HubSpotSandbox(
        app_config=AppConfig(
            client_id=TEST_CLIENT_ID,
            client_secret=TEST_CLIENT_SECRET,
            redirect_urls=[f"{TEST_BASE_URL}/hubspot/oauth/callback"],
        )
    )
    sandbox.start()
    return sandbox


def app_on(
    database_url: str, instance: Path, hubspot: HubSpotSandbox, **extra
) -> Flask:
    """The app with HubSpot settings pointing at `hubspot`, on a migrated database."""
    application = create_app(
        app_settings(
            instance,
            DATABASE_URL=database_url,
            PUBLIC_BASE_URL=TEST_BASE_URL,
            HUBSPOT_CLIENT_ID=TEST_CLIENT_ID,
            HUBSPOT_CLIENT_SECRET=TEST_CLIENT_SECRET,
            HUBSPOT_API_BASE_URL=hubspot.base_url,
            HUBSPOT_AUTHORIZE_URL=f"{hubspot.base_url}/oauth/authorize",
            **extra,
        )
    )
    upgrade(services_of(application).engine)
    return application
