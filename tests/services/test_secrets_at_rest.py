"""Secrets at rest on a self-hosted scoring service: the API keys queued with feedback
for the central Config API are stored sealed, never in clear, and `conturs keys
rotate` moves every stored one to the newest key without losing any, so an old key
can be retired. A copy of the database must not hand out a usable API key, and a
rotation must never leave a message that no configured key can open."""

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, insert, select, text, update
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from app.container import services_of
from app.crypto import SecretBox, SecretUnreadableError, generate_key
from app.migrations import upgrade
from app.models import Feedback, OutboxMessage
from app.scoring import FACTOR_KEYS
from app.services.secrets import rotate_secrets
from tests.conftest import close_app

# The discard port: nothing listens there, so every delivery fails and stays queued.
UNREACHABLE = "http://127.0.0.1:9"
REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "secrets-at-rest-test"
FACTORS = {key: 0.5 for key in FACTOR_KEYS}


class CentralApi:
    """A central Config API served over HTTP on a loopback port, as in production."""

    def __init__(self, tmp_path: Path) -> None:
        self.app = build_app(
            f"sqlite:///{tmp_path}/central.db",
            tmp_path / "central",
            [generate_key()],
        )
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.app, threaded=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def register(self, email: str) -> dict[str, Any]:
        """A new client of the Config API, with its API key."""
        response = requests.post(f"{self.url}/config", json={"email": email}, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()

    def stored_feedback(self) -> list[Feedback]:
        with services_of(self.app).sessions() as session:
            return list(session.scalars(select(Feedback)).all())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        close_app(self.app)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[CentralApi]:
    api = CentralApi(tmp_path)
    try:
        yield api
    finally:
        api.close()


def build_app(
    database_url: str,
    instance: Path,
    keys: Sequence[str],
    config_api_url: str = "",
) -> Flask:
    """An app on a migrated database, with its encryption keys given explicitly."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET_KEY,
            "TOKEN_ENCRYPTION_KEYS": list(keys),
            "INSTANCE_PATH": str(instance),
            "JOBS_IMMEDIATE": True,
            "CONFIG_API_URL": config_api_url,
        }
    )
    upgrade(services_of(app).engine)
    return app


def queue_feedback(app: Flask, api_key: str, client_id: str, lead_id: str) -> None:
    """POST /feedback with factors, which a remote-mode service queues (202)."""
    response = app.test_client().post(
        "/feedback",
        json={
            "api_key": api_key,
            "client_id": client_id,
            "lead_id": lead_id,
            "action": "converted",
            "factors": FACTORS,
        },
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "queued"


def insert_legacy_message(engine: Engine, api_key: str, client_id: str) -> None:
    """A message as written before keys were sealed: the key in clear in payload."""
    payload = {
        "client_id": client_id,
        "lead_id": "legacy-lead-key",
        "action": "converted",
        "factors": FACTORS,
        "api_key": api_key,
    }
    with engine.begin() as connection:
        connection.execute(insert(OutboxMessage).values(payload=payload))


def outbox_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every row and column of the outbox, as the database holds them."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM feedback_outbox ORDER BY id"))
        return [dict(row._mapping) for row in rows]


def make_due(engine: Engine) -> None:
    """Make every queued message due now, as if its backoff had passed."""
    with engine.begin() as connection:
        connection.execute(
            update(OutboxMessage).values(
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )


def payload_of(row: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL's driver decodes JSON columns; SQLite hands back the text.
    payload = row["payload"]
    return json.loads(payload) if isinstance(payload, str) else payload


def rotate_with_cli(
    database_url: str, instance: Path, keys: str
) -> subprocess.CompletedProcess[str]:
    """`conturs keys rotate` in its own process, configured from the environment as
    an operator runs it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "TOKEN_ENCRYPTION_KEYS": keys,
        "INSTANCE_PATH": str(instance),
        "CONFIG_API_URL": UNREACHABLE,
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "keys", "rotate"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_sealed_under(
    rows: list[dict[str, Any]], api_key: str, current: str, retired: str
) -> None:
    """Every credential opens with the current key alone and no longer with the
    retired one, and no key is left in clear."""
    now_only, before_only = SecretBox([current]), SecretBox([retired])
    assert rows
    for row in rows:
        assert "api_key" not in payload_of(row)
        assert row["credential"] is not None
        assert now_only.decrypt(row["credential"]) == api_key
        with pytest.raises(SecretUnreadableError):
            before_only.decrypt(row["credential"])


def test_queued_feedback_stores_the_api_key_only_sealed(
    database_url: str, tmp_path: Path
) -> None:
    app = build_app(database_url, tmp_path / "scoring", [generate_key()], UNREACHABLE)
    services = services_of(app)
    api_key = "ck_" + secrets.token_urlsafe(32)
    try:
        queue_feedback(app, api_key, "cl_remote", "person@private.example")
        assert services.outbox is not None
        assert services.outbox.deliver() == 0  # the Config API is unreachable
        rows = outbox_rows(services.engine)
        assert len(rows) == 1
        row = rows[0]
        assert row["attempts"] == 1 and row["last_error"]  # the delivery was tried
        everything = " ".join(str(value) for value in row.values())
        assert api_key not in everything
        assert api_key[3:] not in everything  # not even without its prefix
        assert "person@private.example" not in everything  # the lead is hashed
        assert row["credential"] is not None
        assert services.secrets.decrypt(row["credential"]) == api_key
        assert payload_of(row)["client_id"] == "cl_remote"
    finally:
        close_app(app)


def test_rotation_keeps_every_stored_secret_readable(
    database_url: str,
    tmp_path: Path,
    central: CentralApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old, new = generate_key(), generate_key()
    client = central.register("owner@acme.example")
    api_key, client_id = client["api_key"], client["client_id"]

    before = build_app(database_url, tmp_path / "before", [old], central.url)
    try:
        for lead in ("ann@lead.example", "bob@lead.example"):
            queue_feedback(before, api_key, client_id, lead)
        insert_legacy_message(services_of(before).engine, api_key, client_id)
    finally:
        close_app(before)

    rotating = build_app(database_url, tmp_path / "rotating", [new, old], central.url)
    try:
        counts = rotate_secrets(
            services_of(rotating).sessions, services_of(rotating).secrets
        )
        rows = outbox_rows(services_of(rotating).engine)
    finally:
        close_app(rotating)
    assert counts == {"outbox_credentials": 3}
    assert len(rows) == 3
    assert_sealed_under(rows, api_key, current=new, retired=old)
    assert payload_of(rows[2])["lead_id"] == "legacy-lead-key"  # sealed in place

    retired = build_app(database_url, tmp_path / "retired", [old], central.url)
    try:
        assert services_of(retired).outbox.deliver() == 0
        kept = outbox_rows(services_of(retired).engine)
    finally:
        close_app(retired)
    assert len(kept) == 3  # kept for a later retry, not lost
    assert all("unreadable" in row["last_error"] for row in kept)
    assert "no configured key opens its credential" in caplog.text
    assert central.stored_feedback() == []

    after = build_app(database_url, tmp_path / "after", [new], central.url)
    try:
        make_due(services_of(after).engine)  # skip the retired app's backoff
        assert services_of(after).outbox.deliver() == 3
        assert outbox_rows(services_of(after).engine) == []
    finally:
        close_app(after)
    delivered = central.stored_feedback()
    assert len(delivered) == 3
    assert {item.client_id for item in delivered} == {client_id}


def test_keys_rotate_command_re_encrypts_and_seals(
    database_url: str, tmp_path: Path
) -> None:
    old, new = generate_key(), generate_key()
    api_key = "ck_" + secrets.token_urlsafe(32)
    app = build_app(database_url, tmp_path / "before", [old], UNREACHABLE)
    try:
        insert_legacy_message(services_of(app).engine, api_key, "cl_remote")
        queue_feedback(app, api_key, "cl_remote", "ann@lead.example")
    finally:
        close_app(app)

    result = rotate_with_cli(database_url, tmp_path / "cli", f"{new},{old}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"re_encrypted": {"outbox_credentials": 2}}
    for secret in (old, new, api_key):
        assert secret not in result.stdout + result.stderr

    after = build_app(database_url, tmp_path / "after", [new], UNREACHABLE)
    try:
        rows = outbox_rows(services_of(after).engine)
        assert_sealed_under(rows, api_key, current=new, retired=old)
        for row in rows:
            assert services_of(after).secrets.decrypt(row["credential"]) == api_key
    finally:
        close_app(after)


def test_keys_rotate_without_the_old_key_fails_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    old, new, unrelated = generate_key(), generate_key(), generate_key()
    api_key = "ck_" + secrets.token_urlsafe(32)
    app = build_app(database_url, tmp_path / "before", [old], UNREACHABLE)
    engine = services_of(app).engine
    try:
        # The legacy message comes first, so a rotation that sealed it before
        # reaching the unreadable one would show here.
        insert_legacy_message(engine, api_key, "cl_remote")
        queue_feedback(app, api_key, "cl_remote", "ann@lead.example")
        stored = outbox_rows(engine)

        result = rotate_with_cli(database_url, tmp_path / "cli", f"{new},{unrelated}")

        assert result.returncode == 1
        assert "opens with none of TOKEN_ENCRYPTION_KEYS" in result.stderr
        assert result.stdout == ""
        for secret in (old, new, unrelated, api_key):
            assert secret not in result.stdout + result.stderr
        assert outbox_rows(engine) == stored
        assert payload_of(stored[0])["api_key"] == api_key  # still the legacy form
        assert stored[0]["credential"] is None
        assert SecretBox([old]).decrypt(stored[1]["credential"]) == api_key
    finally:
        close_app(app)


def test_unreadable_messages_do_not_hold_up_later_ones(
    database_url: str, tmp_path: Path
) -> None:
    """Messages sealed under a key since dropped wait for it to come back, without
    keeping the ones behind them from being sent."""
    lost, current = generate_key(), generate_key()
    before = build_app(database_url, tmp_path / "before", [lost], UNREACHABLE)
    try:
        for lead in ("ann@lead.example", "bob@lead.example"):
            queue_feedback(before, "ck_" + secrets.token_urlsafe(32), "cl_a", lead)
    finally:
        close_app(before)
    app = build_app(database_url, tmp_path / "after", [current], UNREACHABLE)
    try:
        queue_feedback(app, "ck_" + secrets.token_urlsafe(32), "cl_a", "cy@l.example")
        outbox = services_of(app).outbox
        assert outbox is not None
        # Two at a time: the two unreadable messages fill the first call.
        assert outbox.deliver(limit=2) == 0
        assert outbox.deliver(limit=2) == 0
        readable = outbox_rows(services_of(app).engine)[2]
        assert readable["attempts"] == 1  # tried, the Config API being unreachable
        assert "unreachable" in readable["last_error"]
    finally:
        close_app(app)
