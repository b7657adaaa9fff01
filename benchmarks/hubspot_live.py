"""The HubSpot app in the processes production runs: a gunicorn web process and
a `conturs worker` process on one database (an SQLite file, or PostgreSQL with
Redis for the job queue), with the HubSpot sandbox in this process delivering
signed webhooks to the web process. Shared by tests/e2e/test_hubspot_faults.py
and benchmarks/hubspot_edit_latency.py.

The checks look at HubSpot's side (the sandbox's store and its log of the
app's writes), never at the scores the app stored: what a contact should hold
is computed here from the contact as the app's adapter reads it from HubSpot
now, with the engine, the explanation and the account's published weights.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.container import services_of  # noqa: E402
from app.crm.base import CrmContact, RecordRef  # noqa: E402
from app.crm.hubspot.mapping import label_option  # noqa: E402
from app.crm.hubspot.subscriptions import SUBSCRIPTIONS, Purpose  # noqa: E402
from app.crypto import generate_key  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import CrmAccount, CrmEvent  # noqa: E402
from app.sandbox import HubSpotSandbox  # noqa: E402
from app.sandbox.hubspot.appconfig import AppConfig  # noqa: E402
from app.scoring import compute_score  # noqa: E402
from app.scoring.engine import read_lead  # noqa: E402
from app.services.crm.explain import explanation, top_factors  # noqa: E402
from app.services.scoring.configs import ClientConfig  # noqa: E402
from benchmarks.app_processes import WorkerProcess  # noqa: E402
from benchmarks.hubspot_burst import (  # noqa: E402
    APP_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    HUB,
    install,
)
from benchmarks.leads_throughput import free_port, serve  # noqa: E402

# What a contact shows a salesperson: compared between expected and written.
SHOWN = ("conturs_score", "conturs_label", "conturs_top_factors", "conturs_explanation")
# The contact events that make the app score a contact again (the production
# subscription list, app/crm/hubspot/subscriptions.py).
CONTACT_SUBSCRIPTIONS = [
    {"subscriptionType": sub.subscription_type, "propertyName": sub.property_name}
    for sub in SUBSCRIPTIONS
    if sub.object_type == "contact"
    and (sub.purpose is Purpose.INPUT or sub.action == "creation")
]


@dataclass
class LiveApp(WorkerProcess):
    """The running processes, the sandbox, and an in-process view of the same
    database (for the inbox's state and the account's published weights)."""

    hubspot: HubSpotSandbox
    base_url: str
    env: dict[str, str]
    web: subprocess.Popen
    app: Flask
    worker: subprocess.Popen | None = None
    worker_log: Path | None = None

    def install(self) -> int:
        """Install the app on the portal through the consent page; its row id."""
        install(self.base_url, self.hubspot)
        with services_of(self.app).sessions() as session:
            return session.scalars(
                select(CrmAccount.id).where(CrmAccount.account_id == str(HUB))
            ).one()

    def status(self) -> dict[str, Any]:
        """The portal's status as its settings page shows it (calls, inbox)."""
        return services_of(self.app).hubspot.describe(str(HUB))

    def fresh_read(self, account_pk: int, ids: list[str]) -> list[CrmContact]:
        """The contacts as the app's adapter reads them from HubSpot now (with
        their primary company's industry and size), 100 per call."""
        crm = services_of(self.app).hubspot.client(account_pk)
        try:
            return crm.read_contacts([RecordRef("contacts", i) for i in ids])
        finally:
            crm.close()

    def inbox(self, account_pk: int) -> dict[str, int]:
        """The account's inbox rows per status."""
        with services_of(self.app).sessions() as session:
            return dict(
                session.execute(
                    select(CrmEvent.status, func.count())
                    .where(CrmEvent.account_pk == account_pk)
                    .group_by(CrmEvent.status)
                ).all()
            )


@contextmanager
def live_app(
    workdir: Path,
    database_url: str | None = None,
    redis_url: str | None = None,
    web_workers: int = 1,
) -> Iterator[LiveApp]:
    """Start the sandbox, migrate, serve the web process and start the worker;
    stop them all on the way out."""
    port = free_port()
    base_url = f"http://localhost:{port}"  # HubSpot refuses IPs in redirect URLs
    hubspot = HubSpotSandbox(
        app_config=AppConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_id=APP_ID,
            redirect_urls=[f"{base_url}/hubspot/oauth/callback"],
        )
    )
    settings = {
        "DATABASE_URL": database_url or f"sqlite:///{workdir}/conturs.db",
        "REDIS_URL": redis_url or "",
        "INSTANCE_PATH": str(workdir / "instance"),
        "SECRET_KEY": "live-secret",
        "TOKEN_ENCRYPTION_KEYS": generate_key(),
        "PUBLIC_BASE_URL": base_url,
        "HUBSPOT_CLIENT_ID": CLIENT_ID,
        "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
        "HUBSPOT_APP_ID": str(APP_ID),
    }
    with ExitStack() as stack:
        hubspot.start()
        stack.callback(hubspot.stop)
        settings["HUBSPOT_API_BASE_URL"] = hubspot.base_url
        settings["HUBSPOT_AUTHORIZE_URL"] = f"{hubspot.base_url}/oauth/authorize"
        app = create_app(dict(settings))
        stack.callback(services_of(app).engine.dispose)
        stack.callback(services_of(app).recorder.stop)
        upgrade(services_of(app).engine)
        services_of(app).tasks.huey.flush()  # no wake-up left from an earlier run
        env = {**os.environ, **settings, "WEB_CONCURRENCY": str(web_workers)}
        web = serve(env, port, web_workers)
        stack.callback(_stop, web)
        # The Procfile's worker: its jobs may wait longer on the database.
        worker_env = {**env, "STORE_TIMEOUT_SECONDS": "60"}
        live = LiveApp(
            hubspot, base_url, worker_env, web, app, None, workdir / "worker.log"
        )
        live.start_worker()
        stack.callback(lambda: _stop(live.worker))
        yield live


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# -- what HubSpot holds ----------------------------------------------------------


def contact_ids(hubspot: HubSpotSandbox) -> list[str]:
    """The portal's live contacts, oldest first."""
    account = hubspot.store.account(HUB)
    with hubspot.store.lock:
        objects = account.objects["contacts"]
        return [
            str(i) for i in account.order["contacts"] if not objects[str(i)].archived
        ]


def properties(hubspot: HubSpotSandbox, contact_id: str) -> dict[str, Any]:
    """A contact's current property values."""
    account = hubspot.store.account(HUB)
    with hubspot.store.lock:
        return dict(account.objects["contacts"][contact_id].properties)


def expected(config: ClientConfig, contact: CrmContact, at: datetime) -> dict:
    """What the app must write for a contact as HubSpot has it now, scored at
    `at`: the account's weights and bands, the engine and the explanation."""
    _email, factors = read_lead(contact.lead, at.timestamp(), config.icp)
    score = compute_score(factors, config.weights)
    label = config.bands.label_for(score)
    return {
        "conturs_score": str(score),
        "conturs_label": label_option(label) or "",
        "conturs_top_factors": top_factors(config.weights, factors),
        "conturs_explanation": explanation(label, contact.lead),
    }


def written(contact: CrmContact) -> dict[str, str]:
    """The score properties a contact holds now, as `expected` words them."""
    stored = contact.stored
    return {
        "conturs_score": "" if stored.score is None else str(stored.score),
        "conturs_label": stored.label or "",
        "conturs_top_factors": stored.top_factors or "",
        "conturs_explanation": stored.explanation or "",
    }


def wrong_contacts(live: LiveApp, account_pk: int) -> dict[str, dict]:
    """Contacts whose written score is not what their properties give, scored
    at the moment the app says it scored them; both sides for each."""
    config = live.config(account_pk)
    wrong = {}
    for contact in live.fresh_read(account_pk, contact_ids(live.hubspot)):
        at = contact.stored.scored_at or datetime.now(UTC)
        want = expected(config, contact, at)
        if written(contact) != want:
            wrong[contact.ref.record_id] = {"written": written(contact), "want": want}
    return wrong


def repeated_writes(hubspot: HubSpotSandbox, since: int = 0) -> list[dict[str, Any]]:
    """Writes from the `since`-th on that set a contact to what the app's
    previous write to it had already set: an event applied twice in effect."""
    last: dict[str, dict[str, str]] = {}
    repeated = []
    for index, write in enumerate(hubspot.writes(HUB)):
        if write["objectType"] != "contacts" or write["action"] != "update":
            continue
        props = write["properties"]
        now = {name: props.get(name) or "" for name in SHOWN}
        if index >= since and last.get(write["objectId"]) == now:
            repeated.append(write)
        last[write["objectId"]] = now
    return repeated


def wait_for(check: Callable[[], object], timeout: float, step: float = 0.2) -> bool:
    """Poll `check()` until it is truthy or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())
