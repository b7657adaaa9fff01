"""Jobs go through real Huey storage: feedback queues refits that a consumer runs."""

import os
from datetime import datetime

import pytest
from sqlalchemy import select

from app import create_app
from app.migrations import upgrade
from app.models import WeightVersion
from app.scoring import FACTOR_KEYS
from tests.conftest import close_app

QUEUES = ["sqlite"] + (["redis"] if os.environ.get("TEST_REDIS_URL") else [])


@pytest.mark.parametrize("queue", QUEUES)
def test_feedback_queues_refits_the_worker_runs(tmp_path, queue: str) -> None:
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/jobs.db",
        "SECRET_KEY": "jobs-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    if queue == "redis":
        config["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    app = create_app(config)
    upgrade(app.extensions["conturs.engine"])
    huey = app.extensions["conturs.jobs"].huey
    assert not huey.immediate
    assert type(huey).__name__ == {"sqlite": "SqliteHuey", "redis": "RedisHuey"}[queue]
    huey.flush()
    http = app.test_client()
    registered = http.post("/config", json={"email": "o@acme.com"}).get_json()
    due = []
    for index in range(35):
        good = index % 2 == 0
        values = dict.fromkeys(FACTOR_KEYS, 0.5)
        values["lead_status"] = 1.0 if good else 0.1
        values["profile_completeness"] = (index % 9) / 9
        response = http.post(
            "/feedback",
            json={
                "api_key": registered["api_key"],
                "client_id": registered["client_id"],
                "lead_id": f"l{index}",
                "action": "converted" if good else "ignored",
                "factors": values,
            },
        )
        assert response.status_code == 200
        due.append(response.get_json()["refit_due"])
    assert [i + 1 for i, flag in enumerate(due) if flag] == [10, 20, 30]
    assert huey.pending_count() == 3
    while huey.pending_count():
        task = huey.dequeue()
        assert task.name == "refit_client"
        huey.execute(task)  # what the consumer does
    with app.extensions["conturs.sessions"]() as session:
        latest = session.scalars(
            select(WeightVersion).order_by(WeightVersion.version.desc())
        ).first()
    assert latest.personalised and latest.n_outcomes == 35
    hourly = huey.read_periodic(datetime(2026, 1, 1, 5, 17))  # minute 17 of any hour
    assert "refit_all" in {task.name for task in hourly}
    close_app(app)
