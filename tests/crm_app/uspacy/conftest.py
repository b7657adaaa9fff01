"""The Uspacy app served for real: the app under a real HTTP server on loopback,
the Uspacy emulation (one base URL per portal) with our app registered at the
served app's callback URL, and portals installed by the emulation's marketplace
calling our install callback with a signed JWT.

Jobs are queued, not run inline, so a test sees what an install queued."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.container import services_of
from app.crm.uspacy.manifest import CALLBACK_PATH
from app.migrations import upgrade
from app.models import CrmAccount
from app.sandbox import UspacySandbox
from app.sandbox.server import ServerThread
from app.services.crm.uspacy_app import UspacyApp
from tests.conftest import app_settings, close_app
from tests.processes import free_port

DOMAIN = "acme.uspacy.ua"
OTHER_DOMAIN = "globex.uspacy.ua"


@dataclass
class ServedUspacy:
    """The app, the URL it is reached at, and the emulation that calls it."""

    app: Flask
    base_url: str
    sandbox: UspacySandbox

    @property
    def uspacy(self) -> UspacyApp:
        found = services_of(self.app).uspacy
        assert found is not None
        return found

    def install(self, domain: str = DOMAIN, set_up: bool = True) -> int:
        """The marketplace installs the app on `domain`, and (`set_up`) the
        worker runs the setup the install queued; the account's pk."""
        answer = self.sandbox.install(domain)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": True, "message": "success"}
        if set_up:
            self.run_queued("uspacy_setup_account")
        return self.account(domain).id

    def run_queued(self, name: str) -> int:
        """Run the queued tasks called `name`, as the worker would (the tests'
        app only queues); other tasks stay queued. How many ran."""
        huey = services_of(self.app).tasks.huey
        kept, ran = [], 0
        while (task := huey.dequeue()) is not None:
            if task.name == name:
                huey.execute(task)
                ran += 1
            else:
                kept.append(task)
        for task in kept:
            huey.enqueue(task)
        return ran

    def account(self, domain: str = DOMAIN) -> CrmAccount:
        """The account row of `domain` (detached)."""
        with services_of(self.app).sessions() as session:
            return session.scalars(
                select(CrmAccount).where(
                    CrmAccount.crm == "uspacy", CrmAccount.account_id == domain
                )
            ).one()

    def accounts(self) -> list[CrmAccount]:
        """Every Uspacy account row."""
        with services_of(self.app).sessions() as session:
            return list(
                session.scalars(select(CrmAccount).where(CrmAccount.crm == "uspacy"))
            )

    def opened(self, pk: int) -> tuple[str, str]:
        """The account's stored (access, refresh) tokens, unsealed."""
        box = services_of(self.app).secrets
        account = next(a for a in self.accounts() if a.id == pk)
        assert account.access_token and account.refresh_token
        return box.decrypt(account.access_token), box.decrypt(account.refresh_token)


@pytest.fixture
def sandbox() -> Iterator[UspacySandbox]:
    """The emulated Uspacy; a portal answers only on its own base URL."""
    emulation = UspacySandbox(retry_delays=())
    emulation.start()
    yield emulation
    emulation.stop()


@pytest.fixture
def served(
    database_url: str, tmp_path: Path, sandbox: UspacySandbox
) -> Iterator[ServedUspacy]:
    """The app with Uspacy settings under a real HTTP server on loopback."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    sandbox.callback_url = base_url + CALLBACK_PATH
    application = create_app(
        app_settings(
            tmp_path / "instance",
            DATABASE_URL=database_url,
            PUBLIC_BASE_URL=base_url,
            USPACY_CLIENT_ID=sandbox.client_id,
            USPACY_CLIENT_SECRET=sandbox.client_secret,
            USPACY_BASE_URL_TEMPLATE=sandbox.base_url_template,
            JOBS_IMMEDIATE=False,
        )
    )
    upgrade(services_of(application).engine)
    server = ServerThread(application, port=port).start()
    try:
        yield ServedUspacy(application, base_url, sandbox)
    finally:
        server.stop()
        close_app(application)
