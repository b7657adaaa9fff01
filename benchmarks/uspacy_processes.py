"""The Uspacy app in the processes production runs: a gunicorn web process
(install callback, webhooks) and a `conturs worker` process on one database (an
SQLite file, or PostgreSQL with Redis for the job queue), with the Uspacy
emulation in this process calling the install callback and delivering webhooks
to the web process. Shared by tests/e2e/test_uspacy_faults.py and
benchmarks/uspacy_live.py.

The checks look at Uspacy's side (the emulation's records and a log of the
app's writes to them), never at the scores the app stored: what a record should
hold is computed here from the record as the app's adapter reads it from Uspacy
now, with the engine, the explanation and the account's published weights.
"""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
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
from app.crm.base import CrmContact  # noqa: E402
from app.crm.uspacy.field_specs import DEFAULT_CODES, SCORED_TYPES  # noqa: E402
from app.crm.uspacy.manifest import CALLBACK_PATH  # noqa: E402
from app.crypto import generate_key  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import CrmAccount, CrmEvent  # noqa: E402
from app.sandbox import UspacySandbox  # noqa: E402
from app.sandbox.uspacy.store import APP_USER_ID  # noqa: E402
from app.scoring.engine import read_lead  # noqa: E402
from app.services.crm.explain import explanation, top_factors  # noqa: E402
from app.services.scoring.configs import ClientConfig  # noqa: E402
from benchmarks.app_processes import WorkerProcess  # noqa: E402
from benchmarks.leads_throughput import free_port, serve  # noqa: E402

# What a record shows a salesperson: compared between expected and written.
SHOWN = ("score", "label", "top_factors", "explanation")


@dataclass
class ScoreWrites:
    """Every change the app's own user made to a lead or contact, as the
    emulation applied it: (when, domain, kind, record id, our shown fields)."""

    entries: list[tuple[float, str, str, int, dict[str, Any]]] = field(
        default_factory=list
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_change(self, portal, action, kind, entity, old, user_id) -> None:
        """Store listener (runs under the emulation's lock: only appends)."""
        if user_id != APP_USER_ID or action != "update" or kind not in SCORED_TYPES:
            return
        shown = {key: entity.get(DEFAULT_CODES[key]) for key in SHOWN}
        with self.lock:
            self.entries.append(
                (time.time(), portal.domain, kind, int(entity["id"]), shown)
            )

    def since(self, index: int = 0) -> list[tuple[float, str, str, int, dict]]:
        """The writes from the `index`-th on."""
        with self.lock:
            return list(self.entries[index:])

    def repeated(self, index: int = 0) -> list[tuple]:
        """Writes from the `index`-th on that set a record to what the app's
        previous write to it had already set: an event applied twice in effect."""
        last: dict[tuple[str, str, int], dict] = {}
        repeated = []
        for number, (_, domain, kind, record_id, shown) in enumerate(self.since()):
            key = (domain, kind, record_id)
            if number >= index and last.get(key) == shown:
                repeated.append((domain, kind, record_id, shown))
            last[key] = shown
        return repeated


@dataclass
class LiveUspacy(WorkerProcess):
    """The running processes, the emulation, the app's writes as Uspacy saw
    them, and an in-process view of the same database."""

    uspacy: UspacySandbox
    base_url: str
    env: dict[str, str]
    web: subprocess.Popen
    app: Flask
    writes: ScoreWrites
    worker: subprocess.Popen | None = None
    worker_log: Path | None = None

    def install(self, domain: str) -> int:
        """The marketplace installs the app on `domain` (the worker sets it up
        and backfills); the account's row id."""
        answer = self.uspacy.install(domain)
        if answer.status_code != 200:
            raise RuntimeError(f"install failed: {answer.status_code} {answer.text}")
        with services_of(self.app).sessions() as session:
            return session.scalars(
                select(CrmAccount.id).where(
                    CrmAccount.crm == "uspacy", CrmAccount.account_id == domain
                )
            ).one()

    def status(self, domain: str) -> dict[str, Any]:
        """The portal's status as `conturs accounts show` prints it."""
        return services_of(self.app).uspacy.describe(domain)

    def fresh_read(self, account_pk: int) -> list[CrmContact]:
        """Every lead and contact as the app's adapter reads them now."""
        crm = services_of(self.app).uspacy.client(account_pk)
        found: list[CrmContact] = []
        try:
            for kind in SCORED_TYPES:
                cursor = None
                while True:
                    page = crm.list_contacts(kind, cursor)
                    found.extend(page.contacts)
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        finally:
            crm.close()
        return found

    def inbox(self, account_pk: int) -> dict[str, int]:
        """The portal's inbox rows per status."""
        with services_of(self.app).sessions() as session:
            return dict(
                session.execute(
                    select(CrmEvent.status, func.count())
                    .where(CrmEvent.account_pk == account_pk)
                    .group_by(CrmEvent.status)
                ).all()
            )


@contextmanager
def live_uspacy(
    workdir: Path, database_url: str | None = None, redis_url: str | None = None
) -> Iterator[LiveUspacy]:
    """Start the emulation, migrate, serve the web process and start the
    worker; stop them all on the way out."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    uspacy = UspacySandbox(callback_url=base_url + CALLBACK_PATH)
    writes = ScoreWrites()
    uspacy.store.listeners.append(writes.on_change)
    settings = {
        "DATABASE_URL": database_url or f"sqlite:///{workdir}/conturs.db",
        "REDIS_URL": redis_url or "",
        "INSTANCE_PATH": str(workdir / "instance"),
        "SECRET_KEY": "live-secret",
        "TOKEN_ENCRYPTION_KEYS": generate_key(),
        "PUBLIC_BASE_URL": base_url,
        "USPACY_CLIENT_ID": uspacy.client_id,
        "USPACY_CLIENT_SECRET": uspacy.client_secret,
    }
    with ExitStack() as stack:
        uspacy.start()
        stack.callback(uspacy.stop)
        settings["USPACY_BASE_URL_TEMPLATE"] = uspacy.base_url_template
        app = create_app(dict(settings))
        stack.callback(services_of(app).engine.dispose)
        stack.callback(services_of(app).recorder.stop)
        upgrade(services_of(app).engine)
        services_of(app).tasks.huey.flush()  # no wake-up left from an earlier run
        env = {**os.environ, **settings, "WEB_CONCURRENCY": "1"}
        web = serve(env, port, 1)
        stack.callback(_stop, web)
        # The Procfile's worker: its jobs may wait longer on the database.
        worker_env = {**env, "STORE_TIMEOUT_SECONDS": "60"}
        live = LiveUspacy(
            uspacy, base_url, worker_env, web, app, writes, None, workdir / "worker.log"
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


def expected(config: ClientConfig, contact: CrmContact, at: datetime) -> dict:
    """What the app must show on a record as Uspacy has it now, scored at `at`:
    the account's weights, value tables and bands, the engine, the explanation."""
    _email, factors = read_lead(contact.lead, at.timestamp(), config.icp)
    score = config.score(factors)
    label = config.bands.label_for(score)
    return {
        "score": score,
        "label": label.removesuffix(" Lead"),
        "top_factors": top_factors(config.weights, config.tables.apply(factors)),
        "explanation": explanation(label, contact.lead),
    }


def written(contact: CrmContact) -> dict[str, Any]:
    """The score fields a record holds now, as `expected` words them."""
    stored = contact.stored
    return {
        "score": stored.score,
        "label": stored.label or "",
        "top_factors": stored.top_factors or "",
        "explanation": stored.explanation or "",
    }


def wrong_records(live: LiveUspacy, account_pk: int) -> dict[str, dict]:
    """Leads and contacts whose written score is not what their fields give,
    scored at the moment the app says it scored them; both sides for each."""
    config = live.config(account_pk)
    wrong = {}
    for contact in live.fresh_read(account_pk):
        at = contact.stored.scored_at or datetime.now(UTC)
        want = expected(config, contact, at)
        if written(contact) != want:
            key = f"{contact.ref.object_type}:{contact.ref.record_id}"
            wrong[key] = {"written": written(contact), "want": want}
    return wrong


def wait_for(check: Callable[[], object], timeout: float, step: float = 0.2) -> bool:
    """Poll `check()` until it is truthy or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())
