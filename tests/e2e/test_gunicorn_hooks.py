"""The service under gunicorn with the project's config (app/gunicorn_conf.py), as the
Procfile runs it: a worker stopped right after POST /leads, well before the score
recorder's next periodic flush, still writes what it scored, because the worker_exit
hook flushes it. Without that hook a deploy or restart would silently lose the
score history that feedback without factors depends on."""

import json
import os
import signal
from pathlib import Path

import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.models import LeadSnapshot, ScoreHistory
from app.services.keys import LeadKeys
from tests.processes import conturs, free_port, start_gunicorn

SECRET_KEY = "gunicorn-hooks-test-secret"
CLIENT_EMAIL = "x@y.com"


def recorded(database_url: str, client_id: str, lead_keys: set[str]) -> tuple[int, int]:
    """How many of these leads have a history row and a snapshot."""
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            history = session.scalars(
                select(ScoreHistory.lead_key).where(
                    ScoreHistory.client_id == client_id,
                    ScoreHistory.lead_key.in_(lead_keys),
                )
            ).all()
            snapshots = session.scalars(
                select(LeadSnapshot.lead_key).where(
                    LeadSnapshot.client_id == client_id,
                    LeadSnapshot.lead_key.in_(lead_keys),
                )
            ).all()
    finally:
        engine.dispose()
    return len(set(history)), len(set(snapshots))


def test_worker_exit_flushes_the_scores_of_a_stopped_worker(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/service.db"
    env = {
        **{k: v for k, v in os.environ.items() if k != "CONFIG_API_URL"},
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    conturs(env, "db", "upgrade")
    issued = json.loads(conturs(env, "clients", "create", "--email", CLIENT_EMAIL))
    port = free_port()
    process = start_gunicorn(env, port)
    try:
        # The request id is echoed when the caller sends one, made up otherwise.
        refused = requests.post(
            f"http://127.0.0.1:{port}/leads",
            json={"api_key": "ck_unknown", "email": CLIENT_EMAIL, "leads": [{}]},
            headers={"X-Request-Id": "hooks-refused"},
            timeout=5,
        )
        assert refused.status_code == 401
        assert refused.headers["X-Request-Id"] == "hooks-refused"
        # A periodic flush landing between the request and the check below would
        # hide a missing hook; then try again with new leads (rarely needed).
        for attempt in range(3):
            emails = [f"lead{attempt}-{index}@example.com" for index in range(3)]
            keys = {LeadKeys(SECRET_KEY).for_lead_id(email) for email in emails}
            response = requests.post(
                f"http://127.0.0.1:{port}/leads",
                json={
                    "api_key": issued["api_key"],
                    "email": CLIENT_EMAIL,
                    "leads": [{"email": e, "lead_status": "new"} for e in emails],
                },
                timeout=5,
            )
            assert response.status_code == 200, response.text
            assert len(response.headers["X-Request-Id"]) >= 8
            if recorded(database_url, issued["client_id"], keys) == (0, 0):
                break
        else:
            raise AssertionError("every batch was flushed before it could be checked")
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)

    assert recorded(database_url, issued["client_id"], keys) == (3, 3)
