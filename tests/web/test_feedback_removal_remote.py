"""Taking outcomes back on a self-hosted scoring service (CONFIG_API_URL): retractions
and privacy deletions travel the outbox to a real Config API served on loopback and
delete there, after whatever was queued before them about the same lead; forgetting
a lead drops its unsent messages at once. The scoring side runs on each backend."""

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app import create_app
from app.container import Services, services_of
from app.migrations import upgrade
from app.models import Feedback, OutboxMessage
from app.models.base import utcnow
from app.scoring import FACTOR_KEYS
from app.services.errors import NotAuthenticated
from tests.conftest import app_settings, close_app

VALUES = (0.5,) * 10


class Served:
    """An app answering HTTP on a loopback port in a thread, restartable there."""

    def __init__(self, app: Flask, port: int = 0) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def central(tmp_path) -> Iterator[tuple[Flask, Served]]:
    app = create_app(
        app_settings(
            tmp_path / "central",
            DATABASE_URL=f"sqlite:///{tmp_path}/central.db",
            SECRET_KEY="central-secret",
        )
    )
    upgrade(services_of(app).engine)
    served = Served(app)
    yield app, served
    served.stop()
    close_app(app)


@pytest.fixture
def scoring(database_url: str, tmp_path, central) -> Iterator[Flask]:
    app = create_app(
        app_settings(
            tmp_path / "scoring",
            DATABASE_URL=database_url,
            CONFIG_API_URL=central[1].url,
        )
    )
    upgrade(services_of(app).engine)
    yield app
    close_app(app)


def register(served: Served, email: str) -> tuple[str, str]:
    body = requests.post(f"{served.url}/config", json={"email": email}, timeout=5)
    return body.json()["client_id"], body.json()["api_key"]


def central_rows(central_app: Flask) -> set[tuple[str, str, str]]:
    with services_of(central_app).sessions() as session:
        return {
            (row.client_id, row.lead_key, row.action)
            for row in session.scalars(select(Feedback))
        }


def outbox(services: Services) -> list[dict]:
    with services.sessions() as session:
        return [
            message.payload
            for message in session.scalars(
                select(OutboxMessage).order_by(OutboxMessage.id)
            )
        ]


def make_all_due(services: Services) -> None:
    with services.sessions.begin() as session:
        session.execute(
            update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(1))
        )


def test_remote_retract_and_forget_delete_at_the_config_api(central, scoring) -> None:
    central_app, served = central
    mine, my_key = register(served, "owner@acme.com")
    theirs, their_key = register(served, "owner@other.io")
    services = services_of(scoring)
    feedback, lead = services.feedback, "lead-key"
    for client_id, key in ((mine, my_key), (theirs, their_key)):
        for action in ("converted", "clicked"):
            feedback.record_outcome(client_id, lead, action, VALUES, api_key=key)
        feedback.record_outcome(client_id, "other", "replied", VALUES, api_key=key)
    assert services.outbox.deliver() == 6
    # The Config API keys what it receives with its own secret, as POST does.
    at_central = services_of(central_app).lead_keys.for_lead_id(lead)
    assert (mine, at_central, "converted") in central_rows(central_app)

    assert feedback.retract_outcome(mine, lead, "converted", api_key=my_key)
    with pytest.raises(NotAuthenticated):
        feedback.retract_outcome(mine, lead, "clicked")
    assert services.outbox.deliver() == 1
    assert (mine, at_central, "converted") not in central_rows(central_app)
    assert (mine, at_central, "clicked") in central_rows(central_app)

    with pytest.raises(NotAuthenticated):
        feedback.forget_lead(mine, lead)
    assert feedback.forget_lead(mine, lead, api_key=my_key) == 1
    assert services.outbox.deliver() == 1
    rows = central_rows(central_app)
    assert not {row for row in rows if row[:2] == (mine, at_central)}
    assert {row for row in rows if row[0] == theirs} == {
        (theirs, at_central, "converted"),
        (theirs, at_central, "clicked"),
        (theirs, services_of(central_app).lead_keys.for_lead_id("other"), "replied"),
    }
    assert outbox(services) == []


def test_forgetting_drops_the_unsent_messages_about_the_lead(central, scoring) -> None:
    central_app, served = central
    mine, my_key = register(served, "owner@acme.com")
    theirs, their_key = register(served, "owner@other.io")
    services = services_of(scoring)
    feedback = services.feedback
    feedback.record_outcome(mine, "gone", "converted", VALUES, api_key=my_key)
    feedback.record_outcome(mine, "gone", "clicked", VALUES, api_key=my_key)
    feedback.retract_outcome(mine, "gone", "clicked", api_key=my_key)
    feedback.record_outcome(mine, "kept", "converted", VALUES, api_key=my_key)
    feedback.record_outcome(theirs, "gone", "converted", VALUES, api_key=their_key)

    assert feedback.forget_lead(mine, "gone", api_key=my_key) == 4  # 3 dropped + 1
    # Only the deletion itself still names the lead, until it is delivered.
    naming = [
        m
        for m in outbox(services)
        if (m["client_id"], m["lead_id"])
        == (
            mine,
            "gone",
        )
    ]
    assert naming == [{"kind": "forget", "client_id": mine, "lead_id": "gone"}]
    assert len(outbox(services)) == 3  # with "kept" and the other client's "gone"
    assert services.outbox.deliver() == 3
    assert outbox(services) == []
    keys = services_of(central_app).lead_keys
    assert central_rows(central_app) == {
        (mine, keys.for_lead_id("kept"), "converted"),
        (theirs, keys.for_lead_id("gone"), "converted"),
    }


def test_a_retraction_never_overtakes_the_record_it_takes_back(
    central, scoring
) -> None:
    central_app, served = central
    mine, my_key = register(served, "owner@acme.com")
    services = services_of(scoring)
    feedback, box = services.feedback, services.outbox
    port = served.port
    served.stop()  # the Config API goes down
    feedback.record_outcome(mine, "reopened", "converted", VALUES, api_key=my_key)
    feedback.retract_outcome(mine, "reopened", "converted", api_key=my_key)
    feedback.record_outcome(mine, "other", "converted", VALUES, api_key=my_key)
    assert box.deliver() == 0
    with services.sessions() as session:
        record, retract, other = session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id)
        ).all()
    assert record.attempts == 1 and other.attempts == 1
    # The retraction was not tried: it waits as long as the record it follows.
    assert retract.attempts == 0 and retract.next_attempt_at == record.next_attempt_at

    back = Served(central_app, port)
    try:
        with services.sessions.begin() as session:  # only the retraction is due
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == retract.id)
                .values(next_attempt_at=utcnow() - timedelta(1))
            )
        assert box.deliver() == 0
        assert [m.get("kind") for m in outbox(services)] == [None, "retract", None]
        make_all_due(services)
        assert box.deliver() == 3  # record, then its retraction, then the other
        keys = services_of(central_app).lead_keys
        assert central_rows(central_app) == {
            (mine, keys.for_lead_id("other"), "converted")
        }
    finally:
        back.stop()


def test_delete_feedback_over_http_is_queued_and_reaches_the_config_api(
    central, scoring
) -> None:
    central_app, served = central
    mine, my_key = register(served, "owner@acme.com")
    scoring_served = Served(scoring)
    auth = {"api_key": my_key, "client_id": mine}
    factors = dict.fromkeys(FACTOR_KEYS, 0.5)
    try:
        for action in ("converted", "clicked"):
            posted = requests.post(
                f"{scoring_served.url}/feedback",
                json={
                    **auth,
                    "lead_id": "jane@startup.io",
                    "action": action,
                    "factors": factors,
                },
                timeout=10,
            )
            assert posted.status_code == 202, posted.text
        assert services_of(scoring).outbox.deliver() == 2
        assert len(central_rows(central_app)) == 2

        queued = requests.delete(
            f"{scoring_served.url}/feedback",
            json={**auth, "lead_id": "Jane@Startup.io"},
            timeout=10,
        )
        assert queued.status_code == 202 and queued.json() == {"status": "queued"}
        assert services_of(scoring).outbox.deliver() == 1
        assert central_rows(central_app) == set()
    finally:
        scoring_served.stop()
