"""Jobs go through real Huey storage: feedback queues refits that a consumer runs."""

import os
from datetime import datetime

import pytest
from sqlalchemy import select

from app import create_app
from app.container import services_of
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
    upgrade(services_of(app).engine)
    huey = services_of(app).tasks.huey
    assert not huey.immediate
    assert type(huey).__name__ == {"sqlite": "SqliteHuey", "redis": "RedisHuey"}[queue]
    huey.flush()
    http = app.test_client()
    registered = http.post("/config", json={"email": "o@acme.com"}).get_json()
    assert registered["refit_pending"] is True  # registering queues the first refit
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
    assert huey.pending_count() == 1 + 3
    while huey.pending_count():
        task = huey.dequeue()
        assert task.name == "refit_client"
        huey.execute(task)  # what the consumer does
    with services_of(app).sessions() as session:
        latest = session.scalars(
            select(WeightVersion).order_by(WeightVersion.version.desc())
        ).first()
    assert latest.personalised and latest.n_outcomes == 35
    hourly = huey.read_periodic(datetime(2026, 1, 1, 5, 17))  # minute 17 of any hour
    assert "refit_all" in {task.name for task in hourly}
    close_app(app)


def test_config_requests_never_fit(tmp_path, monkeypatch) -> None:
    """Registration and profile changes publish the prior at once and leave every
    fit to the worker, on a queue that does not run tasks inline."""
    import app.services.learning.weights as weights

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/fit.db",
            "SECRET_KEY": "jobs-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    upgrade(services_of(app).engine)
    huey = services_of(app).tasks.huey
    assert not huey.immediate
    fits: list[str] = []
    real_refit = weights.refit
    monkeypatch.setattr(
        weights,
        "refit",
        lambda session, client, peers=None: (
            fits.append(client.id) or real_refit(session, client, peers)
        ),
    )
    http = app.test_client()
    registered = http.post(
        "/config",
        json={"email": "o@acme-software.com", "profile": {"industry": "Software"}},
    ).get_json()
    assert registered["method"] == "industry_prior"  # the prior, published at once
    assert registered["refit_pending"] is True
    changed = http.post(
        "/config",
        json={
            "email": "o@acme-software.com",
            "api_key": registered["api_key"],
            "profile": {"industry": "Retail"},
        },
    ).get_json()
    assert changed["refit_pending"] is True
    assert changed["profile"]["vertical"] != registered["profile"]["vertical"]
    assert changed["version"] == registered["version"] + 1
    plain = http.post(
        "/config",
        json={"email": "o@acme-software.com", "api_key": registered["api_key"]},
    ).get_json()
    assert "refit_pending" not in plain
    assert fits == []  # no fit ran inside any request
    assert huey.pending_count() == 2
    while huey.pending_count():
        huey.execute(huey.dequeue())
    assert fits == [registered["client_id"]] * 2
    close_app(app)
